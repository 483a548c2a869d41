// Server state of the evaluation pages through TanStack Query: cancelled through the signal when
// superseded, the previous answer kept on screen while the next loads (sliders never flash), and
// polled while an evaluation runs. Task-specific answers are narrowed here (api/answers.ts).
import { useCallback } from "react";
import { keepPreviousData, useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type ConfusionQuery, type CurveKind, type EvaluationDetail, type OptimalMetric, type SampleQuery, type SliderParams } from "../../api/client";
import { classificationAnswer, detectionAnswer, detectionPrAnswer } from "../../api/answers";
import { evaluationKeys } from "./keys";

export function useEvaluations() {
  return useQuery({
    queryKey: evaluationKeys.list(),
    queryFn: ({ signal }) => api.evaluations(signal),
    staleTime: 0,
    // Evaluations still running: look again every few seconds until they are done.
    refetchInterval: (q) => (q.state.data?.items.some((e) => e.status === "running") ? 3000 : false),
  });
}

export function useEvaluation(id: number) {
  return useQuery({
    queryKey: evaluationKeys.detail(id),
    queryFn: ({ signal }) => api.evaluation(id, signal),
    refetchInterval: (q) => (q.state.data?.status === "running" ? 2500 : false),
  });
}

/** Forget an evaluation (after deleting it) and refresh the list. */
export function useForgetEvaluation() {
  const queryClient = useQueryClient();
  return useCallback(
    (id: number) => {
      queryClient.removeQueries({ queryKey: evaluationKeys.detail(id) });
      return queryClient.invalidateQueries({ queryKey: evaluationKeys.list() });
    },
    [queryClient],
  );
}

/** The list again (a job finished, an evaluation appeared). */
export function useRefreshEvaluations() {
  const queryClient = useQueryClient();
  return useCallback(() => queryClient.invalidateQueries({ queryKey: evaluationKeys.list() }), [queryClient]);
}

export function useClassificationSummary(id: number, p: SliderParams, enabled = true) {
  return useQuery({
    queryKey: evaluationKeys.summary(id, p),
    queryFn: async ({ signal }) => classificationAnswer(await api.summary(id, p, signal)),
    placeholderData: keepPreviousData,
    enabled,
  });
}

export function useDetectionSummary(id: number, p: SliderParams, enabled = true) {
  return useQuery({
    queryKey: evaluationKeys.summary(id, p),
    queryFn: async ({ signal }) => detectionAnswer(await api.summary(id, p, signal)),
    placeholderData: keepPreviousData,
    enabled,
  });
}

export function useClassificationLabels(id: number, p: SliderParams) {
  return useQuery({
    queryKey: evaluationKeys.labels(id, p),
    queryFn: async ({ signal }) => classificationAnswer(await api.labels(id, p, signal)),
    placeholderData: keepPreviousData,
  });
}

export function useDetectionLabels(id: number, p: SliderParams) {
  return useQuery({
    queryKey: evaluationKeys.labels(id, p),
    queryFn: async ({ signal }) => detectionAnswer(await api.labels(id, p, signal)),
    placeholderData: keepPreviousData,
  });
}

/** The stored optimum of ``metric`` when the evaluation's detail carries it; else asked for on demand. */
function knownOptimal(ev: EvaluationDetail, metric: OptimalMetric, iou?: number) {
  const o = ev.optimal;
  if (!o || o.metric !== metric) return undefined;
  if (iou !== undefined && "iou" in o && Math.abs(o.iou - iou) > 1e-9) return undefined;
  return o;
}

/** The threshold maximising ``metric`` (GET /optimal, searched once per metric, then cached). */
export function useClassificationOptimal(ev: EvaluationDetail, metric: OptimalMetric) {
  const queryClient = useQueryClient();
  const options = {
    queryKey: evaluationKeys.optimal(ev.id, metric),
    queryFn: async ({ signal }: { signal: AbortSignal }) => classificationAnswer(await api.optimal(ev.id, { metric }, signal)),
    staleTime: Infinity,
  };
  const known = knownOptimal(ev, metric);
  const query = useQuery({ ...options, enabled: false, initialData: known && known.task !== "detection" ? known : undefined });
  return { query, fetch: () => queryClient.fetchQuery(options) };
}

/** The confidence maximising ``metric`` at IoU ``iou`` (GET /optimal, cached per metric and IoU). */
export function useDetectionOptimal(ev: EvaluationDetail, metric: OptimalMetric, iou: number) {
  const queryClient = useQueryClient();
  const options = {
    queryKey: evaluationKeys.optimal(ev.id, metric, iou),
    queryFn: async ({ signal }: { signal: AbortSignal }) => detectionAnswer(await api.optimal(ev.id, { metric, iou }, signal)),
    staleTime: Infinity,
  };
  const known = knownOptimal(ev, metric, iou);
  const query = useQuery({ ...options, enabled: false, initialData: known && known.task === "detection" ? known : undefined });
  return { query, fetch: () => queryClient.fetchQuery(options) };
}

export function useConfusion(id: number, p: ConfusionQuery) {
  return useQuery({
    queryKey: evaluationKeys.confusion(id, p),
    queryFn: ({ signal }) => api.confusion(id, p, signal),
    placeholderData: keepPreviousData,
  });
}

export function useCurve(id: number, kind: CurveKind, p: { label?: string; iou?: number }) {
  return useQuery({
    queryKey: evaluationKeys.curve(id, kind, p),
    queryFn: ({ signal }) => api.curve(id, kind, p, signal),
    placeholderData: keepPreviousData,
  });
}

export function useDetectionPrCurve(id: number, p: { label?: string; iou?: number }) {
  return useQuery({
    queryKey: evaluationKeys.curve(id, "pr", p),
    queryFn: async ({ signal }) => detectionPrAnswer(await api.curve(id, "pr", p, signal)),
    placeholderData: keepPreviousData,
  });
}

export const FEED_PAGE = 60;

export function useSamples(id: number, query: SampleQuery) {
  return useInfiniteQuery({
    queryKey: evaluationKeys.samples(id, query),
    queryFn: ({ signal, pageParam }) => api.samples(id, { ...query, offset: pageParam, limit: FEED_PAGE }, signal),
    initialPageParam: 0,
    getNextPageParam: (last) => (last.offset + last.items.length < last.total ? last.offset + last.items.length : undefined),
    placeholderData: keepPreviousData,
  });
}

// While a slider moves, the open sample keeps its last answer; another sample starts empty.
const sameSample =
  (index: number) =>
  <T,>(prev: T | undefined, prevQuery?: { queryKey: readonly unknown[] }): T | undefined =>
    prevQuery?.queryKey[3] === index ? prev : undefined;

export function useClassificationSample(id: number, index: number, p: SliderParams) {
  return useQuery({
    queryKey: evaluationKeys.sample(id, index, p),
    queryFn: async ({ signal }) => classificationAnswer(await api.sample(id, index, p, signal)),
    placeholderData: sameSample(index),
  });
}

export function useDetectionSample(id: number, index: number, p: SliderParams) {
  return useQuery({
    queryKey: evaluationKeys.sample(id, index, p),
    queryFn: async ({ signal }) => detectionAnswer(await api.sample(id, index, p, signal)),
    placeholderData: sameSample(index),
  });
}
