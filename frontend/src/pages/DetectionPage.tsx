import { useCallback, useMemo, useRef, useState } from "react";
import type { ColumnDef } from "@tanstack/react-table";
import { api, type OptimalMetric } from "../api/client";
import type { EvaluationDetail, LabelRow, Num, Sample } from "../api/types";
import { useDebounced, useQuery } from "../hooks";
import { fmt } from "../format";
import { COCO_HELP } from "../metricsHelp";
import { DataTable } from "../components/DataTable";
import { ConfusionPanel } from "../components/ConfusionMatrix";
import { DetectionPrCurve } from "../components/Curves";
import { DEFAULT_DET_FILTER, SampleFeed, type FeedFilter } from "../components/SampleFeed";
import { DetectionImageView } from "../components/SampleView";
import { ErrorState, Panel, SliderField, Spinner } from "../components/common";
import { EvalHeader } from "./EvaluationPage";

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
function Protocols({ p }: { p: Record<string, unknown> | undefined }) {
  if (!p) return <p className="muted">No other protocol was computed for this evaluation.</p>;
  const names = Array.isArray(p.protocols)
    ? (p.protocols as string[])
    : Object.keys(p).filter((k) => typeof p[k] === "object" && p[k] !== null && !k.startsWith("per_class"));
  const perClass = (p.per_class_AP50 ?? null) as Record<string, Record<string, Num>> | null;
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
            const row = (p[n] ?? {}) as Record<string, Num>;
            return (
              <tr key={n}>
                <td>{PROTOCOL_NAMES[n] ?? prettyProtocol(n)}</td>
                {cols.map((c) => (
                  <td key={c} className="num">{fmt(row[c] ?? null)}</td>
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
            {Object.entries(perClass).map(([label, row]) => (
              <tr key={label}>
                <td className="strong">{label}</td>
                {names.map((n) => (
                  <td key={n} className="num">{fmt(row[n] ?? null)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

const prettyProtocol = (k: string) =>
  k.replace(/_/g, " ").replace(/\bvoc\b/i, "VOC").replace(/\bcoco\b/i, "COCO");

export function DetectionPage({ ev }: { ev: EvaluationDetail }) {
  const optIou = ev.optimal?.iou ?? 0.5;
  const optScore = ev.optimal?.score ?? 0.5;
  const [iou, setIou] = useState(optIou);
  const [score, setScore] = useState(optScore);
  const dIou = useDebounced(iou, 150);
  const dScore = useDebounced(score, 150);
  const [filter, setFilter] = useState<FeedFilter>(DEFAULT_DET_FILTER);
  const [open, setOpen] = useState<Sample | null>(null);
  const feedRef = useRef<HTMLDivElement>(null);
  const sliders = useMemo(() => ({ iou: dIou, score: dScore }), [dIou, dScore]);

  const labels = useQuery((s) => api.labels(ev.id, sliders, s), [ev.id, dIou, dScore]);

  // Overall P / R / F1 and TP / FP / FN at (IoU, confidence), from the server (GET /summary).
  const summary = useQuery((s) => api.summary(ev.id, sliders, s), [ev.id, dIou, dScore]);
  const totals = summary.data?.summary ?? {};
  const [optMetric, setOptMetric] = useState<OptimalMetric>("f1");
  const [optBusy, setOptBusy] = useState(false);
  const [optError, setOptError] = useState<string | null>(null);
  const goOptimal = async () => {
    // The confidence maximising the metric at the current IoU (GET /optimal, cached server-side).
    setOptBusy(true);
    setOptError(null);
    try {
      const o = await api.optimal(ev.id, { metric: optMetric, iou });
      if (typeof o.score === "number") setScore(o.score);
    } catch (e) {
      setOptError(e instanceof Error ? e.message : String(e));
    } finally {
      setOptBusy(false);
    }
  };

  const showFeed = useCallback((f: Partial<FeedFilter>) => {
    setFilter((prev) => ({ sort: prev.sort, descending: prev.descending, ...f }));
    feedRef.current?.scrollIntoView({ behavior: "smooth", block: "start" });
  }, []);

  const num = (key: keyof LabelRow, header: string, help?: string): ColumnDef<LabelRow, unknown> => ({
    accessorKey: key,
    header,
    meta: { num: true, help },
    cell: (c) => fmt(c.getValue() as Num),
    sortUndefined: "last",
  });
  const count = (kind: "tp" | "fp" | "fn"): ColumnDef<LabelRow, unknown> => ({
    accessorKey: kind,
    header: kind.toUpperCase(),
    meta: { num: true },
    cell: ({ row, getValue }) => (
      <button
        className={`count-link count-${kind}`}
        data-testid={`count-${kind}`}
        title={`Show the images with a ${kind.toUpperCase()} box of ${row.original.label}`}
        onClick={() => showFeed({ label: row.original.label, outcome: kind })}
      >
        {String(getValue())}
      </button>
    ),
  });
  const columns: ColumnDef<LabelRow, unknown>[] = [
    { accessorKey: "label", header: "Class", cell: (c) => <span className="strong">{String(c.getValue())}</span> },
    num("AP", "AP .50:.95", COCO_HELP.AP),
    num("AP50", "AP .50", COCO_HELP.AP50),
    num("AP75", "AP .75", COCO_HELP.AP75),
    num("APs", "AP S", COCO_HELP.APs),
    num("APm", "AP M", COCO_HELP.APm),
    num("APl", "AP L", COCO_HELP.APl),
    num("AR100", "AR 100", COCO_HELP.AR100),
    count("tp"),
    count("fp"),
    count("fn"),
    num("precision", "P"),
    num("recall", "R"),
    num("f1", "F1"),
  ];

  const coco = ev.coco ?? {};

  return (
    <div className="page" data-testid="detection-page">
      <EvalHeader ev={ev} />
      <div className="highlights" data-testid="coco-summary">
        {COCO_KEYS.filter((k) => k in coco).map((k) => {
          const ci = ev.intervals?.[k];
          return (
            <div className="metric-card" key={k} tabIndex={0} data-testid={`coco-${k}`}>
              <div className="metric-label">{COCO_NAMES[k]} <span className="info" aria-hidden>i</span></div>
              <div className="metric-value">{fmt(coco[k])}</div>
              <div className="metric-ci">{ci ? `95% CI ${fmt(ci.low)} – ${fmt(ci.high)}` : " "}</div>
              <div className="tooltip" role="tooltip">
                <strong>{COCO_NAMES[k]}</strong>
                <p>{COCO_HELP[k]}</p>
                <p className="muted">COCO protocol (pycocotools semantics): greedy per-class matching by score, 101-point interpolated precision, maxDets 100 unless stated.</p>
              </div>
            </div>
          );
        })}
      </div>

      <div className="threshold-bar" data-testid="threshold-bar">
        <SliderField label="IoU" value={iou} min={0.05} max={0.95} step={0.05} onChange={setIou} testid="iou-slider" />
        <SliderField label="Confidence" value={score} min={0} max={1} step={0.01} onChange={setScore} testid="score-slider" />
        <div className="threshold-actions">
          <select className="select" value={optMetric} onChange={(e) => setOptMetric(e.target.value as OptimalMetric)} data-testid="optimize-metric" aria-label="Metric to optimise">
            {DET_OPT_METRICS.map((m) => (
              <option key={m.value} value={m.value}>Optimise {m.label}</option>
            ))}
          </select>
          <button className="btn btn-primary" onClick={goOptimal} disabled={optBusy} data-testid="back-to-optimal" title="The confidence that maximises the metric at this IoU">
            {optBusy ? "Searching…" : "Back to optimal"}
          </button>
          {optError && <span className="error-text small" role="alert">{optError}</span>}
          <span className={`prf ${summary.loading ? "is-busy" : ""}`} data-testid="det-prf">
            <span>P <strong>{fmt(totals.precision ?? null)}</strong></span>
            <span>R <strong>{fmt(totals.recall ?? null)}</strong></span>
            <span>F1 <strong>{fmt(totals.f1 ?? null)}</strong></span>
            <span className="muted small">{totals.tp ?? "…"} TP · {totals.fp ?? "…"} FP · {totals.fn ?? "…"} FN</span>
          </span>
        </div>
      </div>

      <Panel title="Per class" testid="ap-table" busy={labels.loading && !!labels.data}>
          {labels.error && !labels.data ? (
            <ErrorState error={labels.error} onRetry={labels.reload} />
          ) : !labels.data ? (
            <Spinner />
          ) : (
            <DataTable data={labels.data.items} columns={columns} rowKey={(r) => r.label} filterPlaceholder="Filter classes…" testid="ap-table-grid" rowTestid="class-row" busy={labels.loading} height={420} />
          )}
      </Panel>
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
        />
        <DetectionPrCurve evalId={ev.id} classes={ev.classes} iou={dIou} />
      </div>
      <Panel title="AP under other protocols" testid="protocols">
        <Protocols p={ev.protocols as Record<string, unknown> | undefined} />
      </Panel>

      <div ref={feedRef} className="scroll-anchor">
        <SampleFeed
          evalId={ev.id}
          media="image"
          classes={ev.classes}
          sliders={sliders}
          filter={filter}
          setFilter={setFilter}
          onOpen={setOpen}
          detection
          extraColumns={["Not detected"]}
          extraRows={["Not an object"]}
        />
      </div>
      {open && <DetectionImageView evalId={ev.id} sample={open} sliders={sliders} onClose={() => setOpen(null)} />}
    </div>
  );
}
