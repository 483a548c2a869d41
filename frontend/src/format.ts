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
  return /^v/i.test(s) ? s : `v${s}`;
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
 * Short forms of several names that stay distinct: the part all of them share at the start is
 * dropped first ("…/sedan_compact"), then each is cut in the middle. Names that fit are unchanged.
 */
export function shortLabels(names: string[], max: number): Map<string, string> {
  const out = new Map<string, string>();
  const long = names.filter((n) => [...n].length > max);
  let prefix = long.length > 1 ? commonPrefix(long) : "";
  // Cut the shared start at a word boundary, and keep at least a few characters of each name.
  const cut = Math.max(prefix.search(/[^/_\-.\s:]*$/), 0);
  prefix = prefix.slice(0, cut);
  for (const n of names) {
    if ([...n].length <= max) out.set(n, n);
    else if (prefix.length >= 4 && n.startsWith(prefix)) out.set(n, truncateMiddle(`…${n.slice(prefix.length)}`, max));
    else out.set(n, truncateMiddle(n, max));
  }
  // Still colliding (same start and end): fall back to the end of each name.
  const seen = new Map<string, number>();
  for (const v of out.values()) seen.set(v, (seen.get(v) ?? 0) + 1);
  for (const [n, v] of out) if ((seen.get(v) ?? 0) > 1) out.set(n, `…${[...n].slice(-(max - 1)).join("")}`);
  return out;
}

function commonPrefix(names: string[]): string {
  let p = names[0] ?? "";
  for (const n of names) {
    let i = 0;
    while (i < p.length && i < n.length && p[i] === n[i]) i++;
    p = p.slice(0, i);
  }
  return p;
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
