// Routes and the view state kept in the URL: `#/evaluations/3?t=0.70&actual=cat&predicted=dog&sample=12`.
// A link reopens the same view; Back undoes the last discrete change (a slider drag is one step).
import { useMemo, useSyncExternalStore } from "react";
import { CLASSIFICATION_SORTS, DETECTION_SORTS, OUTCOMES, type Outcome, type SortKey } from "./lib/vocabulary";

export interface Crumb {
  label: string;
  href?: string;
}

export interface Route {
  /** "/", "/evaluations/3", ... */
  path: string;
  params: URLSearchParams;
}

export type Page =
  | { name: "list" }
  | { name: "models" }
  | { name: "compare" }
  | { name: "leaderboard" }
  | { name: "agreement" }
  | { name: "evaluation"; id: number }
  | { name: "quality"; id: number }
  | { name: "label"; id: number; label: string }
  | { name: "what-if"; versionId: number }
  | { name: "not-found" };

/** What the evaluation pages keep in the URL; absent fields take the page's defaults. */
export interface ViewState {
  threshold?: number;
  iou?: number;
  score?: number;
  actual?: string;
  predicted?: string;
  label?: string;
  outcome?: Outcome;
  errors?: boolean;
  sort?: SortKey;
  desc?: boolean;
  sample?: number;
  /** the samples shown as a table rather than the feed's cards */
  table?: boolean;
}

const NUMBER_KEYS = { threshold: "t", iou: "iou", score: "conf" } as const;

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, "");
  const q = raw.indexOf("?");
  const path = (q < 0 ? raw : raw.slice(0, q)) || "/";
  return { path, params: new URLSearchParams(q < 0 ? "" : raw.slice(q + 1)) };
}

export function matchPage(path: string): Page {
  if (path === "/" || path === "/evaluations") return { name: "list" };
  if (path === "/models" || path === "/models/") return { name: "models" };
  if (path === "/compare" || path === "/compare/") return { name: "compare" };
  if (path === "/leaderboard" || path === "/leaderboard/") return { name: "leaderboard" };
  if (path === "/agreement" || path === "/agreement/") return { name: "agreement" };
  const m = path.match(/^\/evaluations\/(\d+)\/?$/);
  if (m) return { name: "evaluation", id: Number(m[1]) };
  const dq = path.match(/^\/evaluations\/(\d+)\/quality\/?$/);
  if (dq) return { name: "quality", id: Number(dq[1]) };
  const lp = path.match(/^\/evaluations\/(\d+)\/labels\/(.+)$/);
  if (lp) {
    try {
      return { name: "label", id: Number(lp[1]), label: decodeURIComponent(lp[2]) };
    } catch {
      return { name: "not-found" };
    }
  }
  const w = path.match(/^\/models\/(\d+)\/what-if\/?$/);
  if (w) return { name: "what-if", versionId: Number(w[1]) };
  return { name: "not-found" };
}

/** A URL value in [0, 1] (a threshold, IoU or confidence), else undefined. */
export function unit(v: string | null): number | undefined {
  if (v === null || v.trim() === "") return undefined;
  const x = Number(v);
  return Number.isFinite(x) && x >= 0 && x <= 1 ? x : undefined;
}

/** The view state in a query string; values that do not parse are dropped (the page's default wins). */
export function parseView(params: URLSearchParams): ViewState {
  const v: ViewState = {};
  for (const [field, key] of Object.entries(NUMBER_KEYS) as [keyof typeof NUMBER_KEYS, string][]) {
    const x = unit(params.get(key));
    if (x !== undefined) v[field] = x;
  }
  for (const key of ["actual", "predicted", "label"] as const) {
    const s = params.get(key);
    if (s) v[key] = s;
  }
  const outcome = params.get("outcome");
  const known = OUTCOMES.find((o) => o === outcome);
  if (known) v.outcome = known;
  if (params.get("errors") === "1") v.errors = true;
  const sort = params.get("sort");
  const sortKey = [...CLASSIFICATION_SORTS, ...DETECTION_SORTS].find((k) => k === sort);
  if (sortKey) v.sort = sortKey;
  const dir = params.get("dir");
  if (dir === "asc") v.desc = false;
  else if (dir === "desc") v.desc = true;
  const sample = params.get("sample");
  if (sample !== null && /^\d+$/.test(sample)) v.sample = Number(sample);
  if (params.get("view") === "table") v.table = true;
  return v;
}

/** Rounds a slider value for the URL (no float noise such as 0.30000000000000004). */
export const num = (x: number) => String(Number(x.toFixed(4)));

/** The query string of a view state, in a fixed order, without the fields left unset. */
export function serializeView(v: ViewState): string {
  const p = new URLSearchParams();
  for (const [field, key] of Object.entries(NUMBER_KEYS) as [keyof typeof NUMBER_KEYS, string][]) {
    const x = v[field];
    if (x !== undefined) p.set(key, num(x));
  }
  if (v.actual) p.set("actual", v.actual);
  if (v.predicted) p.set("predicted", v.predicted);
  if (v.label) p.set("label", v.label);
  if (v.outcome) p.set("outcome", v.outcome);
  if (v.errors) p.set("errors", "1");
  if (v.sort) p.set("sort", v.sort);
  if (v.desc !== undefined) p.set("dir", v.desc ? "desc" : "asc");
  if (v.sample !== undefined) p.set("sample", String(v.sample));
  if (v.table) p.set("view", "table");
  return p.toString();
}

export function hashOf(path: string, view: ViewState = {}): string {
  const qs = serializeView(view);
  return `#${path}${qs ? `?${qs}` : ""}`;
}

export const evaluationHref = (id: number, view: ViewState = {}) => hashOf(`/evaluations/${id}`, view);

/** One label's page (its precision / recall and TP, FN, FP galleries) at the view's point. */
export const labelHref = (id: number, label: string, view: ViewState = {}) => hashOf(`/evaluations/${id}/labels/${encodeURIComponent(label)}`, view);

/** The what-if page of a model version. */
export const modelsHref = () => hashOf("/models");
export const whatIfHref = (versionId: number) => hashOf(`/models/${versionId}/what-if`);

/** A patch applied to a view: `undefined` fields are removed. */
export function patchView(v: ViewState, patch: Partial<ViewState>): ViewState {
  const out: ViewState = { ...v };
  for (const [k, x] of Object.entries(patch) as [keyof ViewState, ViewState[keyof ViewState]][]) {
    if (x === undefined) delete out[k];
    else (out as Record<string, unknown>)[k] = x;
  }
  return out;
}

export interface HistoryStep {
  key: string | null;
  at: number;
}

/**
 * Push a new history entry, or replace the current one: changes of the same slider (`coalesce`
 * key) less than `windowMs` apart are one step, so a drag is undone by a single Back.
 */
export function historyMode(last: HistoryStep, coalesce: string | undefined, now: number, windowMs = 1000): "push" | "replace" {
  if (coalesce && last.key === coalesce && now - last.at < windowMs) return "replace";
  return "push";
}

// ---------------------------------------------------------------- the browser side

const EVENT = "assay:navigate";
let last: HistoryStep = { key: null, at: 0 };

function subscribe(on: () => void) {
  window.addEventListener("hashchange", on);
  window.addEventListener("popstate", on);
  window.addEventListener(EVENT, on);
  return () => {
    window.removeEventListener("hashchange", on);
    window.removeEventListener("popstate", on);
    window.removeEventListener(EVENT, on);
  };
}

const getHash = () => window.location.hash;

/** The current hash (re-rendering on navigation, Back and Forward). */
export function useHash(): string {
  return useSyncExternalStore(subscribe, getHash, () => "");
}

export function navigate(hash: string, opts: { replace?: boolean; coalesce?: string } = {}) {
  if (hash === window.location.hash) return;
  const now = Date.now();
  const mode = opts.replace ? "replace" : historyMode(last, opts.coalesce, now);
  last = { key: opts.coalesce ?? null, at: now };
  const url = `${window.location.pathname}${window.location.search}${hash}`;
  if (mode === "replace") window.history.replaceState(window.history.state, "", url);
  else window.history.pushState(null, "", url);
  window.dispatchEvent(new Event(EVENT));
}

export type SetView = (patch: Partial<ViewState>, opts?: { replace?: boolean; coalesce?: string }) => void;

/** Writes a patch of the view state into the URL (push, or replace while a slider drags). */
export const setView: SetView = (patch, opts) => {
  const now = parseHash(window.location.hash);
  navigate(hashOf(now.path, patchView(parseView(now.params), patch)), opts);
};

/** The view state of the current URL (re-rendering when it changes). */
export function useView(): ViewState {
  const hash = useHash();
  return useMemo(() => parseView(parseHash(hash).params), [hash]);
}
