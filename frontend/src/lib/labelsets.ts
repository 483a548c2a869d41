// A multi-label sample's two label sets side by side: which annotated labels the model predicts,
// which it misses, and which it adds.

export interface LabelSetDiff {
  /** Annotated and predicted. */
  hit: string[];
  /** Annotated, not predicted. */
  missed: string[];
  /** Predicted, not annotated. */
  extra: string[];
  /** The two sets are equal (the sample counts towards subset accuracy). */
  exact: boolean;
}

/** The comparison of an annotated label set with a predicted one, each in its given order. */
export function labelSetDiff(actual: readonly string[], predicted: readonly string[]): LabelSetDiff {
  const a = new Set(actual);
  const p = new Set(predicted);
  const hit = actual.filter((x) => p.has(x));
  const missed = actual.filter((x) => !p.has(x));
  const extra = predicted.filter((x) => !a.has(x));
  return { hit, missed, extra, exact: missed.length === 0 && extra.length === 0 };
}

/** The difference in words: "same label set", or "misses cat, dog · adds car". */
export function labelSetText(d: LabelSetDiff): string {
  if (d.exact) return "same label set";
  const parts: string[] = [];
  if (d.missed.length) parts.push(`misses ${d.missed.join(", ")}`);
  if (d.extra.length) parts.push(`adds ${d.extra.join(", ")}`);
  return parts.join(" · ");
}
