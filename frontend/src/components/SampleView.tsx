import { useState } from "react";
import { api, type SliderParams } from "../api/client";
import type { Box, Sample } from "../api/types";
import { useQuery } from "../hooks";
import { fmt, labelText, pct } from "../format";
import { ErrorState, Modal, Spinner } from "./common";

function outcomeText(o: string) {
  const known: Record<string, string> = { tp: "True positive", fp: "False positive", fn: "False negative", below_threshold: "Below threshold (no prediction)" };
  const s = known[o] ?? o.replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function SampleView({ evalId, sample, sliders, media, onClose }: { evalId: number; sample: Sample; sliders: SliderParams; media: string | null; onClose: () => void }) {
  const q = useQuery((s) => api.sample(evalId, sample.index, sliders, s), [evalId, sample.index, sliders.threshold]);
  const d = q.data;
  const actual = new Set(Array.isArray(d?.actual) ? d?.actual : d?.actual ? [d.actual] : []);
  const predicted = new Set(Array.isArray(d?.predicted) ? d?.predicted : d?.predicted ? [d.predicted] : []);
  const correct = d ? labelText(d.actual) === labelText(d.predicted) : false;
  return (
    <Modal title={`Sample ${sample.id}`} onClose={onClose} testid="sample-view" wide>
      {q.error ? (
        <ErrorState error={q.error} onRetry={q.reload} />
      ) : !d ? (
        <Spinner />
      ) : (
        <div className="sample-view">
          <div className="sample-media">
            {media === "text" || d.text ? (
              <blockquote className="sample-text" data-testid="sample-text">{d.text}</blockquote>
            ) : (
              <img src={d.media_url ?? d.thumbnail_url ?? ""} alt={String(d.id)} data-testid="sample-image" />
            )}
          </div>
          <div className="sample-side">
            <dl className="facts">
              <div>
                <dt>Predicted</dt>
                <dd data-testid="sample-predicted">
                  <span className={`label-pill pill-${correct ? "ok" : "bad"}`}>{labelText(d.predicted)}</span>
                  <span className="muted"> confidence {pct(d.confidence ?? null)}</span>
                </dd>
              </div>
              <div>
                <dt>Annotated</dt>
                <dd data-testid="sample-actual">
                  <span className="label-pill">{labelText(d.actual)}</span>
                  <span className="muted">
                    {" "}
                    confidence {pct(d.actual_confidence ?? null)}
                    {d.actual_rank ? `, rank ${d.actual_rank} of ${d.scores?.length ?? "?"}` : ""}
                  </span>
                </dd>
              </div>
              {d.outcome && (
                <div>
                  <dt>Outcome</dt>
                  <dd data-testid="sample-outcome">{outcomeText(d.outcome)}</dd>
                </div>
              )}
            </dl>
            <h3 className="subhead">Class probabilities</h3>
            <div className="prob-bars" data-testid="prob-bars">
              {(d.scores ?? []).map((s) => (
                <div key={s.label} className="prob-row" data-testid="prob-bar" data-label={s.label}>
                  <span className={`prob-label ${actual.has(s.label) ? "is-actual" : ""}`} title={s.label}>
                    {s.label}
                    {actual.has(s.label) && <span className="tag">annotated</span>}
                  </span>
                  <span className="prob-track">
                    <span
                      className={`prob-fill ${predicted.has(s.label) ? (actual.has(s.label) ? "fill-ok" : "fill-bad") : actual.has(s.label) ? "fill-actual" : ""}`}
                      style={{ width: `${Math.max(0.5, s.score * 100)}%` }}
                    />
                  </span>
                  <span className="prob-value">{fmt(s.score)}</span>
                </div>
              ))}
            </div>
            {sliders.threshold !== undefined && <p className="muted small">Prediction at threshold {sliders.threshold.toFixed(2)}.</p>}
          </div>
        </div>
      )}
    </Modal>
  );
}

const BOX_COLORS: Record<string, string> = {
  tp: "#1e9e63",
  fp: "#d64545",
  fn: "#e8a33b",
  misclassified: "#d64545",
  crowd: "#8a94a6",
};

function boxColor(b: Box) {
  return BOX_COLORS[b.status] ?? "#2f5bea";
}

const STAGE_H = 540;

export function DetectionImageView({ evalId, sample, sliders, onClose }: { evalId: number; sample: Sample; sliders: SliderParams; onClose: () => void }) {
  const q = useQuery((s) => api.sample(evalId, sample.index, sliders, s), [evalId, sample.index, sliders.iou, sliders.score]);
  const [hover, setHover] = useState<number | null>(null);
  const [show, setShow] = useState({ gt: true, pred: true });
  const d = q.data;
  const boxes = d?.boxes ?? [];
  const w = d?.width ?? 1;
  const h = d?.height ?? 1;
  // The stage is about STAGE_H px tall on screen: one screen pixel is `px` image units.
  const px = h / STAGE_H;
  const related = (i: number) => hover !== null && (i === hover || boxes[hover]?.match === i || boxes[i]?.match === hover);
  return (
    <Modal title={d?.file_name ?? `Image ${sample.id}`} onClose={onClose} testid="image-view" wide>
      {q.error ? (
        <ErrorState error={q.error} onRetry={q.reload} />
      ) : !d ? (
        <Spinner />
      ) : (
        <div className="sample-view">
          <div className="sample-media">
            <div className="box-stage" style={{ width: `min(100%, ${Math.round((STAGE_H * w) / h)}px)` }}>
              <img src={d.media_url ?? d.thumbnail_url ?? ""} alt={d.file_name ?? ""} data-testid="det-image" />
              <svg viewBox={`0 0 ${w} ${h}`} preserveAspectRatio="none" className="box-overlay" data-testid="box-overlay">
                {boxes.map((b, i) => {
                  if ((b.kind === "gt" && !show.gt) || (b.kind === "pred" && !show.pred)) return null;
                  const [x, y, bw, bh] = b.bbox;
                  const hi = related(i);
                  const dim = hover !== null && !hi;
                  return (
                    <g key={i} opacity={dim ? 0.25 : 1} data-testid="box" data-kind={b.kind} data-status={b.status}>
                      <rect
                        x={x}
                        y={y}
                        width={bw}
                        height={bh}
                        fill={hi ? `${boxColor(b)}33` : "none"}
                        stroke={boxColor(b)}
                        strokeWidth={hi ? 3.5 : 2}
                        vectorEffect="non-scaling-stroke"
                        strokeDasharray={b.kind === "gt" ? "6 3" : undefined}
                        onMouseEnter={() => setHover(i)}
                        onMouseLeave={() => setHover(null)}
                      />
                      {(hi || (hover === null && b.kind === "pred")) && (
                        <text x={x + px * 2} y={Math.max(y - px * 3, px * 12)} fontSize={px * 12} fontWeight={600} fill={boxColor(b)} paintOrder="stroke" stroke="#fff" strokeWidth={px * 3}>
                          {b.label}
                          {b.score != null ? ` ${b.score.toFixed(2)}` : ""}
                        </text>
                      )}
                    </g>
                  );
                })}
              </svg>
            </div>
            <div className="legend">
              <span><i style={{ background: BOX_COLORS.tp }} /> TP</span>
              <span><i style={{ background: BOX_COLORS.fp }} /> FP / misclassified</span>
              <span><i style={{ background: BOX_COLORS.fn }} /> FN (missed)</span>
              <span className="muted">dashed = ground truth, solid = prediction</span>
            </div>
          </div>
          <div className="sample-side">
            <div className="chips big">
              <span className="chip chip-tp">{d.tp} TP</span>
              <span className="chip chip-fp">{d.fp} FP</span>
              <span className="chip chip-fn">{d.fn} FN</span>
            </div>
            <div className="toggles">
              <label className="check"><input type="checkbox" checked={show.gt} onChange={(e) => setShow({ ...show, gt: e.target.checked })} /> Ground truth</label>
              <label className="check"><input type="checkbox" checked={show.pred} onChange={(e) => setShow({ ...show, pred: e.target.checked })} /> Predictions</label>
            </div>
            {(["pred", "gt"] as const).map((kind) => (
              <div key={kind}>
                <h3 className="subhead">{kind === "pred" ? "Predictions" : "Ground truth"}</h3>
                <ul className="box-list" data-testid={`box-list-${kind}`}>
                  {boxes.map((b, i) =>
                    b.kind !== kind ? null : (
                      <li
                        key={i}
                        className={related(i) ? "hover" : ""}
                        onMouseEnter={() => setHover(i)}
                        onMouseLeave={() => setHover(null)}
                        data-testid="box-item"
                        data-status={b.status}
                      >
                        <i style={{ background: boxColor(b) }} />
                        <span className="strong">{b.label}</span>
                        <span className="muted small">{b.status === "misclassified" ? "misclassified" : b.status.toUpperCase()}</span>
                        <span className="grow" />
                        {b.score != null && <span className="small">score {b.score.toFixed(2)}</span>}
                        {b.iou != null && <span className="small muted">IoU {b.iou.toFixed(2)}</span>}
                      </li>
                    ),
                  )}
                  {!boxes.some((b) => b.kind === kind) && <li className="muted small">None</li>}
                </ul>
              </div>
            ))}
            <p className="muted small">At IoU ≥ {sliders.iou?.toFixed(2)} and confidence ≥ {sliders.score?.toFixed(2)}.</p>
          </div>
        </div>
      )}
    </Modal>
  );
}
