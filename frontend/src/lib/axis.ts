// A numeric axis for small inline charts (the leaderboard's interval column): a domain widened to
// round numbers and the ticks inside it, with as many decimals as the step needs.

export interface Axis {
  /** The drawn range: the data's range widened to whole steps. */
  lo: number;
  hi: number;
  ticks: number[];
  /** Decimals that tell the ticks apart. */
  digits: number;
}

/** The step nearest ``raw`` among 1, 2, 2.5 and 5 times a power of ten. */
export function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const power = 10 ** Math.floor(Math.log10(raw));
  const f = raw / power;
  const nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10;
  return nice * power;
}

/**
 * An axis over [min, max] with about ``count`` intervals between ticks. An empty range (one value)
 * is widened around it; the ends are rounded outwards to a whole step, so the first and last
 * ticks sit at the ends of the drawing.
 */
export function niceAxis(min: number, max: number, count = 4): Axis {
  let lo = Math.min(min, max);
  let hi = Math.max(min, max);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return { lo: 0, hi: 1, ticks: [0, 0.5, 1], digits: 1 };
  if (hi - lo < 1e-12) {
    const pad = Math.abs(lo) > 1e-9 ? Math.abs(lo) * 0.01 : 0.01;
    lo -= pad;
    hi += pad;
  }
  const step = niceStep((hi - lo) / Math.max(1, count));
  const start = Math.floor(lo / step + 1e-9) * step;
  const end = Math.ceil(hi / step - 1e-9) * step;
  const n = Math.round((end - start) / step);
  const digits = decimals(step);
  const ticks = Array.from({ length: n + 1 }, (_, i) => Number((start + i * step).toFixed(digits + 2)));
  return { lo: ticks[0], hi: ticks[ticks.length - 1], ticks, digits };
}

/** The decimals a step is written with (0.25: 2, 0.1: 1, 5: 0). */
function decimals(step: number): number {
  for (let d = 0; d < 12; d++) if (Math.abs(Math.round(step * 10 ** d) - step * 10 ** d) < 1e-6) return d;
  return 12;
}

/** Where ``v`` sits on the axis, as a share of its width (0 at ``lo``, 1 at ``hi``). */
export function axisPosition(axis: Axis, v: number): number {
  const span = axis.hi - axis.lo;
  return span > 0 ? Math.min(1, Math.max(0, (v - axis.lo) / span)) : 0.5;
}
