import { useCallback, useMemo, useRef, useState, type ReactNode } from "react";
import type { ColumnDef } from "@tanstack/react-table";
import type { ClassificationRow, ClassificationSummary, EvaluationDetail, Num, OptimalMetric } from "../../api/client";
import { classificationAnswer } from "../../api/answers";
import { numberField } from "../../lib/fields";
import { useClassificationLabels, useClassificationOptimal, useClassificationSummary } from "./hooks";
import { useDebounced } from "../../lib/hooks";
import { fmt, truncateLabel } from "../../format";
import { HIGHLIGHTS, MACRO_OF, METRICS, macroOverText, MULTILABEL_HIGHLIGHTS, MULTILABEL_METRICS, thresholdText, TOPK_HELP, type MetricHelp } from "./metricsHelp";
import { BELOW_THRESHOLD, NO_LABEL, OUTCOME_SHORT, OUTCOMES, type Outcome } from "../../lib/vocabulary";
import { labelHref, setView, useView } from "../../routes";
import { PerClassChart } from "../labels/PerClassChart";
import { DataTable } from "../../components/DataTable";
import { ConfusionPanel } from "./ConfusionMatrix";
import { ClassificationCurves } from "./Curves";
import { SampleFeed, type FeedFilter } from "./SampleFeed";
import { FeedOrTable, SampleTable } from "./SampleTable";
import { SampleView } from "./SampleView";
import { EvalHeader } from "./EvalHeader";
import { FoldsPanel } from "./FoldsPanel";
import { ErrorState, Panel, SliderField, Spinner } from "../../components/common";

function MetricCard({
  k,
  help,
  value,
  ci,
  sub,
  note,
}: {
  k: string;
  help: MetricHelp;
  value: Num;
  ci: string;
  sub?: ReactNode;
  note?: string | null;
}) {
  return (
    <div className="metric-card" data-testid={`metric-${k}`} tabIndex={0}>
      <div className="metric-label">
        {help.label} <span className="info" aria-hidden>i</span>
      </div>
      <div className="metric-value" data-testid={`metric-${k}-value`}>{fmt(value)}</div>
      <div className="metric-ci" data-testid={`metric-${k}-ci`}>{ci}</div>
      {sub && <div className="metric-sub" data-testid={`metric-${k}-sub`}>{sub}</div>}
      <div className="tooltip" role="tooltip">
        <strong>{help.label}</strong>
        <p>{help.what}</p>
        <p className="muted">How: {help.how}</p>
        {note && <p className="muted">{note}</p>}
        <p className="muted">
          {help.higherIsBetter ? "Higher is better." : "Lower is better."} {help.thresholdDependent ? "Changes with the threshold." : "Does not depend on the threshold."}
        </p>
      </div>
    </div>
  );
}

function Highlights({ ev, s, atDefault, threshold, busy }: { ev: EvaluationDetail; s: ClassificationSummary; atDefault: boolean; threshold: number; busy: boolean }) {
  const multilabel = ev.task === "multilabel";
  const keysShown: readonly string[] = multilabel ? MULTILABEL_HIGHLIGHTS : HIGHLIGHTS;
  const at = thresholdText(threshold, multilabel);
  const ciText = (k: string, help: MetricHelp) => {
    const ci = ev.intervals?.[k];
    if (help.thresholdDependent && !atDefault) return `at ${at}`;
    if (ci) return `95% CI ${fmt(ci.low)} – ${fmt(ci.high)}`;
    return help.thresholdDependent ? `at ${at}` : " ";
  };
  const topK = (s.top_k ?? []).filter((t) => t.k > 1);
  // selective prediction (single-label, t > 0): the share answered, and how well
  const selective = !multilabel && threshold > 0;
  const shownKeys = selective ? [keysShown[0], "coverage", ...keysShown.slice(1)] : keysShown;
  return (
    <div className={`highlights ${busy ? "is-busy" : ""}`} data-testid="highlights">
      {shownKeys.map((k) => {
        const help = (multilabel ? MULTILABEL_METRICS[k] : undefined) ?? METRICS[k];
        if (!help) return null;
        let sub: ReactNode = macroOverText(s, k);
        if (k === "coverage") sub = `accuracy on kept ${fmt(s.selective_accuracy)} · risk ${fmt(s.selective_risk)}`;
        if (k === "accuracy" && !multilabel)
          sub = (
            <>
              top-1 (argmax) {fmt(s.top1_accuracy)}
              {topK.length > 0 && (
                <span className="metric-topk" data-testid="metric-top_k">
                  <br />
                  {topK.map((t) => `top-${t.k} ${fmt(t.value)}`).join(" · ")}
                </span>
              )}
            </>
          );
        const note =
          k === "accuracy" && !multilabel
            ? `Top-1 (argmax) accuracy ignores the threshold: scikit-learn's accuracy_score. ${TOPK_HELP.what} ${TOPK_HELP.how}`
            : MACRO_OF[k]
              ? s.zero_division === 0
                ? "scikit-learn's default average: over the classes labeled or predicted, an undefined ratio (a class never predicted, or never labeled) counting as 0."
                : "Classes where the metric is undefined (no prediction, or no sample) are left out of the mean."
              : null;
        return <MetricCard key={k} k={k} help={help} value={numberField(s, k)} ci={ciText(k, help)} sub={sub} note={note} />;
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
  const view = useView();
  const multilabel = ev.task === "multilabel";
  const defaultT = ev.point.threshold ?? (multilabel ? 0.5 : 0);
  const threshold = view.threshold ?? defaultT;
  const t = useDebounced(threshold, 150);
  const [optMetric, setOptMetric] = useState<OptimalMetric>("f1");
  const [optBusy, setOptBusy] = useState(false);
  const [optError, setOptError] = useState<string | null>(null);
  const optimal = useClassificationOptimal(ev, optMetric);
  const feedRef = useRef<HTMLDivElement>(null);

  const filter: FeedFilter = {
    actual: view.actual,
    predicted: view.predicted,
    label: view.label,
    outcome: view.outcome,
    errors: view.errors,
    sort: view.sort ?? "confidence",
    desc: view.desc ?? true,
  };

  const sliders = useMemo(() => ({ threshold: t }), [t]);
  const labels = useClassificationLabels(ev.id, sliders);
  const atDefault = Math.abs(t - defaultT) < 1e-9;
  // The headline metrics at the slider's threshold come from the server (GET /summary).
  const summary = useClassificationSummary(ev.id, sliders, !atDefault);
  const shown: ClassificationSummary = !atDefault && summary.data ? summary.data : classificationAnswer(ev.summary);

  const setThreshold = (v: number) => setView({ threshold: v }, { coalesce: "threshold" });
  const showFeed = useCallback((f: Partial<FeedFilter>) => {
    setView({ actual: undefined, predicted: undefined, label: undefined, outcome: undefined, ...f, sample: undefined });
    feedRef.current?.scrollIntoView({ behavior: "smooth", block: "start" });
  }, []);

  const goOptimal = async () => {
    setOptBusy(true);
    setOptError(null);
    try {
      // The server searches every threshold (GET /optimal, computed once per metric, then cached here).
      const o = await optimal.fetch();
      if (typeof o.threshold === "number") setView({ threshold: o.threshold });
    } catch (e) {
      setOptError(e instanceof Error ? e.message : String(e));
    } finally {
      setOptBusy(false);
    }
  };
  const known = optimal.query.data;

  const columns = useMemo<ColumnDef<ClassificationRow, unknown>[]>(() => {
    const countCell =
      (kind: Outcome) =>
      ({ row, getValue }: { row: { original: ClassificationRow }; getValue: () => unknown }) => {
        const label = row.original.label;
        return (
          <button className={`count-link count-${kind}`} onClick={() => showFeed({ label, outcome: kind })} data-testid={`count-${kind}`} title={`Show the ${OUTCOME_SHORT[kind]} samples of ${label}`}>
            {String(getValue())}
          </button>
        );
      };
    const num = (c: { getValue: () => unknown }) => {
      const v = c.getValue();
      return fmt(typeof v === "number" ? v : null);
    };
    return [
      {
        accessorKey: "label",
        header: "Class",
        cell: (c) => (
          <a className="strong" href={labelHref(ev.id, String(c.getValue()), view.threshold === undefined ? {} : { threshold: view.threshold })} title={`${String(c.getValue())}: its page (precision, recall, TP / FN / FP side by side)`} data-testid="class-link">
            {truncateLabel(String(c.getValue()), 40)}
          </a>
        ),
      },
      { accessorKey: "total_labeled", header: "Labeled", meta: { num: true, help: "TP + FN: samples annotated with the class" } },
      { accessorKey: "total_predicted", header: "Predicted", meta: { num: true, help: "TP + FP: samples predicted as the class" } },
      ...OUTCOMES.map((o): ColumnDef<ClassificationRow, unknown> => ({ accessorKey: o, header: OUTCOME_SHORT[o], meta: { num: true }, cell: countCell(o) })),
      { accessorKey: "precision", header: "Precision", meta: { num: true }, cell: num, sortUndefined: "last" },
      { accessorKey: "recall", header: "Recall", meta: { num: true }, cell: num, sortUndefined: "last" },
      { accessorKey: "f1", header: "F1", meta: { num: true }, cell: num, sortUndefined: "last" },
      { accessorKey: "roc_auc", header: "AUC", meta: { num: true, help: "One-vs-rest ROC AUC (threshold-free)" }, cell: num },
      { accessorKey: "average_precision", header: "AP", meta: { num: true, help: "Average precision (threshold-free)" }, cell: num },
    ];
  }, [showFeed, ev.id, view.threshold]);

  const actualOptions = multilabel ? [...ev.classes, NO_LABEL] : ev.classes;
  const predictedOptions = t > 0 || multilabel ? [...ev.classes, BELOW_THRESHOLD] : ev.classes;

  return (
    <div className="page" data-testid="classification-page">
      <EvalHeader ev={ev} />
      <Highlights ev={ev} s={shown} atDefault={atDefault} threshold={t} busy={summary.isFetching && !atDefault} />

      <div className="threshold-bar" data-testid="threshold-bar">
        <SliderField
          label="Threshold"
          value={threshold}
          min={0}
          max={1}
          step={0.01}
          onChange={setThreshold}
          testid="threshold-slider"
          hint={
            !multilabel && (
              <span className="muted small" data-testid="threshold-mode">
                {threshold === 0 ? "argmax: every sample gets its top class (scikit-learn's numbers)" : "samples whose top score is below it get no prediction"}
              </span>
            )
          }
        />
        <div className="threshold-actions">
          <select className="select" value={optMetric} onChange={(e) => setOptMetric(OPT_METRICS.find((m) => m.value === e.target.value)?.value ?? "f1")} data-testid="optimize-metric" aria-label="Metric to optimise">
            {OPT_METRICS.map((m) => (
              <option key={m.value} value={m.value}>Optimise {m.label}</option>
            ))}
          </select>
          <button className="btn btn-primary" onClick={goOptimal} disabled={optBusy} data-testid="back-to-optimal">
            {optBusy ? "Searching…" : "Back to optimal"}
          </button>
          <button className="btn" onClick={() => setView({ threshold: undefined })} disabled={threshold === defaultT} data-testid="reset-threshold">
            Default ({multilabel || defaultT > 0 ? defaultT.toFixed(2) : "argmax"})
          </button>
          {!multilabel && defaultT > 0 && (
            <button className="btn" onClick={() => setView({ threshold: 0 })} disabled={threshold === 0} data-testid="argmax-threshold">
              Argmax
            </button>
          )}
          {known && typeof known.threshold === "number" && (
            <span className="muted small" data-testid="optimal-note" data-threshold={known.threshold}>
              optimal t = {known.threshold.toFixed(2)} ({OPT_METRICS.find((m) => m.value === optMetric)?.label} {fmt(known.value)})
            </span>
          )}
          {optError && <span className="error-text small" role="alert">{optError}</span>}
        </div>
      </div>

      {ev.folds && ev.folds.folds.length > 1 && <FoldsPanel folds={ev.folds} threshold={ev.point.threshold} />}
      <Panel title="Per class" testid="per-class" busy={labels.isPlaceholderData}>
        {labels.error && !labels.data ? (
          <ErrorState error={labels.error} onRetry={() => void labels.refetch()} />
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
            busy={labels.isFetching}
            height={460}
          />
        )}
      </Panel>
      {labels.data && (
        <Panel title="Precision and recall per class" testid="per-class-chart-panel">
          <PerClassChart evalId={ev.id} rows={labels.data.items} point={view.threshold === undefined ? {} : { threshold: view.threshold }} height={320} />
        </Panel>
      )}
      <div className="grid-2 grid-even">
        <ConfusionPanel
          evalId={ev.id}
          nClasses={ev.n_classes}
          sliders={sliders}
          modes={[
            { value: "none", label: "Counts" },
            { value: "true", label: "Row %" },
            { value: "probability", label: "Avg. probability" },
          ]}
          onCell={(actual, predicted) => showFeed({ actual, predicted })}
          selected={filter}
          labelLink={(name) => labelHref(ev.id, name, view.threshold === undefined ? {} : { threshold: view.threshold })}
        />
        <ClassificationCurves evalId={ev.id} classes={ev.classes} threshold={t} selective={!multilabel} />
      </div>

      <div ref={feedRef} className="scroll-anchor">
        <FeedOrTable
          feed={
            <SampleFeed
              evalId={ev.id}
              media={ev.media}
              actualOptions={actualOptions}
              predictedOptions={predictedOptions}
              sliders={sliders}
              filter={filter}
              setFilter={(patch) => setView(patch)}
              onOpen={(s) => setView({ sample: s.index })}
            />
          }
          table={
            <SampleTable
              evalId={ev.id}
              actualOptions={actualOptions}
              predictedOptions={predictedOptions}
              sliders={sliders}
              filter={filter}
              setFilter={(patch) => setView(patch)}
              onOpen={(s) => setView({ sample: s.index })}
            />
          }
        />
      </div>
      {view.sample !== undefined && <SampleView evalId={ev.id} index={view.sample} sliders={sliders} onClose={() => setView({ sample: undefined })} />}
    </div>
  );
}
