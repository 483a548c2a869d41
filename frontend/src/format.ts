import type { Num } from "./api/types";

export function fmt(v: Num | undefined, digits = 3): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  return v.toFixed(digits);
}

export function pct(v: Num | undefined, digits = 1): string {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  return `${(v * 100).toFixed(digits)}%`;
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

export function labelText(v: string | string[] | null | undefined): string {
  if (v === null || v === undefined) return "No prediction";
  if (Array.isArray(v)) return v.length ? v.join(", ") : "None";
  return v;
}
