// The map's pure parts: fitting points to the canvas, point-in-polygon for the lasso, the
// nearest point to a click, and the colours of each colouring.

export interface Frame {
  minX: number;
  minY: number;
  scale: number;
  offX: number;
  offY: number;
}

/** The transform that fits every point inside (width x height) with `pad` pixels to spare, the
 * same scale on both axes (distances on the map mean the same either way). */
export function fitFrame(xs: readonly number[], ys: readonly number[], width: number, height: number, pad = 12): Frame {
  let minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    if (xs[i] < minX) minX = xs[i];
    if (xs[i] > maxX) maxX = xs[i];
    if (ys[i] < minY) minY = ys[i];
    if (ys[i] > maxY) maxY = ys[i];
  }
  if (!Number.isFinite(minX)) return { minX: 0, minY: 0, scale: 1, offX: pad, offY: pad };
  const spanX = maxX - minX || 1;
  const spanY = maxY - minY || 1;
  const scale = Math.min((width - 2 * pad) / spanX, (height - 2 * pad) / spanY);
  return { minX, minY, scale, offX: (width - spanX * scale) / 2, offY: (height - spanY * scale) / 2 };
}

/** Screen positions (y grows downwards) of every point, as two typed arrays. */
export function project(xs: readonly number[], ys: readonly number[], f: Frame, height: number): [Float32Array, Float32Array] {
  const px = new Float32Array(xs.length);
  const py = new Float32Array(ys.length);
  for (let i = 0; i < xs.length; i++) {
    px[i] = f.offX + (xs[i] - f.minX) * f.scale;
    py[i] = height - (f.offY + (ys[i] - f.minY) * f.scale);
  }
  return [px, py];
}

/** Whether (x, y) is inside the polygon (even-odd rule). */
export function inPolygon(x: number, y: number, poly: readonly [number, number][]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i];
    const [xj, yj] = poly[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** The indices of the points inside a lasso polygon (at least 3 vertices), in index order. */
export function insideLasso(px: Float32Array, py: Float32Array, poly: readonly [number, number][]): number[] {
  if (poly.length < 3) return [];
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const [x, y] of poly) {
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  const out: number[] = [];
  for (let i = 0; i < px.length; i++) {
    if (px[i] < x0 || px[i] > x1 || py[i] < y0 || py[i] > y1) continue;
    if (inPolygon(px[i], py[i], poly)) out.push(i);
  }
  return out;
}

/** The indices of the points inside the box between two corners. */
export function insideBox(px: Float32Array, py: Float32Array, a: [number, number], b: [number, number]): number[] {
  const x0 = Math.min(a[0], b[0]), x1 = Math.max(a[0], b[0]), y0 = Math.min(a[1], b[1]), y1 = Math.max(a[1], b[1]);
  const out: number[] = [];
  for (let i = 0; i < px.length; i++) if (px[i] >= x0 && px[i] <= x1 && py[i] >= y0 && py[i] <= y1) out.push(i);
  return out;
}

/** The point nearest to (x, y) within `radius` pixels, or null. */
export function nearestPoint(px: Float32Array, py: Float32Array, x: number, y: number, radius = 8): number | null {
  let best: number | null = null;
  let bestD = radius * radius;
  for (let i = 0; i < px.length; i++) {
    const d = (px[i] - x) ** 2 + (py[i] - y) ** 2;
    if (d <= bestD) {
      bestD = d;
      best = i;
    }
  }
  return best;
}

/** Ten distinct colours for classes (Tableau 10), then hues spread by the golden angle. */
const PALETTE = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"];
export function categoryColour(k: number): string {
  if (k < 0) return "#c4c9d2";
  if (k < PALETTE.length) return PALETTE[k];
  return `hsl(${Math.round((k * 137.508) % 360)}, 55%, 52%)`;
}

export const OUTCOME_COLOURS = ["#1e9e63", "#d64545", "#e8a33b"]; // correct / wrong / below threshold

/** A value in [0, 1] on a light-to-dark blue ramp; null (missing) grey. */
export function rampColour(t: number | null): string {
  if (t === null || !Number.isFinite(t)) return "#c4c9d2";
  const v = Math.min(1, Math.max(0, t));
  const l = Math.round(85 - v * 55);
  return `hsl(220, 70%, ${l}%)`;
}

/** min and max of the finite values (a constant column spans [v, v + 1]). */
export function extent(values: readonly (number | null)[]): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!Number.isFinite(lo)) return [0, 1];
  return hi > lo ? [lo, hi] : [lo, lo + 1];
}
