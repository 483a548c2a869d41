import { describe, expect, it } from "vitest";
import { barWidth, sortClasses, type ClassRow } from "./perClass";

const row = (label: string, precision: number | null, recall: number | null, f1: number | null, n: number): ClassRow => ({
  label,
  total_labeled: n,
  tp: 0,
  fp: 0,
  fn: 0,
  precision,
  recall,
  f1,
});

const rows = [row("cat", 0.9, 0.5, 0.64, 10), row("dog", 0.4, 0.8, 0.53, 30), row("bird", null, 0, null, 5), row("ant", 0.4, 0.9, 0.55, 30)];

describe("sortClasses", () => {
  it("puts the weakest first and undefined metrics last", () => {
    expect(sortClasses(rows, "f1").map((r) => r.label)).toEqual(["dog", "ant", "cat", "bird"]);
    expect(sortClasses(rows, "precision").map((r) => r.label)).toEqual(["ant", "dog", "cat", "bird"]);
    expect(sortClasses(rows, "recall").map((r) => r.label)).toEqual(["bird", "cat", "dog", "ant"]);
  });
  it("sorts by support (largest first) and by name", () => {
    expect(sortClasses(rows, "labeled").map((r) => r.label)).toEqual(["ant", "dog", "cat", "bird"]);
    expect(sortClasses(rows, "name").map((r) => r.label)).toEqual(["ant", "bird", "cat", "dog"]);
  });
  it("never changes its input", () => {
    const copy = [...rows];
    sortClasses(rows, "name");
    expect(rows).toEqual(copy);
  });
});

describe("barWidth", () => {
  it("clamps to the track and draws nothing for an undefined ratio", () => {
    expect(barWidth(0.25)).toBe(25);
    expect(barWidth(null)).toBe(0);
    expect(barWidth(1.5)).toBe(100);
    expect(barWidth(Number.NaN)).toBe(0);
  });
});
