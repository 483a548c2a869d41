// The compare page's and the leaderboard's state in their URLs:
// `#/compare?a=3&b=7&ta=0.3&tb=0.65&margin=0.5&feed=broken` (thresholds, or `iou`, `ca`, `cb` for
// detection; the margin of the primary metric; the feed shown) and `#/leaderboard?dv=2&metric=f1`.
// A link or a reload reopens the same view; a slider drag or the margin's typing is one step of
// history, so Back returns to the previous view.
import { num, unit } from "../../routes";

/** Where a compare page takes each side (absent: the evaluation's stored operating point). */
export interface ComparePoint {
  threshold_a?: number;
  threshold_b?: number;
  iou?: number;
  score_a?: number;
  score_b?: number;
}

/** What else the compare page keeps in its URL. */
export interface CompareExtras {
  /** the primary metric's margin (points for metrics in points, the metric's units otherwise), 0 to 100 */
  margin?: number;
  /** the feed of changes shown (classification: fixed, broken, changes; detection: worse, better, changed) */
  feed?: string;
}

/** The compare page's URL keys of a point, in this order: `ta`, `tb` (thresholds), `iou`, `ca`, `cb` (confidences). */
const COMPARE_KEYS = [
  ["threshold_a", "ta"],
  ["threshold_b", "tb"],
  ["iou", "iou"],
  ["score_a", "ca"],
  ["score_b", "cb"],
] as const;

export const FEEDS = ["fixed", "broken", "changes", "worse", "better", "changed"] as const;

/** The comparison of evaluation B against A, at ``point`` when given (the stored points otherwise). */
export function compareHref(a: number, b: number, point: ComparePoint = {}, extras: CompareExtras = {}): string {
  let out = `#/compare?a=${a}&b=${b}`;
  for (const [field, key] of COMPARE_KEYS) {
    const x = point[field];
    if (x !== undefined) out += `&${key}=${num(x)}`;
  }
  if (extras.margin !== undefined) out += `&margin=${num(extras.margin)}`;
  if (extras.feed) out += `&feed=${encodeURIComponent(extras.feed)}`;
  return out;
}

/** The operating point in a compare page's URL; values outside [0, 1] (IoU: [0.5, 0.95]) are dropped. */
export function comparePoint(params: URLSearchParams): ComparePoint {
  const out: ComparePoint = {};
  for (const [field, key] of COMPARE_KEYS) {
    const x = unit(params.get(key));
    if (x === undefined || (field === "iou" && (x < 0.5 - 1e-9 || x > 0.95 + 1e-9))) continue;
    out[field] = x;
  }
  return out;
}

/** A margin as typed or read: a number from 0 to 100, else null (none asked for). */
export function parseMargin(text: string | null | undefined): number | null {
  if (text === null || text === undefined || text.trim() === "") return null;
  const x = Number(text);
  return Number.isFinite(x) && x >= 0 && x <= 100 ? x : null;
}

/** The margin and feed in a compare page's URL (absent or unreadable values left out). */
export function compareExtras(params: URLSearchParams): CompareExtras {
  const out: CompareExtras = {};
  const margin = parseMargin(params.get("margin"));
  if (margin !== null) out.margin = margin;
  const feed = FEEDS.find((f) => f === params.get("feed"));
  if (feed) out.feed = feed;
  return out;
}

/** The ids of a compare page's URL (null when missing or not whole numbers). */
export function compareIds(params: URLSearchParams): { a: number; b: number } | null {
  const a = Number(params.get("a"));
  const b = Number(params.get("b"));
  return Number.isInteger(a) && Number.isInteger(b) && a > 0 && b > 0 ? { a, b } : null;
}

/** The leaderboard of a dataset version, ranked by ``metric`` (the server's default when absent). */
export const leaderboardHref = (datasetVersion: number, metric?: string) =>
  `#/leaderboard?dv=${datasetVersion}${metric ? `&metric=${encodeURIComponent(metric)}` : ""}`;

/** The leaderboard's dataset version and metric in its URL (null without a dataset version). */
export function leaderboardParams(params: URLSearchParams): { dv: number; metric?: string } | null {
  const dv = Number(params.get("dv"));
  if (!Number.isInteger(dv) || dv < 1) return null;
  const metric = params.get("metric") ?? undefined;
  return { dv, metric: metric && /^[A-Za-z0-9_]{1,40}$/.test(metric) ? metric : undefined };
}
