import { useCallback, useMemo, useRef, useState } from "react";
import type { ColumnDef } from "@tanstack/react-table";
import { api, type OptimalMetric } from "../api/client";
import type { EvaluationDetail, LabelRow, Num, Sample } from "../api/types";
import { useDebounced, useQuery } from "../hooks";
import { fmt } from "../format";
import { HIGHLIGHTS, METRICS } from "../metricsHelp";
import { DataTable } from "../components/DataTable";
import { ConfusionPanel } from "../components/ConfusionMatrix";
import { ClassificationCurves } from "../components/Curves";
import { DEFAULT_FILTER, SampleFeed, type FeedFilter } from "../components/SampleFeed";
import { SampleView } from "../components/SampleView";
import { ErrorState, Panel, SliderField, Spinner } from "../components/common";
import { EvalHeader } from "./EvaluationPage";

/** The highlight cards' keys from a server summary (`summary(threshold)` of the results). */
function highlightValues(s: Record<string, Num>): Record<string, Num> {
  return {
    ...s,
    precision_macro: s.precision_macro ?? s.macro_precision ?? null,
    recall_macro: s.recall_macro ?? s.macro_recall ?? null,
    f1_macro: s.f1_macro ?? s.macro_f1 ?? null,
    average_precision_macro: s.average_precision_macro ?? s.auprc_macro ?? null,
  };
}

function Highlights({ ev, values, atDefault, threshold, busy }: { ev: EvaluationDetail; values: Record<string, Num>; atDefault: boolean; threshold: number; busy: boolean }) {
  return (
    <div className={`highlights ${busy ? "is-busy" : ""}`} data-testid="highlights">
      {HIGHLIGHTS.map((k) => {
        const m = METRICS[k];
        const v = values[k] ?? null;
        if (k === "accuracy" && ev.task === "multilabel") return null;
        const ci = ev.intervals?.[k];
        const showCi = ci && (!m.thresholdDependent || atDefault);
        return (
          <div className="metric-card" key={k} data-testid={`metric-${k}`} tabIndex={0}>
            <div className="metric-label">
              {m.label} <span className="info" aria-hidden>i</span>
            </div>
            <div className="metric-value" data-testid={`metric-${k}-value`}>{fmt(v)}</div>
            <div className="metric-ci">
              {showCi
                ? `95% CI ${fmt(ci.low)} – ${fmt(ci.high)}`
                : m.thresholdDependent && !atDefault
                  ? `at t = ${threshold.toFixed(2)}`
                  : ev.intervals_status === "pending"
                    ? "computing interval…"
                    : m.thresholdDependent
                      ? `at t = ${threshold.toFixed(2)}`
                      : " "}
            </div>
            <div className="tooltip" role="tooltip">
              <strong>{m.label}</strong>
              <p>{m.what}</p>
              <p className="muted">How: {m.how}</p>
              <p className="muted">
                {m.higherIsBetter ? "Higher is better." : "Lower is better."}{" "}
                {m.thresholdDependent ? "Changes with the threshold." : "Does not depend on the threshold."}
                {ci ? " The interval is a 95% bootstrap interval over samples." : ""}
              </p>
            </div>
          </div>
        );
      })}
    </div>
  );
}

const OPT_METRICS: { value: OptimalMetric; label: string }[] = [
  { value: "f1", label: "F1 (macro)" },
  { value: "accuracy", label: "Accuracy" },
  { value: "precision", label: "Precision (macro)" },
  { value: "recall", label: "Recall (macro)" },
  { value: "micro_f1", label: "F1 (micro)" },
];

export function ClassificationPage({ ev }: { ev: EvaluationDetail }) {
  const defaultT = ev.threshold ?? 0.5;
  const [threshold, setThreshold] = useState(defaultT);
  const t = useDebounced(threshold, 150);
  const [optMetric, setOptMetric] = useState<OptimalMetric>("f1");
  const [optBusy, setOptBusy] = useState(false);
  const [optError, setOptError] = useState<string | null>(null);
  const [optimal, setOptimal] = useState<Partial<Record<OptimalMetric, { threshold: number; value: Num }>>>(() => {
    const o = ev.optimal;
    if (!o || typeof o.threshold !== "number") return {};
    return { [o.metric ?? "f1"]: { threshold: o.threshold, value: o.value } };
  });
  const [filter, setFilter] = useState<FeedFilter>(DEFAULT_FILTER);
  const [open, setOpen] = useState<Sample | null>(null);
  const feedRef = useRef<HTMLDivElement>(null);
  const multilabel = ev.task === "multilabel";

  const labels = useQuery((s) => api.labels(ev.id, { threshold: t }, s), [ev.id, t]);

  const atDefault = Math.abs(t - defaultT) < 1e-9;
  // The headline metrics at the slider's threshold come from the server (GET /summary).
  const summary = useQuery((s) => api.summary(ev.id, { threshold: t }, s), [ev.id, t], !atDefault);
  const values = useMemo(
    () => highlightValues(!atDefault && summary.data ? summary.data.summary : ev.summary),
    [ev, summary.data, atDefault],
  );

  const showFeed = useCallback((f: Partial<FeedFilter>) => {
    setFilter((prev) => ({ sort: prev.sort, descending: prev.descending, ...f }));
    feedRef.current?.scrollIntoView({ behavior: "smooth", block: "start" });
  }, []);

  const goOptimal = async () => {
    const known = optimal[optMetric];
    if (known) return setThreshold(known.threshold);
    // The server searches every threshold (GET /optimal, computed once per metric).
    setOptBusy(true);
    setOptError(null);
    try {
      const o = await api.optimal(ev.id, { metric: optMetric });
      if (typeof o.threshold !== "number") return;
      const found = { threshold: o.threshold, value: o.value };
      setOptimal((prev) => ({ ...prev, [optMetric]: found }));
      setThreshold(found.threshold);
    } catch (e) {
      setOptError(e instanceof Error ? e.message : String(e));
    } finally {
      setOptBusy(false);
    }
  };

  const countCell = (kind: "tp" | "fn" | "fp") =>
    ({ row, getValue }: { row: { original: LabelRow }; getValue: () => unknown }) => {
      const label = row.original.label;
      const f: Partial<FeedFilter> = { label, outcome: kind };
      return (
        <button className={`count-link count-${kind}`} onClick={() => showFeed(f)} data-testid={`count-${kind}`} title={`Show the ${kind.toUpperCase()} samples of ${label}`}>
          {String(getValue())}
        </button>
      );
    };

  const columns = useMemo<ColumnDef<LabelRow, unknown>[]>(
    () => [
      { accessorKey: "label", header: "Class", cell: (c) => <span className="strong">{String(c.getValue())}</span> },
      { accessorKey: "total_labeled", header: "Labeled", meta: { num: true, help: "TP + FN: samples annotated with the class" } },
      { accessorKey: "total_predicted", header: "Predicted", meta: { num: true, help: "TP + FP: samples predicted as the class" } },
      { accessorKey: "tp", header: "TP", meta: { num: true }, cell: countCell("tp") },
      { accessorKey: "fn", header: "FN", meta: { num: true }, cell: countCell("fn") },
      { accessorKey: "fp", header: "FP", meta: { num: true }, cell: countCell("fp") },
      { accessorKey: "recall", header: "Recall", meta: { num: true }, cell: (c) => fmt(c.getValue() as Num), sortUndefined: "last" },
      { accessorKey: "precision", header: "Precision", meta: { num: true }, cell: (c) => fmt(c.getValue() as Num) },
      { accessorKey: "f1", header: "F1", meta: { num: true }, cell: (c) => fmt(c.getValue() as Num) },
      { accessorKey: "roc_auc", header: "AUC", meta: { num: true, help: "One-vs-rest ROC AUC (threshold-free)" }, cell: (c) => fmt(c.getValue() as Num) },
      { accessorKey: "average_precision", header: "AP", meta: { num: true, help: "Average precision (threshold-free)" }, cell: (c) => fmt(c.getValue() as Num) },
    ],
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [multilabel],
  );

  const confusionCell = (actual: string, predicted: string) => {
    showFeed({ actual, predicted });
  };

  return (
    <div className="page" data-testid="classification-page">
      <EvalHeader ev={ev} />
      <Highlights ev={ev} values={values} atDefault={atDefault} threshold={t} busy={summary.loading && !atDefault} />

      <div className="threshold-bar" data-testid="threshold-bar">
        <SliderField label="Threshold" value={threshold} min={0} max={1} step={0.01} onChange={setThreshold} testid="threshold-slider" />
        <div className="threshold-actions">
          <select className="select" value={optMetric} onChange={(e) => setOptMetric(e.target.value as OptimalMetric)} data-testid="optimize-metric" aria-label="Metric to optimise">
            {OPT_METRICS.map((m) => (
              <option key={m.value} value={m.value}>Optimise {m.label}</option>
            ))}
          </select>
          <button className="btn btn-primary" onClick={goOptimal} disabled={optBusy} data-testid="back-to-optimal">
            {optBusy ? "Searching…" : "Back to optimal"}
          </button>
          <button className="btn" onClick={() => setThreshold(defaultT)} disabled={threshold === defaultT} data-testid="reset-threshold">
            Default ({defaultT.toFixed(2)})
          </button>
          {optimal[optMetric] && (
            <span className="muted small" data-testid="optimal-note" data-threshold={optimal[optMetric].threshold}>
              optimal t = {optimal[optMetric].threshold.toFixed(2)} ({OPT_METRICS.find((m) => m.value === optMetric)?.label} {fmt(optimal[optMetric].value)})
            </span>
          )}
          {optError && <span className="error-text small" role="alert">{optError}</span>}
        </div>
      </div>

      <Panel title="Per class" testid="per-class" busy={labels.loading && !!labels.data}>
          {labels.error && !labels.data ? (
            <ErrorState error={labels.error} onRetry={labels.reload} />
          ) : !labels.data ? (
            <Spinner />
          ) : (
            <DataTable
              data={labels.data.items}
              columns={columns}
              rowKey={(r) => r.label}
              filterPlaceholder="Filter classes…"
              testid="per-class-table"
              rowTestid="class-row"
              busy={labels.loading}
              height={460}
            />
          )}
      </Panel>
      <div className={multilabel ? "" : "grid-2 grid-even"}>
        {!multilabel && (
          <ConfusionPanel
            evalId={ev.id}
            nClasses={ev.n_classes}
            sliders={{ threshold: t }}
            modes={[
              { value: "none", label: "Counts" },
              { value: "true", label: "Row %" },
              { value: "probability", label: "Avg. probability" },
            ]}
            onCell={confusionCell}
            selected={filter}
          />
        )}
        <ClassificationCurves evalId={ev.id} classes={ev.classes} threshold={t} />
      </div>

      <div ref={feedRef} className="scroll-anchor">
        <SampleFeed
          evalId={ev.id}
          media={ev.media}
          classes={ev.classes}
          sliders={{ threshold: t }}
          filter={filter}
          setFilter={setFilter}
          onOpen={setOpen}
          extraColumns={t > 0 && !multilabel ? ["Below threshold"] : []}
        />
      </div>
      {open && <SampleView evalId={ev.id} sample={open} sliders={{ threshold: t }} media={ev.media} onClose={() => setOpen(null)} />}
    </div>
  );
}
