// Server state of the Models page: models, datasets and jobs always asked afresh (staleTime 0),
// the jobs polled every second while one runs; mutations refresh what they change.
import { useCallback } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, type DatasetCreate } from "../../api/client";
import { evaluationKeys } from "../evaluation/keys";
import { isActive } from "./jobs";
import { modelKeys } from "./keys";

export function useModels() {
  return useQuery({ queryKey: modelKeys.models(), queryFn: ({ signal }) => api.models(signal), staleTime: 0 });
}

/** Every dataset with its versions (the Models page; the data-quality page's training sets). */
export function useDatasets(opts: { fresh?: boolean } = {}) {
  return useQuery({ queryKey: modelKeys.datasets(), queryFn: ({ signal }) => api.datasets(signal), ...(opts.fresh ? { staleTime: 0 } : {}) });
}

export function useJobs() {
  return useQuery({
    queryKey: modelKeys.jobs(),
    queryFn: ({ signal }) => api.jobs(signal),
    staleTime: 0,
    refetchInterval: (q) => ((q.state.data?.items ?? []).some(isActive) ? 1000 : false),
  });
}

/** The folders a dataset path must lie under (asked once). */
export function useDataRoots() {
  return useQuery({ queryKey: modelKeys.dataRoots(), queryFn: ({ signal }) => api.dataRoots(signal), staleTime: Infinity });
}

/** A job ended: its evaluation is new, so the models (their evaluations) and the list are stale. */
export function useRefreshAfterJob() {
  const queryClient = useQueryClient();
  return useCallback(() => {
    void queryClient.invalidateQueries({ queryKey: modelKeys.models() });
    void queryClient.invalidateQueries({ queryKey: evaluationKeys.list() });
  }, [queryClient]);
}

/** Register a dataset version (POST /api/datasets), then refresh the datasets. */
export function useAddDataset() {
  const queryClient = useQueryClient();
  return useCallback(
    async (body: DatasetCreate) => {
      const created = await api.addDataset(body);
      await queryClient.invalidateQueries({ queryKey: modelKeys.datasets() });
      return created;
    },
    [queryClient],
  );
}

/** "Calculate": run model version ``versionId`` over a dataset version in a background job. */
export function useCalculate(versionId: number) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (datasetVersionId: number) => api.calculate(versionId, datasetVersionId),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: modelKeys.jobs() }),
  });
}

export function useCancelJob() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (jobId: number) => api.cancelJob(jobId),
    onSettled: () => queryClient.invalidateQueries({ queryKey: modelKeys.jobs() }),
  });
}
