// One sample under two models, side by side (the compare page's sample view): the media once,
// then each model's prediction and class probabilities (classification), or each model's boxes
// on its own copy of the image (detection). Each side comes from its own evaluation's sample
// answer at that side's operating point.
import type { ClassificationSample, SliderParams } from "../../api/client";
import { useClassificationSample, useDetectionSample } from "../evaluation/hooks";
import { labelText, pct } from "../../format";
import { BOX_COLORS } from "../../lib/boxes";
import { BoxOverlay } from "../../components/Boxes";
import { Media } from "../../components/Media";
import { ProbBars } from "../evaluation/SampleView";
import { ErrorState, Modal, Spinner } from "../../components/common";

export interface PairSide {
  evalId: number;
  index: number;
  name: string;
  point: SliderParams;
}

const TOP = 8;

function Probabilities({ d, side }: { d: ClassificationSample; side: "A" | "B" }) {
  const actual = new Set(Array.isArray(d.actual) ? d.actual : d.actual ? [d.actual] : []);
  const predicted = new Set(Array.isArray(d.predicted) ? d.predicted : d.predicted ? [d.predicted] : []);
  const scores = d.scores ?? [];
  const shown = scores.slice(0, TOP);
  for (const s of scores.slice(TOP)) if (actual.has(s.label)) shown.push(s); // the annotated class is always shown
  const correct = labelText(d.actual, "actual") === labelText(d.predicted);
  return (
    <div className="pair-side" data-testid={`pair-side-${side}`}>
      <div className="pair-facts">
        <span className={`label-pill pill-${correct ? "ok" : "bad"}`} title={labelText(d.predicted)} data-testid="pair-predicted">
          {labelText(d.predicted)}
        </span>
        <span className="muted small">
          {" "}
          confidence {pct(d.confidence)}
          {d.actual_rank ? (Array.isArray(d.actual) ? ` · weakest annotated label ranks ${d.actual_rank}` : ` · annotated class ranks ${d.actual_rank}`) : ""}
        </span>
      </div>
      <ProbBars scores={shown} actual={actual} predicted={predicted} nameMax={22} testid="pair-prob" />
      {scores.length > shown.length && <p className="muted small">{scores.length - shown.length} more classes below these.</p>}
    </div>
  );
}

function ClassificationPair({ a, b }: { a: PairSide; b: PairSide }) {
  const qa = useClassificationSample(a.evalId, a.index, a.point);
  const qb = useClassificationSample(b.evalId, b.index, b.point);
  const err = qa.error ?? qb.error;
  if (err) return <ErrorState error={err} onRetry={() => void (qa.refetch(), qb.refetch())} />;
  if (!qa.data || !qb.data) return <Spinner />;
  const d = qa.data;
  const url = d.media_url ?? d.thumbnail_url;
  return (
    <div className="pair-view">
      <div className="pair-media">
        {d.text ? <blockquote className="sample-text">{d.text}</blockquote> : url ? <Media src={url} alt={d.id} fallback={d.id} testid="pair-image" /> : null}
        <p data-testid="pair-actual">
          {Array.isArray(d.actual) ? "Annotated label set" : "Annotated"} <span className="label-pill">{labelText(d.actual, "actual")}</span>
        </p>
      </div>
      <div className="pair-sides">
        {(
          [
            ["A", a, qa.data],
            ["B", b, qb.data],
          ] as const
        ).map(([side, s, data]) => (
          <div key={side}>
            <h3 className="subhead">
              {side} · {s.name} <span className="muted small">threshold {s.point.threshold?.toFixed(2)}</span>
            </h3>
            <Probabilities d={data} side={side} />
          </div>
        ))}
      </div>
    </div>
  );
}

function DetectionPair({ a, b }: { a: PairSide; b: PairSide }) {
  const qa = useDetectionSample(a.evalId, a.index, a.point);
  const qb = useDetectionSample(b.evalId, b.index, b.point);
  const err = qa.error ?? qb.error;
  if (err) return <ErrorState error={err} onRetry={() => void (qa.refetch(), qb.refetch())} />;
  if (!qa.data || !qb.data) return <Spinner />;
  return (
    <div className="pair-sides pair-detection">
      {(
        [
          ["A", a, qa.data],
          ["B", b, qb.data],
        ] as const
      ).map(([side, s, d]) => {
        const url = d.media_url ?? d.thumbnail_url;
        const w = d.width || 1;
        const h = d.height || 1;
        return (
          <div key={side} className="pair-side" data-testid={`pair-side-${side}`}>
            <h3 className="subhead">
              {side} · {s.name}{" "}
              <span className="muted small">
                IoU {s.point.iou?.toFixed(2)}, confidence ≥ {s.point.score?.toFixed(2)}
              </span>
            </h3>
            {url ? (
              <div className="box-stage" style={{ aspectRatio: `${w} / ${h}` }}>
                <Media src={url} alt={d.file_name || d.id} fallback={d.file_name || d.id} testid="pair-image" />
                <BoxOverlay boxes={d.boxes ?? []} width={w} height={h} />
              </div>
            ) : (
              <div className="media-missing">No image file for {d.file_name || d.id}.</div>
            )}
            <div className="chips">
              <span className="chip chip-tp" data-testid="pair-tp">{d.tp} TP</span>
              <span className="chip chip-fp">{d.fp} FP</span>
              <span className="chip chip-fn">{d.fn} FN</span>
            </div>
          </div>
        );
      })}
      <div className="legend pair-legend">
        <span><i style={{ background: BOX_COLORS.tp }} /> TP</span>
        <span><i style={{ background: BOX_COLORS.fp }} /> FP / misclassified</span>
        <span><i style={{ background: BOX_COLORS.fn }} /> FN (missed)</span>
        <span className="muted">dashed = ground truth, solid = prediction</span>
      </div>
    </div>
  );
}

export function PairView({ task, title, a, b, onClose }: { task: "classification" | "detection"; title: string; a: PairSide; b: PairSide; onClose: () => void }) {
  return (
    <Modal title={title} onClose={onClose} testid="pair-view" wide>
      {task === "detection" ? <DetectionPair a={a} b={b} /> : <ClassificationPair a={a} b={b} />}
    </Modal>
  );
}
