// Server state through TanStack Query: cached per (resource, parameters), cancelled through the
// signal when superseded, the previous answer kept on screen while the next loads (sliders never
// flash), and polled while a status is pending.
import { QueryClient, keepPreviousData, useInfiniteQuery, useQuery } from "@tanstack/react-query";
import {
  ApiError,
  api,
  type ClassificationLabels,
  type Curve,
  type CurveKind,
  type DetectionLabels,
  type SampleQuery,
  type SliderParams,
} from "./client";

export function makeQueryClient() {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 5 * 60_000,
        refetchOnWindowFocus: false,
        // A 4xx is an answer (not found, bad parameter): asking again changes nothing.
        retry: (n, e) => n < 1 && !(e instanceof ApiError && e.status !== null && e.status < 500),
      },
    },
  });
}

export const keys = {
  evaluations: ["evaluations"] as const,
  evaluation: (id: number) => ["evaluation", id] as const,
  summary: (id: number, p: SliderParams) => ["evaluation", id, "summary", p] as const,
  optimal: (id: number, metric: string, iou?: number) => ["evaluation", id, "optimal", metric, iou ?? null] as const,
  labels: (id: number, p: SliderParams) => ["evaluation", id, "labels", p] as const,
  confusion: (id: number, p: object) => ["evaluation", id, "confusion", p] as const,
  curve: (id: number, kind: string, p: object) => ["evaluation", id, "curve", kind, p] as const,
  samples: (id: number, p: object) => ["evaluation", id, "samples", p] as const,
  sample: (id: number, index: number, p: SliderParams) => ["evaluation", id, "sample", index, p] as const,
};

export function useEvaluations() {
  return useQuery({
    queryKey: keys.evaluations,
    queryFn: ({ signal }) => api.evaluations(signal),
    staleTime: 0,
    // Evaluations still running: look again every few seconds until they are done.
    refetchInterval: (q) => (q.state.data?.items.some((e) => e.status === "running") ? 3000 : false),
  });
}

export function useEvaluation(id: number) {
  return useQuery({
    queryKey: keys.evaluation(id),
    queryFn: ({ signal }) => api.evaluation(id, signal),
    refetchInterval: (q) => (q.state.data?.status === "running" ? 2500 : false),
  });
}

export function useSummary(id: number, p: SliderParams, enabled = true) {
  return useQuery({
    queryKey: keys.summary(id, p),
    queryFn: ({ signal }) => api.summary(id, p, signal),
    placeholderData: keepPreviousData,
    enabled,
  });
}

export function useLabels<T extends ClassificationLabels | DetectionLabels>(id: number, p: SliderParams) {
  return useQuery({
    queryKey: keys.labels(id, p),
    queryFn: ({ signal }) => api.labels<T>(id, p, signal),
    placeholderData: keepPreviousData,
  });
}

export function useConfusion(id: number, p: SliderParams & { normalize?: "true" | "probability"; top?: number }) {
  return useQuery({
    queryKey: keys.confusion(id, p),
    queryFn: ({ signal }) => api.confusion(id, p, signal),
    placeholderData: keepPreviousData,
  });
}

export function useCurve<T extends Curve>(id: number, kind: CurveKind, p: { label?: string; iou?: number }) {
  return useQuery({
    queryKey: keys.curve(id, kind, p),
    queryFn: ({ signal }) => api.curve<T>(id, kind, p, signal),
    placeholderData: keepPreviousData,
  });
}

export const FEED_PAGE = 60;

export function useSamples(id: number, query: SampleQuery) {
  return useInfiniteQuery({
    queryKey: keys.samples(id, query),
    queryFn: ({ signal, pageParam }) => api.samples(id, { ...query, offset: pageParam, limit: FEED_PAGE }, signal),
    initialPageParam: 0,
    getNextPageParam: (last) => (last.offset + last.items.length < last.total ? last.offset + last.items.length : undefined),
    placeholderData: keepPreviousData,
  });
}

export function useSample<T extends Awaited<ReturnType<typeof api.sample>>>(id: number, index: number, p: SliderParams) {
  return useQuery({
    queryKey: keys.sample(id, index, p),
    queryFn: ({ signal }) => api.sample<T>(id, index, p, signal) as Promise<T>,
    // While a slider moves, the open sample keeps its last answer; another sample starts empty.
    placeholderData: (prev, prevQuery) => (prevQuery?.queryKey[3] === index ? prev : undefined),
  });
}
