// Server state of the data-quality page: the analysis (polled every second while it runs), the
// performance per bin of a property and the explorer's pages (the previous answer kept while the
// next loads).
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api } from "../../api/client";
import { qualityKeys, type BinsQuery, type ExploreQuery } from "./keys";

export function useQualityReport(id: number, train: number | null) {
  return useQuery({
    queryKey: qualityKeys.report(id, train),
    queryFn: ({ signal }) => api.quality(id, { train: train ?? undefined }, signal),
    staleTime: 0,
    // computing in the background: ask again until it is ready
    refetchInterval: (query) => (query.state.data?.status === "running" ? 1000 : false),
  });
}

/** Start a failed analysis again (the page then asks for the report). */
export const retryQuality = (id: number) => api.quality(id, { retry: true });

/** Whether this page has seen the evaluation's analysis (without a training set) ready: read from the
 * cache the data-quality page fills, never fetched from here, so the caller never starts an analysis. */
export function useQualityReadyInCache(id: number): boolean {
  const q = useQuery({ queryKey: qualityKeys.report(id, null), queryFn: ({ signal }) => api.quality(id, {}, signal), enabled: false });
  return q.data?.status === "ready";
}

export function useQualityBins(id: number, p: BinsQuery) {
  return useQuery({
    queryKey: qualityKeys.bins(id, p),
    queryFn: ({ signal }) => api.qualityBins(id, p, signal),
    placeholderData: keepPreviousData,
    enabled: p.property !== "",
  });
}

export function useQualityExplore(id: number, p: ExploreQuery) {
  return useQuery({
    queryKey: qualityKeys.explore(id, p),
    queryFn: ({ signal }) => api.qualityExplore(id, p, signal),
    placeholderData: keepPreviousData,
    enabled: p.property !== "",
  });
}
