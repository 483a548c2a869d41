// Query keys of the compare page and the leaderboard.
import type { CompareQuery } from "../../api/client";

export const compareKeys = {
  /** every answer about the pair (B against A) */
  pair: (a: number, b: number) => ["compare", a, b] as const,
  /** the differences without intervals, at ``point`` (the page shows it at once) */
  quick: (a: number, b: number, point: CompareQuery) => ["compare", a, b, point, "quick"] as const,
  /** with the paired bootstrap's intervals, and the margin's verdicts when one is asked for */
  full: (a: number, b: number, point: CompareQuery, margin: number | null) => ["compare", a, b, point, "full", margin] as const,
  leaderboard: (datasetVersion: number, metric?: string) => ["leaderboard", datasetVersion, metric ?? null] as const,
};
