// The data-quality page's view in its URL: `#/evaluations/3/quality?train=7&property=contrast&bins=5
// &class=cat&rate=precision&xclass=dog&outcome=fn&order=asc&offset=48`. A link or a reload reopens
// the same view; each change is one step of history, so Back returns to the previous one.
import { useCallback, useMemo } from "react";
import { hashOf, navigate, parseHash, useHash } from "../../routes";

/** The explorer's outcome filter ("" = every sample). */
export type OutcomeFilter = "" | "correct" | "incorrect" | "tp" | "fp" | "fn";
export const OUTCOME_FILTERS: readonly OutcomeFilter[] = ["", "correct", "incorrect", "tp", "fp", "fn"];
/** The explorer's default filter: the model's errors. */
export const DEFAULT_OUTCOME: OutcomeFilter = "incorrect";
/** How many quantile bins the performance chart may take. */
export const BIN_COUNTS = [4, 5, 10, 20] as const;
export const DEFAULT_BINS = 10;
export type RateChoice = "tpr" | "precision";

/** What the page keeps in the URL; an absent field takes the page's default. */
export interface QualityView {
  /** dataset version id of the training set searched for leakage */
  train?: number;
  /** the property of the performance chart and the explorer (default: the most important) */
  property?: string;
  /** quantile bins of the performance chart (default 10) */
  bins?: number;
  /** the class of the performance chart (absent: all classes, accuracy) */
  label?: string;
  /** the per-class rate drawn when a class is picked (default TPR) */
  rate?: RateChoice;
  /** the explorer's class filter */
  xlabel?: string;
  /** the explorer's outcome filter (default: incorrect; "" = all) */
  outcome?: OutcomeFilter;
  /** the explorer's order by the property (default: highest first) */
  order?: "asc" | "desc";
  /** the explorer's first sample shown (a page of 48 starts there) */
  offset?: number;
}

const whole = (v: string | null): number | undefined => (v !== null && /^\d+$/.test(v) ? Number(v) : undefined);

/** The view in a query string; values that do not parse are dropped (the page's default wins). */
export function parseQualityView(params: URLSearchParams): QualityView {
  const v: QualityView = {};
  const train = whole(params.get("train"));
  if (train !== undefined && train > 0) v.train = train;
  const property = params.get("property");
  if (property) v.property = property;
  const bins = whole(params.get("bins"));
  if (bins !== undefined && BIN_COUNTS.some((n) => n === bins)) v.bins = bins;
  const label = params.get("class");
  if (label) v.label = label;
  const rate = params.get("rate");
  if (rate === "tpr" || rate === "precision") v.rate = rate;
  const xlabel = params.get("xclass");
  if (xlabel) v.xlabel = xlabel;
  const outcome = params.get("outcome");
  const known = OUTCOME_FILTERS.find((o) => o !== "" && o === outcome);
  if (outcome === "all") v.outcome = "";
  else if (known) v.outcome = known;
  const order = params.get("order");
  if (order === "asc" || order === "desc") v.order = order;
  const offset = whole(params.get("offset"));
  if (offset !== undefined && offset > 0) v.offset = offset;
  return v;
}

/** The query string of a view, in a fixed order, without the fields left unset. */
export function serializeQualityView(v: QualityView): string {
  const p = new URLSearchParams();
  if (v.train !== undefined) p.set("train", String(v.train));
  if (v.property) p.set("property", v.property);
  if (v.bins !== undefined) p.set("bins", String(v.bins));
  if (v.label) p.set("class", v.label);
  if (v.rate) p.set("rate", v.rate);
  if (v.xlabel) p.set("xclass", v.xlabel);
  if (v.outcome !== undefined) p.set("outcome", v.outcome === "" ? "all" : v.outcome);
  if (v.order) p.set("order", v.order);
  if (v.offset) p.set("offset", String(v.offset));
  return p.toString();
}

/** The data-quality page of an evaluation, in ``view`` when given. */
export function qualityHref(id: number, view: QualityView = {}): string {
  const qs = serializeQualityView(view);
  return `${hashOf(`/evaluations/${id}/quality`)}${qs ? `?${qs}` : ""}`;
}

/** ``v`` with ``patch`` applied: an `undefined` field of the patch removes that field. */
export function patchQualityView(v: QualityView, patch: Partial<QualityView>): QualityView {
  const out: QualityView = { ...v, ...patch };
  for (const k of Object.keys(patch)) if (Reflect.get(patch, k) === undefined) Reflect.deleteProperty(out, k);
  return out;
}

export type SetQualityView = (patch: Partial<QualityView>) => void;

/** The page's view from the URL, and a setter that pushes each change as a history step. */
export function useQualityView(id: number): [QualityView, SetQualityView] {
  const hash = useHash();
  const view = useMemo(() => parseQualityView(parseHash(hash).params), [hash]);
  const set = useCallback<SetQualityView>(
    (patch) => navigate(qualityHref(id, patchQualityView(parseQualityView(parseHash(window.location.hash).params), patch))),
    [id],
  );
  return [view, set];
}
