import { describe, expect, it } from "vitest";
import { labelSetDiff, labelSetText } from "./labelsets";

describe("label sets", () => {
  it("splits into hits, misses and additions", () => {
    const d = labelSetDiff(["indoor", "person", "animal"], ["person", "vehicle"]);
    expect(d).toEqual({ hit: ["person"], missed: ["indoor", "animal"], extra: ["vehicle"], exact: false });
    expect(labelSetText(d)).toBe("misses indoor, animal · adds vehicle");
  });

  it("knows an exact match, whatever the order", () => {
    const d = labelSetDiff(["a", "b"], ["b", "a"]);
    expect(d.exact).toBe(true);
    expect(labelSetText(d)).toBe("same label set");
  });

  it("handles empty sets", () => {
    expect(labelSetDiff([], []).exact).toBe(true);
    expect(labelSetText(labelSetDiff(["a"], []))).toBe("misses a");
    expect(labelSetText(labelSetDiff([], ["b"]))).toBe("adds b");
  });
});
