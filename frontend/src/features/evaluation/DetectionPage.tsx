import { useCallback, useMemo, useRef, useState } from "react";
import type { ColumnDef } from "@tanstack/react-table";
import type { DetectionRow, DetectionSummary, EvaluationDetail, Num, OptimalMetric } from "../../api/client";
import { detectionAnswer } from "../../api/answers";
import { ErrorTypesPanel } from "./ErrorTypes";
import { field, numberField, objectField, stringList } from "../../lib/fields";
import { useDetectionLabels, useDetectionOptimal, useDetectionSummary } from "./hooks";
import { useDebounced } from "../../lib/hooks";
import { fmt, truncateLabel } from "../../format";
import { COCO_HELP } from "./metricsHelp";
import { NOT_AN_OBJECT, NOT_DETECTED, OUTCOME_SHORT, OUTCOMES, type Outcome } from "../../lib/vocabulary";
import { labelHref, setView, useView } from "../../routes";
import { PerClassChart } from "../labels/PerClassChart";
import { DataTable } from "../../components/DataTable";
import { ConfusionPanel } from "./ConfusionMatrix";
import { DetectionPrCurve } from "./Curves";
import { SampleFeed, type FeedFilter } from "./SampleFeed";
import { FeedOrTable } from "./SampleTable";
import { DetectionSampleTable } from "./DetectionSampleTable";
import { DetectionImageView } from "./SampleView";
import { EvalHeader } from "./EvalHeader";
import { ErrorState, Panel, SliderField, Spinner } from "../../components/common";

const COCO_KEYS = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"];
const COCO_NAMES: Record<string, string> = {
  AP: "AP @[.50:.95]",
  AP50: "AP @.50",
  AP75: "AP @.75",
  APs: "AP small",
  APm: "AP medium",
  APl: "AP large",
  AR1: "AR @1",
  AR10: "AR @10",
  AR100: "AR @100",
  ARs: "AR small",
  ARm: "AR medium",
  ARl: "AR large",
};

const DET_OPT_METRICS: { value: OptimalMetric; label: string }[] = [
  { value: "f1", label: "F1" },
  { value: "precision", label: "Precision" },
  { value: "recall", label: "Recall" },
];

const PROTOCOL_NAMES: Record<string, string> = {
  coco_101: "COCO (101-point interpolation)",
  voc_11: "Pascal VOC 2007 (11-point)",
  all_point: "VOC 2010+ (all points)",
};

/** AP of each protocol (rows) at IoU .50:.95 / .50 / .75, then AP50 per class and protocol. */
function Protocols({ p }: { p: object | null | undefined }) {
  if (!p) return <p className="muted">No other protocol was computed for this evaluation.</p>;
  const names = stringList(field(p, "protocols")) ?? Object.keys(p).filter((k) => objectField(p, k) !== null && !k.startsWith("per_class"));
  const perClass = objectField(p, "per_class_AP50");
  const cols = ["AP", "AP50", "AP75"];
  return (
    <div className="protocols" data-testid="protocols-table">
      <table className="table table-dense">
        <thead>
          <tr>
            <th>Protocol</th>
            {cols.map((c) => (
              <th key={c} className="num">{c === "AP" ? "AP .50:.95" : c === "AP50" ? "AP .50" : "AP .75"}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {names.map((n) => {
            const row = objectField(p, n);
            return (
              <tr key={n}>
                <td>{PROTOCOL_NAMES[n] ?? prettyProtocol(n)}</td>
                {cols.map((c) => (
                  <td key={c} className="num">{fmt(numberField(row, c))}</td>
                ))}
              </tr>
            );
          })}
        </tbody>
      </table>
      {perClass && (
        <table className="table table-dense">
          <thead>
            <tr>
              <th>AP .50 per class</th>
              {names.map((n) => (
                <th key={n} className="num">{prettyProtocol(n)}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {Object.keys(perClass).map((label) => (
              <tr key={label}>
                <td className="strong" title={label}>{truncateLabel(label, 40)}</td>
                {names.map((n) => (
                  <td key={n} className="num">{fmt(numberField(objectField(perClass, label), n))}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

/**
 * COCO's mAP at each IoU threshold .50, .55, …, .95 (their mean is AP .50:.95), a bar each; the
 * page's IoU is marked, and a bar sets it.
 */
function ApPerIou({ rows, iou, setIou }: { rows: { iou: number; AP: Num }[]; iou: number; setIou: (v: number) => void }) {
  if (!rows.length) return <p className="muted">This evaluation has no AP per IoU.</p>;
  return (
    <div className="ap-iou" data-testid="ap-per-iou">
      {rows.map((r) => {
        const here = Math.abs(r.iou - iou) < 1e-6;
        return (
          <button
            key={r.iou}
            className={`ap-iou-col ${here ? "is-current" : ""}`}
            onClick={() => setIou(r.iou)}
            title={`mAP at IoU ${r.iou.toFixed(2)}: ${fmt(r.AP)}. Click: take the page to this IoU.`}
            aria-pressed={here}
            data-testid="ap-iou"
            data-iou={r.iou}
            data-ap={r.AP ?? ""}
          >
            <span className="ap-iou-value">{fmt(r.AP)}</span>
            <span className="ap-iou-track">
              <span className="ap-iou-bar" style={{ height: `${Math.max(0, Math.min(1, r.AP ?? 0)) * 100}%` }} />
            </span>
            <span className="ap-iou-label">{r.iou.toFixed(2)}</span>
          </button>
        );
      })}
    </div>
  );
}

const prettyProtocol = (k: string) =>
  k.replace(/_/g, " ").replace(/\bvoc\b/i, "VOC").replace(/\bcoco\b/i, "COCO");

export function DetectionPage({ ev }: { ev: EvaluationDetail }) {
  const view = useView();
  const defaultIou = ev.point.iou ?? 0.5;
  const defaultScore = ev.point.score ?? 0;
  const iou = view.iou ?? defaultIou;
  const score = view.score ?? defaultScore;
  const dIou = useDebounced(iou, 150);
  const dScore = useDebounced(score, 150);
  const feedRef = useRef<HTMLDivElement>(null);
  const sliders = useMemo(() => ({ iou: dIou, score: dScore }), [dIou, dScore]);
  const filter: FeedFilter = {
    actual: view.actual,
    predicted: view.predicted,
    label: view.label,
    outcome: view.outcome,
    errors: view.errors,
    sort: view.sort ?? "errors",
    desc: view.desc ?? true,
  };

  const labels = useDetectionLabels(ev.id, sliders);
  // Overall P / R / F1 and TP / FP / FN at (IoU, confidence), from the server (GET /summary).
  const atDefault = Math.abs(dIou - defaultIou) < 1e-9 && Math.abs(dScore - defaultScore) < 1e-9;
  const summary = useDetectionSummary(ev.id, sliders, !atDefault);
  const coco: DetectionSummary = detectionAnswer(ev.summary);
  const totals: DetectionSummary = !atDefault && summary.data ? summary.data : coco;
  const [optMetric, setOptMetric] = useState<OptimalMetric>("f1");
  const optimal = useDetectionOptimal(ev, optMetric, iou);
  const known = optimal.query.data;
  const [optBusy, setOptBusy] = useState(false);
  const [optError, setOptError] = useState<string | null>(null);
  const goOptimal = async () => {
    // The confidence maximising the metric at the current IoU (GET /optimal, cached).
    setOptBusy(true);
    setOptError(null);
    try {
      const o = await optimal.fetch();
      if (typeof o.score === "number") setView({ score: o.score });
    } catch (e) {
      setOptError(e instanceof Error ? e.message : String(e));
    } finally {
      setOptBusy(false);
    }
  };

  const showFeed = useCallback((f: Partial<FeedFilter>) => {
    setView({ actual: undefined, predicted: undefined, label: undefined, outcome: undefined, ...f, sample: undefined });
    feedRef.current?.scrollIntoView({ behavior: "smooth", block: "start" });
  }, []);

  const columns = useMemo<ColumnDef<DetectionRow, unknown>[]>(() => {
    const num = (key: keyof DetectionRow, header: string, help?: string): ColumnDef<DetectionRow, unknown> => ({
      accessorKey: key,
      header,
      meta: { num: true, help },
      cell: (c) => fmt(numberField(c.row.original, key)),
      sortUndefined: "last",
    });
    const count = (kind: Outcome): ColumnDef<DetectionRow, unknown> => ({
      accessorKey: kind,
      header: OUTCOME_SHORT[kind],
      meta: { num: true },
      cell: ({ row, getValue }) => (
        <button
          className={`count-link count-${kind}`}
          data-testid={`count-${kind}`}
          title={`Show the images with a ${OUTCOME_SHORT[kind]} box of ${row.original.label}`}
          onClick={() => showFeed({ label: row.original.label, outcome: kind })}
        >
          {String(getValue())}
        </button>
      ),
    });
    return [
      {
        accessorKey: "label",
        header: "Class",
        cell: (c) => (
          <a className="strong" href={labelHref(ev.id, String(c.getValue()), { iou: view.iou, score: view.score })} title={`${String(c.getValue())}: its page (precision, recall, TP / FN / FP side by side)`} data-testid="class-link">
            {truncateLabel(String(c.getValue()), 40)}
          </a>
        ),
      },
      num("AP", "AP .50:.95", COCO_HELP.AP),
      num("AP50", "AP .50", COCO_HELP.AP50),
      num("AP75", "AP .75", COCO_HELP.AP75),
      num("APs", "AP S", COCO_HELP.APs),
      num("APm", "AP M", COCO_HELP.APm),
      num("APl", "AP L", COCO_HELP.APl),
      num("AR100", "AR 100", COCO_HELP.AR100),
      ...OUTCOMES.map(count),
      num("precision", "P"),
      num("recall", "R"),
      num("f1", "F1"),
    ];
  }, [showFeed, ev.id, view.iou, view.score]);

  const perIou = ev.extra?.per_iou ?? [];
  const atStored = view.iou === undefined && view.score === undefined;
  const macroAp = coco.macro_over?.AP;

  return (
    <div className="page" data-testid="detection-page">
      <EvalHeader ev={ev} />
      <div className="highlights" data-testid="coco-summary">
        {COCO_KEYS.filter((k) => k in coco).map((k) => {
          const ci = ev.intervals?.[k];
          return (
            <div className="metric-card" key={k} tabIndex={0} data-testid={`coco-${k}`}>
              <div className="metric-label">{COCO_NAMES[k]} <span className="info" aria-hidden>i</span></div>
              <div className="metric-value">{fmt(numberField(coco, k))}</div>
              <div className="metric-ci" data-testid={`coco-${k}-ci`}>{ci ? `95% CI ${fmt(ci.low)} – ${fmt(ci.high)}` : " "}</div>
              {k.startsWith("AP") && macroAp != null && <div className="metric-sub">macro over {macroAp} of {coco.n_classes} classes</div>}
              <div className="tooltip" role="tooltip">
                <strong>{COCO_NAMES[k]}</strong>
                <p>{COCO_HELP[k]}</p>
                <p className="muted">COCO protocol (pycocotools semantics): greedy per-class matching by score, 101-point interpolated precision, maxDets 100 unless stated. Classes without ground truth are left out of the mean.</p>
              </div>
            </div>
          );
        })}
      </div>

      <div className="threshold-bar" data-testid="threshold-bar">
        <SliderField label="IoU" value={iou} min={0.05} max={0.95} step={0.05} onChange={(v) => setView({ iou: v }, { coalesce: "iou" })} testid="iou-slider" />
        <SliderField label="Confidence" value={score} min={0} max={1} step={0.01} onChange={(v) => setView({ score: v }, { coalesce: "score" })} testid="score-slider" />
        <div className="threshold-actions">
          <select className="select" value={optMetric} onChange={(e) => setOptMetric(DET_OPT_METRICS.find((m) => m.value === e.target.value)?.value ?? "f1")} data-testid="optimize-metric" aria-label="Metric to optimise">
            {DET_OPT_METRICS.map((m) => (
              <option key={m.value} value={m.value}>Optimise {m.label}</option>
            ))}
          </select>
          <button className="btn btn-primary" onClick={goOptimal} disabled={optBusy} data-testid="back-to-optimal" title="The confidence that maximises the metric at this IoU">
            {optBusy ? "Searching…" : "Back to optimal"}
          </button>
          <button
            className="btn"
            onClick={() => setView({ iou: undefined, score: undefined })}
            disabled={atStored}
            data-testid="back-to-default"
            title={`The evaluation's stored point: IoU ${defaultIou.toFixed(2)}, confidence ${defaultScore.toFixed(2)}`}
          >
            Default
          </button>
          {known && (
            <span className="muted small" data-testid="optimal-note" data-score={known.score}>
              optimal conf = {known.score.toFixed(2)} at IoU {known.iou.toFixed(2)} ({DET_OPT_METRICS.find((m) => m.value === optMetric)?.label} {fmt(known.value)})
            </span>
          )}
          {optError && <span className="error-text small" role="alert">{optError}</span>}
          <span className={`prf ${summary.isFetching && !atDefault ? "is-busy" : ""}`} data-testid="det-prf">
            <span>P <strong>{fmt(totals.precision)}</strong></span>
            <span>R <strong>{fmt(totals.recall)}</strong></span>
            <span>F1 <strong>{fmt(totals.f1)}</strong></span>
            <span className="muted small">{totals.tp ?? "…"} TP · {totals.fp ?? "…"} FP · {totals.fn ?? "…"} FN</span>
          </span>
        </div>
      </div>

      <Panel title="Per class" testid="ap-table" busy={labels.isPlaceholderData}>
        {labels.error && !labels.data ? (
          <ErrorState error={labels.error} onRetry={() => void labels.refetch()} />
        ) : !labels.data ? (
          <Spinner />
        ) : (
          <DataTable data={labels.data.items} columns={columns} rowKey={(r) => r.label} filterPlaceholder="Filter classes…" testid="ap-table-grid" rowTestid="class-row" busy={labels.isFetching} height={420} />
        )}
      </Panel>
      {labels.data && (
        <Panel title="Precision and recall per class" testid="per-class-chart-panel">
          <PerClassChart evalId={ev.id} rows={labels.data.items} point={{ iou: view.iou, score: view.score }} height={320} />
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
          ]}
          onCell={(a, p) => showFeed({ actual: a, predicted: p })}
          selected={filter}
          labelLink={(name) => labelHref(ev.id, name, { iou: view.iou, score: view.score })}
        />
        <DetectionPrCurve evalId={ev.id} classes={ev.classes} iou={dIou} score={dScore} />
      </div>
      <ErrorTypesPanel evalId={ev.id} classes={ev.classes} onOpen={(f) => { setView({ iou: 0.5, score: 0 }); showFeed(f); }} onSample={(i) => setView({ iou: 0.5, score: 0, sample: i })} />
      <Panel title="AP at each IoU (COCO, all classes)" testid="ap-iou-panel">
        <ApPerIou rows={perIou} iou={iou} setIou={(v) => setView({ iou: v })} />
        <p className="muted small">The mean of the ten is AP .50:.95 ({fmt(coco.AP)}); the bar at the page&apos;s IoU is marked, and a bar takes the page to its IoU.</p>
      </Panel>
      <Panel title="AP under other protocols" testid="protocols">
        <Protocols p={ev.extra} />
      </Panel>

      <div ref={feedRef} className="scroll-anchor">
        <FeedOrTable
          feed={
            <SampleFeed
              evalId={ev.id}
              media="image"
              actualOptions={[...ev.classes, NOT_AN_OBJECT]}
              predictedOptions={[...ev.classes, NOT_DETECTED]}
              sliders={sliders}
              filter={filter}
              setFilter={(patch) => setView(patch)}
              onOpen={(s) => setView({ sample: s.index })}
              detection
            />
          }
          table={
            <DetectionSampleTable
              evalId={ev.id}
              classes={ev.classes}
              actualOptions={[...ev.classes, NOT_AN_OBJECT]}
              predictedOptions={[...ev.classes, NOT_DETECTED]}
              sliders={sliders}
              filter={filter}
              setFilter={(patch) => setView(patch)}
              onOpen={(s) => setView({ sample: s.index })}
            />
          }
        />
      </div>
      {view.sample !== undefined && <DetectionImageView evalId={ev.id} index={view.sample} sliders={sliders} onClose={() => setView({ sample: undefined })} />}
    </div>
  );
}
