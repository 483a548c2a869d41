// Server state of the what-if page and its link: whether a model version can run here, its task,
// classes and upload limits. The predictions themselves are a POST per batch (postPredict).
import { useQuery } from "@tanstack/react-query";
import { whatifKeys } from "./keys";
import { fetchPredictInfo } from "./whatif";

/** What version ``versionId`` accepts; ``quiet``: cached a minute and never retried (the evaluation header's link). */
export function usePredictInfo(versionId: number, opts: { quiet?: boolean } = {}) {
  return useQuery({
    queryKey: whatifKeys.info(versionId),
    queryFn: ({ signal }) => fetchPredictInfo(versionId, signal),
    ...(opts.quiet ? { staleTime: 60_000, retry: false } : { staleTime: 0 }),
  });
}
