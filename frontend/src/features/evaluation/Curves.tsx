import { useMemo, useState } from "react";
import type { CalibrationCurve, CurveKind, DensityCurve, DetectionPrCurve as DetPr, PrCurve, RiskCoverageCurve, RocCurve, ThresholdCurves } from "../../api/client";
import { useCurve, useDetectionPrCurve } from "./hooks";
import { fmt } from "../../format";
import { pointAtConfidence, pointAtCoverage, pointAtThreshold, pointXY } from "../../lib/curves";
import { Chart, baseAxis, palette, type ChartOption } from "../../components/Chart";
import { ErrorState, Panel, Segmented, Spinner } from "../../components/common";

const axis = (name: string, min = 0, max = 1) => ({ ...baseAxis, type: "value", name, nameLocation: "middle", nameGap: 28, min, max });
const grid = { left: 56, right: 24, top: 36, bottom: 46 };
const tooltip = { trigger: "axis", valueFormatter: (v: number) => (typeof v === "number" ? v.toFixed(3) : v) };

function zip(xs: (number | null)[], ys: (number | null)[]) {
  return xs.map((x, i) => [x, ys[i]]);
}

/** The operating point as one marked dot with its label ("t = 0.50"). */
function pointSeries(xy: [number, number] | null, text: string) {
  if (!xy) return [];
  return [
    {
      name: "Operating point",
      type: "scatter",
      data: [xy],
      symbolSize: 11,
      z: 5,
      itemStyle: { color: palette.secondary, borderColor: "#fff", borderWidth: 2 },
      // near the right edge the label goes left of the dot, so it is not cut off
      label: { show: true, position: xy[0] > 0.8 ? "left" : "right", formatter: text, color: "#1c2230", fontWeight: 600, fontSize: 11.5 },
      tooltip: { formatter: () => `${text}: (${xy[0].toFixed(3)}, ${xy[1].toFixed(3)})` },
    },
  ];
}

/** Risk (error rate among the kept samples) against coverage (share kept) as the threshold on
 * the top score falls; the area under it is AURC (lower is better). */
function riskCoverageOption(d: RiskCoverageCurve, threshold: number): ChartOption {
  const at = pointXY(d.coverage, d.risk, pointAtCoverage(d.thresholds, threshold));
  const maxRisk = Math.max(0.05, ...d.risk.map((r) => r ?? 0));
  return {
    title: { text: `Risk–coverage   AURC ${fmt(d.aurc)}`, textStyle: { fontSize: 13, fontWeight: 500 } },
    grid,
    tooltip: { trigger: "axis" },
    xAxis: axis("Coverage (share of samples kept)"),
    yAxis: axis("Risk (error rate among kept)", 0, Math.min(1, Math.ceil(maxRisk * 20) / 20)),
    series: [
      { name: "Risk", type: "line", data: zip(d.coverage, d.risk), showSymbol: false, step: "end", lineStyle: { width: 2, color: palette.primary }, areaStyle: { opacity: 0.08, color: palette.primary } },
      ...pointSeries(at, threshold === 0 ? "argmax" : `t = ${threshold.toFixed(2)}`),
    ],
  };
}

function rocOption(d: RocCurve, threshold?: number): ChartOption {
  const at = threshold === undefined ? null : pointXY(d.fpr, d.tpr, pointAtThreshold(d.thresholds, threshold));
  return {
    title: { text: `ROC — ${d.label}   AUC ${fmt(d.auc)}`, textStyle: { fontSize: 13, fontWeight: 500 } },
    grid,
    tooltip: { trigger: "axis" },
    xAxis: axis("False positive rate"),
    yAxis: axis("True positive rate"),
    series: [
      { name: "ROC", type: "line", data: zip(d.fpr, d.tpr), showSymbol: false, lineStyle: { width: 2, color: palette.primary }, areaStyle: { opacity: 0.08, color: palette.primary } },
      { name: "Chance", type: "line", data: [[0, 0], [1, 1]], showSymbol: false, lineStyle: { type: "dashed", color: palette.grey, width: 1 }, silent: true },
      ...pointSeries(at, `t = ${threshold?.toFixed(2)}`),
    ],
  };
}

function prOption(d: PrCurve | DetPr, title: string, at: [number, number] | null, atText: string): ChartOption {
  const ap = d.average_precision;
  return {
    title: { text: `${title} — ${d.label}   AP ${fmt(ap)}`, textStyle: { fontSize: 13, fontWeight: 500 } },
    grid,
    tooltip: { trigger: "axis" },
    xAxis: axis("Recall"),
    yAxis: axis("Precision"),
    series: [
      { name: "Precision–recall", type: "line", data: zip(d.recall, d.precision), showSymbol: false, step: "end", lineStyle: { width: 2, color: palette.primary }, areaStyle: { opacity: 0.08, color: palette.primary } },
      ...pointSeries(at, atText),
    ],
  };
}

function thresholdOption(d: ThresholdCurves, threshold?: number): ChartOption {
  const s = (name: string, ys: (number | null)[], color: string, dashed = false) => ({
    name,
    type: "line",
    data: zip(d.thresholds, ys),
    showSymbol: false,
    lineStyle: { width: dashed ? 2.5 : 2, color, type: dashed ? "dashed" : "solid" },
    itemStyle: { color },
  });
  // Recall and TPR are the same curve: drawn once.
  const series: Record<string, unknown>[] = [
    s("Precision", d.precision, palette.primary),
    s("Recall (= TPR)", d.recall, palette.green),
    s("FPR", d.fpr, palette.red),
  ];
  if (threshold !== undefined)
    series[0].markLine = {
      silent: true,
      symbol: "none",
      lineStyle: { color: "#333", type: "dashed" },
      label: { formatter: `t = ${threshold.toFixed(2)}` },
      data: [{ xAxis: threshold }],
    };
  return {
    title: { text: `Threshold curves — ${d.label}`, textStyle: { fontSize: 13, fontWeight: 500 } },
    grid: { ...grid, top: 56 },
    legend: { top: 22, right: 8 },
    tooltip,
    xAxis: axis("Threshold"),
    yAxis: axis(""),
    series,
  };
}

function calibrationOption(d: CalibrationCurve): ChartOption {
  const bins = d.bins.filter((b) => b.count > 0);
  return {
    title: { text: `Reliability diagram   ECE ${fmt(d.ece)}`, textStyle: { fontSize: 13, fontWeight: 500 } },
    grid: { ...grid, top: 56 },
    legend: { top: 22, right: 8 },
    tooltip: {
      trigger: "item",
      formatter: (p: { data: number[]; seriesName: string }) =>
        `${p.seriesName}<br/>confidence ${p.data[0]?.toFixed(3)} → ${p.data[1]?.toFixed(3)}`,
    },
    xAxis: axis("Mean confidence"),
    yAxis: axis("Accuracy"),
    series: [
      { name: "Perfect calibration", type: "line", data: [[0, 0], [1, 1]], showSymbol: false, lineStyle: { type: "dashed", color: palette.grey, width: 1 }, itemStyle: { color: palette.grey } },
      {
        name: "Model",
        type: "line",
        data: bins.map((b) => [b.confidence, b.accuracy, b.count]),
        symbolSize: (v: number[]) => Math.max(5, Math.min(18, Math.sqrt(v[2]))),
        lineStyle: { width: 2, color: palette.primary },
        itemStyle: { color: palette.primary },
      },
    ],
  };
}

function densityOption(d: DensityCurve): ChartOption {
  const mids = d.edges.slice(0, -1).map((e, i) => (e + d.edges[i + 1]) / 2);
  const norm = (xs: number[]) => {
    const s = xs.reduce((a, b) => a + b, 0) || 1;
    return xs.map((x) => x / s);
  };
  return {
    title: { text: `Score density — ${d.label}`, textStyle: { fontSize: 13, fontWeight: 500 } },
    grid: { ...grid, top: 56 },
    legend: { top: 22, right: 8 },
    tooltip: { trigger: "axis", valueFormatter: (v: number) => (typeof v === "number" ? `${(v * 100).toFixed(1)}%` : v) },
    xAxis: { ...axis("Score of the class"), type: "value" },
    yAxis: { ...baseAxis, type: "value", name: "Share of samples", nameLocation: "middle", nameGap: 40 },
    series: [
      { name: `Positives (actual ${d.label})`, type: "line", step: "middle", data: zip(mids, norm(d.positives)), showSymbol: false, areaStyle: { opacity: 0.25 }, lineStyle: { color: palette.primary }, itemStyle: { color: palette.primary } },
      { name: "Negatives (other classes)", type: "line", step: "middle", data: zip(mids, norm(d.negatives)), showSymbol: false, areaStyle: { opacity: 0.25 }, lineStyle: { color: palette.secondary }, itemStyle: { color: palette.secondary } },
    ],
  };
}

export function ClassPicker({ classes, value, onChange, testid = "class-picker" }: { classes: string[]; value: string; onChange: (v: string) => void; testid?: string }) {
  return (
    <select className="select" value={value} onChange={(e) => onChange(e.target.value)} data-testid={testid} aria-label="Class">
      {classes.map((c) => (
        <option key={c} value={c}>
          {c}
        </option>
      ))}
    </select>
  );
}

export function ClassificationCurves({ evalId, classes, threshold, selective = false }: { evalId: number; classes: string[]; threshold: number; selective?: boolean }) {
  const [kind, setKind] = useState<CurveKind>("roc");
  const [label, setLabel] = useState(classes[0] ?? "");
  const classless = kind === "calibration" || kind === "risk_coverage";
  const q = useCurve(evalId, kind, classless ? {} : { label });
  const option = useMemo(() => {
    const d = q.data;
    // Only draw an answer of the selected kind (the previous one stays while the next loads).
    if (!d || d.kind !== kind) return null;
    // at the argmax (single-label, no threshold) no one-vs-rest score threshold applies: no point
    const t = selective && threshold === 0 ? undefined : threshold;
    switch (d.kind) {
      case "roc":
        return rocOption(d, t);
      case "pr":
        if (!("thresholds" in d)) return null;
        return prOption(d, "Precision–recall", t === undefined ? null : pointXY(d.recall, d.precision, pointAtThreshold(d.thresholds, t)), `t = ${threshold.toFixed(2)}`);
      case "threshold":
        return thresholdOption(d, t);
      case "calibration":
        return calibrationOption(d);
      case "density":
        return densityOption(d);
      case "risk_coverage":
        return riskCoverageOption(d, threshold);
      default:
        return null;
    }
  }, [q.data, kind, threshold, selective]);

  return (
    <Panel
      busy={q.isFetching && !!q.data}
      title="Curves"
      testid="curves"
      actions={
        <>
          <Segmented
            value={kind}
            onChange={setKind}
            testid="curve-kind"
            options={[
              { value: "roc", label: "ROC" },
              { value: "pr", label: "Precision–recall" },
              { value: "threshold", label: "Threshold" },
              { value: "calibration", label: "Calibration" },
              { value: "density", label: "Density" },
              ...(selective ? [{ value: "risk_coverage" as const, label: "Risk–coverage" }] : []),
            ]}
          />
          {!classless && <ClassPicker classes={classes} value={label} onChange={setLabel} />}
        </>
      }
    >
      {q.error && !q.data ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : option ? (
        <Chart option={option} height={320} testid="curve-chart" />
      ) : (
        <Spinner label="Loading curve…" />
      )}
    </Panel>
  );
}

export function DetectionPrCurve({ evalId, classes, iou, score }: { evalId: number; classes: string[]; iou: number; score: number }) {
  const [label, setLabel] = useState(classes[0] ?? "");
  const q = useDetectionPrCurve(evalId, { label, iou });
  const d = q.data;
  const ok = d && Array.isArray(d.precision) && Array.isArray(d.recall);
  const option = useMemo(() => {
    if (!d || !ok) return null;
    const at = Array.isArray(d.scores) ? pointXY(d.recall, d.precision, pointAtConfidence(d.scores, d.precision, score)) : null;
    return prOption(d, "Precision–recall", at, `conf ≥ ${score.toFixed(2)}`);
  }, [d, ok, score]);
  return (
    <Panel busy={q.isFetching && !!q.data} title={`Precision–recall at IoU ${iou.toFixed(2)}`} testid="det-pr" actions={<ClassPicker classes={classes} value={label} onChange={setLabel} />}>
      {q.error && !d ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : d && option ? (
        <>
          <Chart option={option} height={300} testid="pr-chart" />
          <div className="muted small" data-testid="pr-ap">
            AP at IoU {(d.iou ?? iou).toFixed(2)}: <strong>{fmt(d.average_precision)}</strong>
          </div>
        </>
      ) : (
        <Spinner label="Loading curve…" />
      )}
    </Panel>
  );
}
