// The data-quality page's charts as ECharts options, and the words they use: pure functions of the
// answers, so they are tested without a browser.
import { baseAxis, palette, type ChartOption } from "../../components/Chart";
import type { PropertyBin, QualityImportance, Rate } from "./types";

export type RateKey = "accuracy" | "tpr" | "precision";

export const RATE_WORDS: Record<RateKey, string> = {
  accuracy: "Accuracy",
  tpr: "TPR (recall)",
  precision: "Precision",
};

/** A number in few characters: 0.0123, 12.3, 1.2e+6. */
export function short(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(1);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  return Number(v.toPrecision(3)).toString();
}

/** A bin's name on the axis: its category, or its range of values. */
export function binLabel(b: PropertyBin): string {
  if (b.category !== null) return b.category;
  if (b.lower === null || b.upper === null) return "?";
  return b.lower === b.upper ? short(b.lower) : `${short(b.lower)}–${short(b.upper)}`;
}

/** The importance a bar shows: the model's (AUC drop) when it was fitted, else |rho|. */
export function importanceMeasure(rows: QualityImportance[]): "importance" | "spearman" {
  return rows.some((r) => r.importance !== null) ? "importance" : "spearman";
}

export function pValue(p: number | null | undefined): string {
  if (p === null || p === undefined) return "—";
  return p < 0.001 ? "<0.001" : p.toFixed(3);
}

const escape = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c] ?? c);

/** Horizontal bars of each property's importance, the most important at the top. */
export function importanceOption(rows: QualityImportance[], descriptions: Map<string, string>): ChartOption {
  const measure = importanceMeasure(rows);
  const shown = [...rows].reverse(); // a category axis draws its first entry at the bottom
  const value = (r: QualityImportance) => (measure === "importance" ? r.importance : r.spearman === null ? null : Math.abs(r.spearman));
  return {
    grid: { left: 8, right: 24, top: 8, bottom: 28, containLabel: true },
    tooltip: {
      trigger: "item",
      confine: true,
      formatter: (p: { dataIndex: number }) => {
        const r = shown[p.dataIndex];
        const imp = r.importance === null ? "not fitted" : `${short(r.importance)} ± ${short(r.importance_std)}`;
        return [
          `<b>${escape(r.property)}</b>`,
          escape(descriptions.get(r.property) ?? ""),
          `Importance (AUC drop when shuffled): ${imp}`,
          `Spearman ρ with correctness: ${short(r.spearman)} (p ${pValue(r.spearman_p)})`,
          `${r.n.toLocaleString()} samples with a value`,
        ].join("<br/>");
      },
    },
    xAxis: {
      type: "value",
      name: measure === "importance" ? "importance (AUC drop)" : "|Spearman ρ|",
      nameLocation: "middle",
      nameGap: 22,
      ...baseAxis,
    },
    yAxis: { type: "category", data: shown.map((r) => r.property), ...baseAxis, axisLabel: { ...baseAxis.axisLabel, width: 120, overflow: "truncate" } },
    series: [
      {
        name: measure,
        type: "bar",
        barMaxWidth: 16,
        data: shown.map((r) => {
          const v = value(r);
          const positive = (r.spearman ?? 0) >= 0;
          // green: higher values go with correct answers; red: with errors
          return { value: v === null ? null : Math.max(0, v), itemStyle: { color: positive ? palette.green : palette.red } };
        }),
      },
    ],
  };
}

/** A rate per bin: its line, the band of its 95 % interval, and the bin counts as bars. */
export function binsOption(bins: PropertyBin[], key: RateKey, property: string): ChartOption {
  const labels = bins.map(binLabel);
  const rates: (Rate | null)[] = bins.map((b) => b[key]);
  const word = RATE_WORDS[key];
  const categorical = bins.some((b) => b.category !== null);
  return {
    grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
    legend: { top: 0, data: [word, "95% interval", "samples"] },
    tooltip: {
      trigger: "axis",
      confine: true,
      formatter: (ps: { dataIndex: number }[]) => {
        const i = ps[0]?.dataIndex ?? 0;
        const b = bins[i];
        const r = rates[i];
        const range = b.category !== null ? escape(b.category) : `${short(b.lower)} to ${short(b.upper)}`;
        const rate = r && r.value !== null ? `${(r.value * 100).toFixed(1)}% (${r.k} of ${r.n}), 95% CI ${pct(r.low)}–${pct(r.high)}` : "no samples";
        return `<b>${escape(property)}</b>: ${range}<br/>${word}: ${rate}<br/>${b.n.toLocaleString()} samples in the bin`;
      },
    },
    xAxis: { type: "category", data: labels, ...baseAxis, axisLabel: { ...baseAxis.axisLabel, rotate: labels.some((l) => l.length > 9) ? 30 : 0 } },
    yAxis: [
      { type: "value", min: 0, max: 1, name: word, ...baseAxis, axisLabel: { ...baseAxis.axisLabel, formatter: (v: number) => `${Math.round(v * 100)}%` } },
      { type: "value", name: "samples", ...baseAxis, splitLine: { show: false } },
    ],
    series: [
      {
        name: "samples",
        type: "bar",
        yAxisIndex: 1,
        barMaxWidth: 28,
        barGap: "-100%",
        itemStyle: { color: "#dfe4ec" },
        data: bins.map((b) => b.n),
      },
      // the band: an invisible base at the low end, the interval's width stacked on it (an area
      // over ordered bins, a floating bar per category: categories are not a continuum)
      {
        name: "band-low",
        type: categorical ? "bar" : "line",
        stack: "band",
        symbol: "none",
        barGap: "-100%",
        barMaxWidth: 14,
        lineStyle: { opacity: 0 },
        itemStyle: { color: "transparent" },
        tooltip: { show: false },
        data: rates.map((r) => r?.low ?? null),
      },
      {
        name: "95% interval",
        type: categorical ? "bar" : "line",
        stack: "band",
        symbol: "none",
        barMaxWidth: 14,
        lineStyle: { opacity: 0 },
        areaStyle: { color: palette.primary, opacity: 0.15 },
        itemStyle: { color: "rgba(47, 91, 234, 0.25)" },
        data: rates.map((r) => (r && r.low !== null && r.high !== null ? r.high - r.low : null)),
      },
      {
        name: word,
        type: "line",
        symbolSize: 7,
        itemStyle: { color: palette.primary },
        lineStyle: { width: categorical ? 0 : 2 },
        data: rates.map((r) => r?.value ?? null),
      },
    ],
  };
}

function pct(v: number | null | undefined): string {
  return v === null || v === undefined ? "—" : `${(v * 100).toFixed(1)}%`;
}
