import { BELOW_THRESHOLD, NO_LABEL } from "./lib/vocabulary";

type Num = number | null | undefined;

export function fmt(v: Num, digits = 3): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  return v.toFixed(digits);
}

export function pct(v: Num, digits = 1): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  return `${(v * 100).toFixed(digits)}%`;
}

/**
 * ``v`` as a percentage that never contradicts the decision taken at threshold ``t``: a score
 * below it never reads as reaching it (0.4996 beside t = 0.5 reads 49.96%, not 50%), nor the
 * reverse. More digits only where rounding would cross ``t``.
 */
export function pctBeside(v: Num, t: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || Number.isNaN(v) || t === null || t === undefined || t <= 0) return pct(v, digits);
  for (let d = digits; d < digits + 6; d++) {
    const shown = Number((v * 100).toFixed(d)) / 100;
    if (shown >= t === v >= t) return pct(v, d);
  }
  return pct(v, digits + 6);
}

/**
 * A row fraction as a whole percentage. A cell that holds samples never reads "0": below half a
 * percent it says "<1%" (and above 99.5 % of a row that is not all of it, ">99%").
 */
export function rowPct(fraction: Num, count?: number | null): string {
  if (fraction === null || fraction === undefined || Number.isNaN(fraction)) return "";
  if (fraction === 0 && !count) return "0";
  const p = fraction * 100;
  if (p < 1 && (p > 0 || (count ?? 0) > 0)) return "<1%";
  if (p > 99 && p < 100) return ">99%";
  return `${Math.round(p)}%`;
}

/** Counts in little room: 950, 12.3k, 124k. */
export function compactCount(v: number): string {
  if (v < 10_000) return String(v);
  if (v < 100_000) return `${(v / 1000).toFixed(1)}k`;
  return `${Math.round(v / 1000)}k`;
}

export function fmtDate(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}

export function taskLabel(task: string, media?: string | null): string {
  if (task === "detection") return "Object detection";
  const kind = media === "text" ? "Text" : media === "image" ? "Image" : "";
  const t = task === "multilabel" ? "multi-label classification" : "classification";
  return kind ? `${kind} ${t}` : t.charAt(0).toUpperCase() + t.slice(1);
}

export function versionText(v: number | string | undefined | null): string {
  const s = String(v ?? "");
  return /^\d+$/.test(s) ? `v${s}` : s; // "3" -> "v3"; "v3", "fp32", "int8" as they are
}

/**
 * A sample's label(s) in words: a missing prediction is "Below threshold" (as in the matrix), an
 * empty multi-label annotation "No label", an empty multi-label prediction "Below threshold".
 */
export function labelText(v: string | string[] | null | undefined, kind: "actual" | "predicted" = "predicted"): string {
  if (v === null || v === undefined) return kind === "actual" ? NO_LABEL : BELOW_THRESHOLD;
  if (Array.isArray(v)) return v.length ? v.join(", ") : kind === "actual" ? NO_LABEL : BELOW_THRESHOLD;
  return v;
}

/**
 * `name` in at most `max` characters, cut in the middle so both its start and its distinguishing
 * end stay visible: "vehicle/automobile/sedan_compact" -> "vehic…sedan_compact".
 */
export function truncateMiddle(name: string, max: number): string {
  const chars = [...name];
  if (chars.length <= max) return name;
  if (max <= 1) return "…";
  const keep = max - 1;
  const head = Math.max(1, Math.floor(keep * 0.35));
  const tail = keep - head;
  return `${chars.slice(0, head).join("")}…${chars.slice(chars.length - tail).join("")}`;
}

/**
 * A class name in at most `max` characters, keeping its distinguishing end: a hierarchical name
 * drops whole leading parts ("vehicle/automobile/sedan_compact" -> "…/sedan_compact"), any other
 * is cut in the middle.
 */
export function truncateLabel(name: string, max: number): string {
  const chars = [...name];
  if (chars.length <= max) return name;
  // The longest tail that starts at a separator and fits after "…".
  for (let k = 1; k < chars.length; k++) {
    if (chars.length - k > max - 1) continue;
    if (/[/\\:|>]/.test(chars[k]) && chars.length - k >= 4) return `…${chars.slice(k).join("")}`;
  }
  return truncateMiddle(name, max);
}

/**
 * Short forms of several names that stay distinct (see `truncateLabel`); names that collide are
 * cut in the middle instead, then to their last characters. Names that fit are unchanged.
 */
export function shortLabels(names: string[], max: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const n of names) out.set(n, truncateLabel(n, max));
  const collide = () => {
    const seen = new Map<string, number>();
    for (const v of out.values()) seen.set(v, (seen.get(v) ?? 0) + 1);
    return (v: string) => (seen.get(v) ?? 0) > 1;
  };
  let dup = collide();
  for (const [n, v] of out) if (dup(v)) out.set(n, truncateMiddle(n, max));
  dup = collide();
  // Still the same: a window around where the name first differs from the others.
  const clashing = [...out].filter(([, v]) => dup(v)).map(([n]) => n);
  for (const n of clashing) {
    const c = [...n];
    let d = 0;
    for (const o of clashing) {
      if (o === n) continue;
      let i = 0;
      while (i < c.length && c[i] === [...o][i]) i++;
      d = Math.max(d, i);
    }
    const start = Math.max(0, Math.min(d - Math.floor((max - 2) / 2), c.length - (max - 2)));
    const end = Math.min(c.length, start + max - 2);
    out.set(n, `${start > 0 ? "…" : ""}${c.slice(start, end).join("")}${end < c.length ? "…" : ""}`);
  }
  return out;
}


/** One line of metadata: "site=A · age=34". */
export function metadataLine(m: Record<string, unknown> | null | undefined, max = 4): string {
  if (!m) return "";
  return Object.entries(m)
    .slice(0, max)
    .map(([k, v]) => `${k}=${v === null || v === undefined ? "—" : String(v)}`)
    .join(" · ");
}

/** The feed's count: images, or for a detection cell "18 boxes in 17 images". */
export function feedCountText(total: number, detection: boolean, nBoxes: number | null | undefined): string {
  const noun = (n: number, one: string, many: string) => `${n.toLocaleString()} ${n === 1 ? one : many}`;
  if (!detection) return noun(total, "sample", "samples");
  if (nBoxes !== null && nBoxes !== undefined) return `${noun(nBoxes, "box", "boxes")} in ${noun(total, "image", "images")}`;
  return noun(total, "image", "images");
}
