// The words every screen shares, as src/assay/evaluation/vocabulary.py defines them. The server's
// schemas turn the Python constants into enums (SpecialLabel, Outcome, SampleSort in the generated
// schema); the constants here give them a display order and are checked against those enums.
import type { components } from "../api/schema";

type Words = components["schemas"];

export const BELOW_THRESHOLD = "Below threshold" satisfies Words["SpecialLabel"];
export const NO_LABEL = "No label" satisfies Words["SpecialLabel"];
export const NOT_DETECTED = "Not detected" satisfies Words["SpecialLabel"];
export const NOT_AN_OBJECT = "Not an object" satisfies Words["SpecialLabel"];
export const SPECIAL_LABELS: readonly string[] = [BELOW_THRESHOLD, NO_LABEL, NOT_DETECTED, NOT_AN_OBJECT] satisfies Words["SpecialLabel"][];

export const isSpecialLabel = (label: string) => SPECIAL_LABELS.includes(label);

/** TP / FP / FN, in this order everywhere. */
export const OUTCOMES = ["tp", "fp", "fn"] as const satisfies readonly Words["Outcome"][];
export type Outcome = (typeof OUTCOMES)[number];

export const OUTCOME_SHORT: Record<Outcome, string> = { tp: "TP", fp: "FP", fn: "FN" };
export const OUTCOME_NAMES: Record<Outcome, string> = {
  tp: "True positive",
  fp: "False positive",
  fn: "False negative",
};

/** A feed item's `outcome` in words (classification: correct / incorrect / below_threshold too). */
export function outcomeText(o: string | null | undefined): string {
  if (!o) return "";
  const known: Record<string, string> = {
    ...OUTCOME_NAMES,
    tn: "True negative",
    correct: "Correct",
    incorrect: "Incorrect",
    below_threshold: BELOW_THRESHOLD,
  };
  const s = known[o] ?? o.replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export const CLASSIFICATION_SORTS = ["confidence", "confusion", "index"] as const satisfies readonly Words["SampleSort"][];
export const DETECTION_SORTS = ["errors", "tp", "fp", "fn", "index"] as const satisfies readonly Words["SampleSort"][];
export type SortKey = (typeof CLASSIFICATION_SORTS)[number] | (typeof DETECTION_SORTS)[number];
export const SORT_KEYS: readonly string[] = [...new Set<string>([...CLASSIFICATION_SORTS, ...DETECTION_SORTS])];
