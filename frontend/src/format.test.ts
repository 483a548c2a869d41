import { describe, expect, it } from "vitest";
import { compactCount, feedCountText, fmt, labelText, metadataLine, pct, pctBeside, rowPct, shortLabels, truncateLabel, truncateMiddle } from "./format";
import { macroOverText } from "./features/evaluation/metricsHelp";

describe("numbers", () => {
  it("formats undefined values as a dash", () => {
    expect(fmt(null)).toBe("—");
    expect(fmt(undefined)).toBe("—");
    expect(fmt(Number.NaN)).toBe("—");
    expect(fmt(0.12345)).toBe("0.123");
    expect(pct(0.5)).toBe("50.0%");
    expect(pct(null)).toBe("—");
  });

  it("never shows a real count as 0% in a row", () => {
    expect(rowPct(0.003, 1)).toBe("<1%");
    expect(rowPct(0.004)).toBe("<1%");
    expect(rowPct(0, 0)).toBe("0");
    expect(rowPct(0.5, 10)).toBe("50%");
    expect(rowPct(1, 10)).toBe("100%");
    expect(rowPct(0.996, 250)).toBe(">99%");
    expect(rowPct(null)).toBe("");
  });

  it("compacts large counts", () => {
    expect(compactCount(950)).toBe("950");
    expect(compactCount(12_345)).toBe("12.3k");
    expect(compactCount(123_456)).toBe("123k");
  });
});

describe("labels", () => {
  it("says Below threshold for a missing prediction, as the matrix does", () => {
    expect(labelText(null)).toBe("Below threshold");
    expect(labelText([])).toBe("Below threshold");
    expect(labelText([], "actual")).toBe("No label");
    expect(labelText(["a", "b"])).toBe("a, b");
    expect(labelText("cat")).toBe("cat");
  });

  it("truncates in the middle, keeping the distinguishing end", () => {
    expect(truncateMiddle("short", 10)).toBe("short");
    const t = truncateMiddle("vehicle/automobile/sedan_compact", 16);
    expect([...t].length).toBe(16);
    expect(t.startsWith("veh")).toBe(true);
    expect(t.endsWith("compact")).toBe(true);
    expect(t).toContain("…");
  });

  it("keeps the distinguishing end of hierarchical names", () => {
    expect(truncateLabel("vehicle/automobile/sedan_compact", 24)).toBe("…/sedan_compact");
    expect(truncateLabel("vehicle/automobile/sedan_compact", 30)).toBe("…/automobile/sedan_compact");
    expect(truncateLabel("short", 24)).toBe("short");
    expect(truncateLabel("a_very_long_name_without_any_separator", 16)).toContain("…");
  });

  it("keeps several long names apart", () => {
    const names = ["vehicle/automobile/sedan_compact", "vehicle/automobile/sedan_midsize", "vehicle/automobile/suv", "cat"];
    const short = shortLabels(names, 16);
    const values = names.map((n) => short.get(n)!);
    expect(new Set(values).size).toBe(names.length);
    for (const v of values) expect([...v].length).toBeLessThanOrEqual(16);
    expect(short.get("cat")).toBe("cat");
    expect(short.get("vehicle/automobile/sedan_compact")).toContain("compact");
    expect(short.get("vehicle/automobile/sedan_midsize")).toContain("midsize");
  });

  it("keeps names apart even when start and end are shared", () => {
    const names = ["aaaaaaaaaaaa-1-zzzzzzzzzzzz", "aaaaaaaaaaaa-2-zzzzzzzzzzzz"];
    const short = shortLabels(names, 12);
    expect(short.get(names[0])).not.toBe(short.get(names[1]));
  });
});

describe("feed text", () => {
  it("counts boxes in images for a detection cell", () => {
    expect(feedCountText(17, true, 18)).toBe("18 boxes in 17 images");
    expect(feedCountText(1, true, 1)).toBe("1 box in 1 image");
    expect(feedCountText(17, true, null)).toBe("17 images");
    expect(feedCountText(1200, false, null)).toBe(`${(1200).toLocaleString()} samples`);
  });

  it("writes metadata on one line", () => {
    expect(metadataLine({ site: "A", age: 34, note: null })).toBe("site=A · age=34 · note=—");
    expect(metadataLine(null)).toBe("");
  });

  it("says over how many classes a macro average is taken", () => {
    const s = { n_classes: 5, macro_over: { precision: 4, recall: 5, f1: 4, roc_auc: 5, average_precision: 5 } };
    expect(macroOverText(s, "macro_precision")).toBe("macro over 4 of 5 classes");
    expect(macroOverText(s, "roc_auc_macro")).toBe("macro over 5 of 5 classes");
    expect(macroOverText(s, "log_loss")).toBeNull();
  });
});

describe("pctBeside", () => {
  it("never rounds a score across the threshold", () => {
    expect(pctBeside(0.4996, 0.5, 0)).toBe("49.96%");
    expect(pctBeside(0.5, 0.5, 0)).toBe("50%");
    expect(pctBeside(0.73, 0.5, 0)).toBe("73%");
    expect(pctBeside(0.4996, 0, 0)).toBe("50%");
    expect(pctBeside(null, 0.5)).toBe("—");
  });
});
