// Query keys of the data-quality page. Everything about evaluation `id` lies under ["quality", id].
import type { QueryOf } from "../../api/client";

export type BinsQuery = QueryOf<"/api/evaluations/{evaluation_id}/quality/bins">;
export type ExploreQuery = QueryOf<"/api/evaluations/{evaluation_id}/quality/explore">;

export const qualityKeys = {
  all: (id: number) => ["quality", id] as const,
  /** the analysis (running, failed or ready), with leakage from training set ``train`` when not null */
  report: (id: number, train: number | null) => ["quality", id, "report", train] as const,
  bins: (id: number, p: BinsQuery) => ["quality", id, "bins", p] as const,
  explore: (id: number, p: ExploreQuery) => ["quality", id, "explore", p] as const,
};
