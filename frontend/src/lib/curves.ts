// Where the current operating point lies on a curve (no server needed: unit-tested).

/**
 * The index of the curve point at threshold `t`: predicting "score >= t" is the point whose
 * threshold is the smallest one still >= t. Thresholds may come in either order (ROC curves list
 * them decreasing, precision-recall curves increasing) and may be shorter than the curve (the PR
 * curve's last point has none). `null` thresholds are skipped. When `t` is above every threshold,
 * nothing is predicted: the point of the largest threshold (or `null` when `strict`).
 */
export function pointAtThreshold(thresholds: readonly (number | null)[], t: number, strict = false): number | null {
  let best: number | null = null;
  let top: number | null = null;
  for (let i = 0; i < thresholds.length; i++) {
    const th = thresholds[i];
    if (th === null || th === undefined || Number.isNaN(th)) continue;
    if (th >= t && (best === null || th < (thresholds[best] as number))) best = i;
    if (top === null || th > (thresholds[top] as number)) top = i;
  }
  return best ?? (strict ? null : top);
}

/**
 * The point of a COCO precision-recall curve (101 recall levels, `scores[i]` the confidence at
 * which recall level i is reached, 0 past the highest recall) at confidence `score`: the highest
 * recall reached with detections of confidence >= score. `null` when no level is reached.
 */
export function pointAtConfidence(scores: readonly (number | null)[], precision: readonly (number | null)[], score: number): number | null {
  let best: number | null = null;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i];
    const p = precision[i];
    if (s === null || s === undefined || p === null || p === undefined || p <= 0 || s <= 0) continue;
    if (s >= score) best = i;
  }
  return best;
}

/** [x, y] of point `i`, or null when it is missing or undefined. */
export function pointXY(xs: readonly (number | null)[], ys: readonly (number | null)[], i: number | null): [number, number] | null {
  if (i === null) return null;
  const x = xs[i];
  const y = ys[i];
  if (x === null || x === undefined || y === null || y === undefined) return null;
  return [x, y];
}

/** The risk–coverage point a threshold keeps: the last (smallest) curve threshold at or below
 * which the top score must reach ``t`` (thresholds descending); the argmax (0) keeps everything. */
export function pointAtCoverage(thresholds: readonly (number | null)[], t: number): number | null {
  let at: number | null = null;
  for (let i = 0; i < thresholds.length; i++) {
    const v = thresholds[i];
    if (v !== null && v >= t) at = i;
  }
  return at;
}
