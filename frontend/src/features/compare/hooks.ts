// Server state of the compare page and the leaderboard: the previous answer stays on screen while
// the next one (another point, margin or metric) loads.
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, type CompareQuery } from "../../api/client";
import { compareKeys } from "./keys";

/** B against A at ``point``: the quick answer (no bootstrap) and the full one (intervals, margin). */
export function useComparison(ids: { a: number; b: number } | null, point: CompareQuery, margin: number | null) {
  const a = ids?.a ?? 0;
  const b = ids?.b ?? 0;
  const quick = useQuery({
    queryKey: compareKeys.quick(a, b, point),
    queryFn: ({ signal }) => api.compare(a, b, { ...point, intervals: false }, signal),
    enabled: ids !== null,
    placeholderData: keepPreviousData,
  });
  const full = useQuery({
    queryKey: compareKeys.full(a, b, point, margin),
    queryFn: ({ signal }) => api.compare(a, b, margin === null ? point : { ...point, margin }, signal),
    enabled: ids !== null,
    placeholderData: keepPreviousData,
  });
  return { quick, full };
}

export function useLeaderboard(p: { dv: number; metric?: string } | null) {
  return useQuery({
    queryKey: compareKeys.leaderboard(p?.dv ?? 0, p?.metric),
    queryFn: ({ signal }) => api.leaderboard(p?.dv ?? 0, p?.metric, signal),
    enabled: p !== null,
    placeholderData: keepPreviousData,
  });
}
