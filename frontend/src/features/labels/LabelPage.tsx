// One label's page (#/evaluations/<id>/labels/<name>): its precision, recall and F1 at the current
// point (the evaluation's stored point, then the slider), its TP, FN and FP galleries side by side
// (the feed's cards; detection: images with their boxes) following the slider, and every class's
// precision / recall to move to another label.
import { useEffect, useMemo } from "react";
import { ApiError, isDetectionItem, type ClassificationItem, type EvaluationDetail, type SampleItem, type SliderParams } from "../../api/client";
import { Empty, ErrorState, Panel, SliderField, Spinner } from "../../components/common";
import { fmt, truncateLabel } from "../../format";
import { useDebounced } from "../../lib/hooks";
import type { Outcome } from "../../lib/vocabulary";
import { evaluationHref, labelHref, navigate, setView, useView, type Crumb, type ViewState } from "../../routes";
import { useEvaluation } from "../evaluation/hooks";
import { DetectionCard, SampleCard, TextRow } from "../evaluation/SampleFeed";
import { SampleView } from "../evaluation/SampleView";
import { GALLERY, useClassRows, useGallery } from "./api";
import { PerClassChart } from "./PerClassChart";
import type { ClassRow } from "./perClass";
import "./labels.css";

const GALLERIES: { outcome: Outcome; title: string; help: string }[] = [
  { outcome: "tp", title: "True positives", help: "labeled as this class and predicted as it" },
  { outcome: "fn", title: "False negatives", help: "labeled as this class, predicted otherwise (or not at all)" },
  { outcome: "fp", title: "False positives", help: "predicted as this class, labeled otherwise" },
];

export function LabelPage({ id, label, setCrumbs }: { id: number; label: string; setCrumbs: (c: Crumb[]) => void }) {
  const ev = useEvaluation(id);
  const name = ev.data?.name;
  useEffect(() => {
    setCrumbs([{ label: name ?? `Evaluation ${id}`, href: evaluationHref(id) }, { label: label }]);
  }, [name, id, label, setCrumbs]);
  if (ev.error) {
    if (ev.error instanceof ApiError && ev.error.status === 404)
      return (
        <Empty title="Evaluation not found">
          There is no evaluation {id} in this workspace. <a href="#/">Back to evaluations</a>
        </Empty>
      );
    return <ErrorState error={ev.error} onRetry={() => void ev.refetch()} />;
  }
  if (!ev.data) return <Spinner />;
  if (ev.data.predictions_only || ev.data.status !== "done")
    return (
      <Empty title="No per-label numbers">
        This evaluation has no labels or is not finished. <a href={evaluationHref(id)}>Back to it</a>
      </Empty>
    );
  if (!ev.data.classes.includes(label))
    return (
      <Empty title="Label not found">
        Evaluation {id} has no class “{truncateLabel(label, 60)}”. <a href={evaluationHref(id)}>Back to its classes</a>
      </Empty>
    );
  return <LabelBody ev={ev.data} label={label} />;
}

function LabelBody({ ev, label }: { ev: EvaluationDetail; label: string }) {
  const view = useView();
  const detection = ev.task === "detection";
  const multilabel = ev.task === "multilabel";
  const defaultT = ev.point.threshold ?? (multilabel ? 0.5 : 0);
  const defaultIou = ev.point.iou ?? 0.5;
  const defaultScore = ev.point.score ?? 0;
  const threshold = view.threshold ?? defaultT;
  const iou = view.iou ?? defaultIou;
  const score = view.score ?? defaultScore;
  const dT = useDebounced(threshold, 150);
  const dIou = useDebounced(iou, 150);
  const dScore = useDebounced(score, 150);
  const sliders: SliderParams = useMemo(() => (detection ? { iou: dIou, score: dScore } : { threshold: dT }), [detection, dT, dIou, dScore]);
  // the point the other label pages (and the evaluation page) open at: only what differs from the stored one
  const point: ViewState = detection ? { iou: view.iou, score: view.score } : { threshold: view.threshold };
  const rows = useClassRows(ev.id, sliders);
  const row = rows.data?.find((r) => r.label === label);
  const atStored = detection ? view.iou === undefined && view.score === undefined : view.threshold === undefined;
  const open = (s: SampleItem) => setView({ sample: s.index });

  return (
    <div className="page label-page" data-testid="label-page" data-label={label}>
      <div className="page-head">
        <div>
          <h1 data-testid="label-title">
            {truncateLabel(label, 60)} <span className="muted small">· one label</span>
          </h1>
          <p className="muted">
            <a href={evaluationHref(ev.id, point)} data-testid="label-back">
              ← {ev.name}
            </a>
            {" · "}
            {detection ? `IoU ${iou.toFixed(2)}, confidence ${score.toFixed(2)}` : threshold === 0 && !multilabel ? "argmax (no threshold)" : `threshold ${threshold.toFixed(2)}`}
            {atStored ? " (the evaluation's stored point)" : ""}
          </p>
        </div>
        <label className="label-picker">
          <span className="muted small">Label</span>
          <select className="select" value={label} onChange={(e) => navigate(labelHref(ev.id, e.target.value, point))} data-testid="label-picker">
            {ev.classes.map((c) => (
              <option key={c} value={c}>
                {truncateLabel(c, 50)}
              </option>
            ))}
          </select>
        </label>
      </div>

      <div className="threshold-bar label-sliders" data-testid="label-sliders">
        {detection ? (
          <>
            <SliderField label="IoU" value={iou} min={0.05} max={0.95} step={0.05} onChange={(v) => setView({ iou: v }, { coalesce: "iou" })} testid="label-iou" />
            <SliderField label="Confidence" value={score} min={0} max={1} step={0.01} onChange={(v) => setView({ score: v }, { coalesce: "score" })} testid="label-score" />
          </>
        ) : (
          <SliderField label="Threshold" value={threshold} min={0} max={1} step={0.01} onChange={(v) => setView({ threshold: v }, { coalesce: "threshold" })} testid="label-threshold" />
        )}
        <button className="btn" onClick={() => setView({ threshold: undefined, iou: undefined, score: undefined })} disabled={atStored} data-testid="label-reset">
          Stored point
        </button>
      </div>

      {rows.error && !rows.data ? (
        <ErrorState error={rows.error} onRetry={() => void rows.refetch()} />
      ) : !row ? (
        <Spinner />
      ) : (
        <Metrics row={row} busy={rows.isPlaceholderData} detection={detection} />
      )}

      <div className="label-galleries">
        {GALLERIES.map((g) => (
          <Gallery key={g.outcome} ev={ev} label={label} outcome={g.outcome} title={g.title} help={g.help} sliders={sliders} count={row?.[g.outcome]} onOpen={open} />
        ))}
      </div>

      <Panel title="Precision and recall of every class" testid="label-all-classes">
        {rows.data ? <PerClassChart evalId={ev.id} rows={rows.data} point={point} current={label} height={360} /> : <Spinner />}
      </Panel>
      {view.sample !== undefined && <SampleView evalId={ev.id} index={view.sample} sliders={sliders} onClose={() => setView({ sample: undefined })} />}
    </div>
  );
}

function Metrics({ row, busy, detection }: { row: ClassRow; busy: boolean; detection: boolean }) {
  const unit = detection ? "boxes" : "samples";
  const cards: { key: string; label: string; value: string; help: string; cls?: string }[] = [
    { key: "precision", label: "Precision", value: fmt(row.precision), help: "TP / (TP + FP)" },
    { key: "recall", label: "Recall", value: fmt(row.recall), help: "TP / (TP + FN)" },
    { key: "f1", label: "F1", value: fmt(row.f1), help: "harmonic mean of precision and recall" },
    { key: "tp", label: "TP", value: row.tp.toLocaleString(), help: `${unit} labeled and predicted as this class`, cls: "tp" },
    { key: "fn", label: "FN", value: row.fn.toLocaleString(), help: `${unit} of this class missed or predicted as another`, cls: "fn" },
    { key: "fp", label: "FP", value: row.fp.toLocaleString(), help: `${unit} predicted as this class, labeled otherwise`, cls: "fp" },
    { key: "labeled", label: "Labeled", value: row.total_labeled.toLocaleString(), help: "TP + FN" },
  ];
  return (
    <div className={`label-metrics ${busy ? "is-busy" : ""}`} data-testid="label-metrics">
      {cards.map((c) => (
        <div key={c.key} className={`label-metric ${c.cls ?? ""}`} title={c.help} data-testid={`label-metric-${c.key}`}>
          <span className="muted small">{c.label}</span>
          <span className="value">{c.value}</span>
        </div>
      ))}
    </div>
  );
}

function Gallery({
  ev,
  label,
  outcome,
  title,
  help,
  sliders,
  count,
  onOpen,
}: {
  ev: EvaluationDetail;
  label: string;
  outcome: Outcome;
  title: string;
  help: string;
  sliders: SliderParams;
  count?: number;
  onOpen: (s: SampleItem) => void;
}) {
  const detection = ev.task === "detection";
  const q = useGallery(ev.id, label, outcome, sliders, detection);
  const items = q.data?.items ?? [];
  const rowsOnly = !detection && ev.media !== "image";
  const feed: ViewState = { ...(detection ? { iou: sliders.iou, score: sliders.score } : { threshold: sliders.threshold }), label, outcome };
  return (
    <section className="card label-gallery" data-testid={`gallery-${outcome}`} data-total={q.data?.total ?? ""}>
      <div className="label-gallery-head">
        <h3 className={`outcome-${outcome}`}>{title}</h3>
        <span className="muted small" title={help} data-testid={`gallery-${outcome}-count`}>
          {count === undefined ? "" : `${count.toLocaleString()} ${detection ? "boxes" : ""}`}
          {detection && q.data ? ` in ${q.data.total.toLocaleString()} images` : ""}
        </span>
      </div>
      {q.error && !q.data ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : !q.data ? (
        <Spinner />
      ) : items.length === 0 ? (
        <p className="muted small">None at this point.</p>
      ) : (
        <div className={`label-gallery-items ${rowsOnly ? "is-rows" : ""}`}>
          {items.map((s) =>
            isDetectionItem(s) ? (
              <DetectionCard key={s.index} s={s} onOpen={onOpen} />
            ) : rowsOnly ? (
              <TextRow key={s.index} s={s as ClassificationItem} onOpen={onOpen} t={sliders.threshold} />
            ) : (
              <SampleCard key={s.index} s={s as ClassificationItem} onOpen={onOpen} t={sliders.threshold} />
            ),
          )}
        </div>
      )}
      {q.data && q.data.total > GALLERY && (
        <a className="small" href={evaluationHref(ev.id, feed)} data-testid={`gallery-${outcome}-all`}>
          All {q.data.total.toLocaleString()} in the feed →
        </a>
      )}
    </section>
  );
}
