import { describe, expect, it } from "vitest";
import { binLabel, binsOption, importanceMeasure, importanceOption, short } from "./qualityCharts";
import type { PropertyBin, QualityImportance } from "./types";

const rate = (k: number, n: number) => ({ value: k / n, low: Math.max(0, k / n - 0.1), high: Math.min(1, k / n + 0.1), k, n });
const bin = (lower: number, upper: number, k: number, n: number): PropertyBin => ({
  lower,
  upper,
  category: null,
  n,
  accuracy: rate(k, n),
  tpr: null,
  precision: null,
});
const row = (property: string, importance: number | null, spearman: number | null): QualityImportance => ({
  property,
  importance,
  importance_std: importance === null ? null : 0.01,
  spearman,
  spearman_p: 0.01,
  n: 100,
});

describe("quality charts", () => {
  it("names bins by range or category", () => {
    expect(binLabel(bin(0.1234, 0.5, 1, 2))).toBe("0.123–0.5");
    expect(binLabel(bin(3, 3, 1, 2))).toBe("3");
    expect(binLabel({ ...bin(0, 0, 1, 2), lower: null, upper: null, category: "train" })).toBe("train");
    expect(short(123456)).toBe("1.2e+5");
    expect(short(null)).toBe("—");
  });

  it("draws the most important property at the top, coloured by the sign of rho", () => {
    const rows = [row("brightness", 0.2, 0.4), row("noise", 0.01, -0.05)];
    const option = importanceOption(rows, new Map()) as { yAxis: { data: string[] }; series: { data: { value: number; itemStyle: { color: string } }[] }[] };
    expect(option.yAxis.data).toEqual(["noise", "brightness"]);
    expect(option.series[0].data.map((d) => d.value)).toEqual([0.01, 0.2]);
    expect(option.series[0].data[0].itemStyle.color).not.toBe(option.series[0].data[1].itemStyle.color);
  });

  it("falls back to |rho| when no model was fitted", () => {
    const rows = [row("a", null, -0.3), row("b", null, 0.1)];
    expect(importanceMeasure(rows)).toBe("spearman");
    const option = importanceOption(rows, new Map()) as { series: { data: { value: number }[] }[] };
    expect(option.series[0].data.map((d) => d.value)).toEqual([0.1, 0.3]);
  });

  it("stacks the interval band on its low end", () => {
    const option = binsOption([bin(0, 1, 5, 10), bin(1, 2, 9, 10)], "accuracy", "x") as { series: { name: string; data: (number | null)[] }[] };
    const byName = Object.fromEntries(option.series.map((s) => [s.name, s.data]));
    expect(byName["band-low"]).toEqual([0.4, 0.8]);
    expect(byName["95% interval"].map((v) => Number(v?.toFixed(6)))).toEqual([0.2, 0.2]);
    expect(byName["Accuracy"]).toEqual([0.5, 0.9]);
    expect(byName["samples"]).toEqual([10, 10]);
  });
});

describe("categorical bins", () => {
  it("draw the interval as a floating bar per category, without a line between them", () => {
    const cat = (name: string, k: number): PropertyBin => ({ ...bin(0, 0, k, 10), lower: null, upper: null, category: name });
    const option = binsOption([cat("a", 5), cat("b", 9)], "accuracy", "split") as { series: { name: string; type: string; lineStyle?: { width?: number } }[]; xAxis: { data: string[] } };
    expect(option.xAxis.data).toEqual(["a", "b"]);
    const byName = Object.fromEntries(option.series.map((s) => [s.name, s]));
    expect(byName["95% interval"].type).toBe("bar");
    expect(byName["Accuracy"].lineStyle?.width).toBe(0);
  });
});
