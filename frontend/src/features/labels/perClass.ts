// The per-class precision / recall chart's rows: pure functions of the per-class table, so they are
// tested without a browser.

/** What the chart needs of a per-class row (classification and detection alike). */
export interface ClassRow {
  label: string;
  total_labeled: number;
  tp: number;
  fp: number;
  fn: number;
  precision: number | null;
  recall: number | null;
  f1: number | null;
}

export type ClassSort = "f1" | "precision" | "recall" | "labeled" | "name";

export const CLASS_SORTS: { value: ClassSort; label: string }[] = [
  { value: "f1", label: "F1" },
  { value: "precision", label: "Precision" },
  { value: "recall", label: "Recall" },
  { value: "labeled", label: "Labeled" },
  { value: "name", label: "Name" },
];

/** The rows in the chosen order: metrics lowest first (the weakest classes on top, undefined ones
 * last), labeled largest first, names alphabetically; ties by name. */
export function sortClasses(rows: ClassRow[], by: ClassSort): ClassRow[] {
  const byName = (a: ClassRow, b: ClassRow) => a.label.localeCompare(b.label);
  const metric = (r: ClassRow) => (by === "f1" ? r.f1 : by === "precision" ? r.precision : r.recall);
  return [...rows].sort((a, b) => {
    if (by === "name") return byName(a, b);
    if (by === "labeled") return b.total_labeled - a.total_labeled || byName(a, b);
    const x = metric(a);
    const y = metric(b);
    if (x === null && y === null) return byName(a, b);
    if (x === null) return 1;
    if (y === null) return -1;
    return x - y || byName(a, b);
  });
}

/** A bar's width in percent of its track (0 for an undefined ratio). */
export const barWidth = (v: number | null) => (v === null || !Number.isFinite(v) ? 0 : Math.max(0, Math.min(1, v)) * 100);
