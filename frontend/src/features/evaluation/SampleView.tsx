import { useState } from "react";
import type { ClassificationSample, SliderParams } from "../../api/client";
import { useClassificationSample, useDetectionSample } from "./hooks";
import { fmt, labelText, pct, pctBeside, truncateLabel } from "../../format";
import { BOX_COLORS, boxColor } from "../../lib/boxes";
import { labelSetDiff, labelSetText } from "../../lib/labelsets";
import { OUTCOME_SHORT, outcomeText } from "../../lib/vocabulary";
import { qualityHref } from "../quality/url";
import { BoxOverlay } from "../../components/Boxes";
import { Media } from "../../components/Media";
import { LabelErrorPill, labelErrorMark, useMarksOnceReady } from "./SampleFeed";
import { ErrorState, Modal, Spinner } from "../../components/common";

/** The dataset's metadata columns of one sample, as a small table. */
function Metadata({ m }: { m: Record<string, unknown> | null | undefined }) {
  const entries = Object.entries(m ?? {});
  if (!entries.length) return null;
  return (
    <>
      <h3 className="subhead">Metadata</h3>
      <table className="table table-dense metadata" data-testid="sample-metadata">
        <tbody>
          {entries.map(([k, v]) => (
            <tr key={k}>
              <th>{k}</th>
              <td>{v === null || v === undefined ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** Class probabilities as bars, highest first: the annotated classes marked, the predicted ones
 * coloured right (annotated too) or wrong. */
export function ProbBars({
  scores,
  actual,
  predicted,
  nameMax,
  testid,
  tagActual = false,
}: {
  scores: { label: string; score: number }[];
  actual: Set<string>;
  predicted: Set<string>;
  nameMax: number;
  testid: string;
  tagActual?: boolean;
}) {
  return (
    <div className="prob-bars">
      {scores.map((s) => (
        <div key={s.label} className="prob-row" data-testid={testid} data-label={s.label}>
          <span className={`prob-label ${actual.has(s.label) ? "is-actual" : ""}`} title={s.label}>
            <span className="prob-name">{truncateLabel(s.label, nameMax)}</span>
            {tagActual && actual.has(s.label) && <span className="tag">annotated</span>}
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
  );
}

export function SampleView({ evalId, index, sliders, onClose }: { evalId: number; index: number; sliders: SliderParams; onClose: () => void }) {
  const q = useClassificationSample(evalId, index, sliders);
  const d = q.data;
  const actual = new Set(Array.isArray(d?.actual) ? d.actual : d?.actual ? [d.actual] : []);
  const predicted = new Set(Array.isArray(d?.predicted) ? d.predicted : d?.predicted ? [d.predicted] : []);
  const correct = d ? labelText(d.actual, "actual") === labelText(d.predicted) : false;
  const url = d?.media_url ?? d?.thumbnail_url;
  const flagged = labelErrorMark(d);
  const unmarked = !!d && "possible_label_error" in d && d.possible_label_error === null;
  useMarksOnceReady(evalId, `sample:${index}:${JSON.stringify(sliders)}`, unmarked, q.refetch, q.isFetching);
  return (
    <Modal title={d ? `Sample ${d.id}` : `Sample #${index}`} onClose={onClose} testid="sample-view" wide>
      {q.error && !d ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : !d ? (
        <Spinner />
      ) : (
        <div className={`sample-view ${!d.text && !url ? "sample-view-plain" : ""}`}>
          {(d.text || url) && (
            <div className="sample-media">
              {d.text ? (
                <blockquote className="sample-text" data-testid="sample-text">{d.text}</blockquote>
              ) : (
                <Media src={url} alt={d.id} fallback={d.id} testid="sample-image" />
              )}
            </div>
          )}
          <div className="sample-side">
            <dl className="facts">
              <div>
                <dt>Sample</dt>
                <dd data-testid="sample-id">
                  <span className="strong">{d.id}</span> <span className="muted small">row {d.index + 1}</span>
                </dd>
              </div>
              {Array.isArray(d.actual) && Array.isArray(d.predicted) ? (
                <LabelSetFacts actual={d.actual} predicted={d.predicted} d={d} threshold={sliders.threshold} />
              ) : (
                <>
                  <div>
                    <dt>Predicted</dt>
                    <dd data-testid="sample-predicted">
                      <span className={`label-pill pill-${correct ? "ok" : "bad"}`} title={labelText(d.predicted)}>{labelText(d.predicted)}</span>
                      <span className="muted"> confidence {pctBeside(d.confidence, sliders.threshold)}</span>
                    </dd>
                  </div>
                  <div>
                    <dt>Annotated</dt>
                    <dd data-testid="sample-actual">
                      <span className="label-pill" title={labelText(d.actual, "actual")}>{labelText(d.actual, "actual")}</span>
                      <span className="muted">
                        {d.actual_confidence !== null && ` confidence ${pct(d.actual_confidence)}`}
                        {d.actual_rank ? `, rank ${d.actual_rank} of ${d.scores?.length ?? "?"}` : ""}
                      </span>
                    </dd>
                  </div>
                </>
              )}
              {flagged && (
                <div>
                  <dt>Label check</dt>
                  <dd data-testid="sample-label-check">
                    <LabelErrorPill testid="sample-label-error" />{" "}
                    <a className="small" href={qualityHref(evalId)}>
                      see Data quality
                    </a>
                  </dd>
                </div>
              )}
              {d.outcome && (
                <div>
                  <dt>Outcome</dt>
                  <dd data-testid="sample-outcome">{outcomeText(d.outcome)}</dd>
                </div>
              )}
            </dl>
            <Metadata m={d.metadata} />
            <h3 className="subhead">{Array.isArray(d.actual) ? "Label scores" : "Class probabilities"}</h3>
            <ProbBars scores={d.scores ?? []} actual={actual} predicted={predicted} nameMax={26} testid="prob-bar" tagActual />
            {sliders.threshold !== undefined && (
              <p className="muted small">
                {Array.isArray(d.actual)
                  ? `Each label is in the predicted set when its own score is at least ${sliders.threshold.toFixed(2)}, independently of the others.`
                  : `Prediction at threshold ${sliders.threshold.toFixed(2)}.`}
              </p>
            )}
          </div>
        </div>
      )}
    </Modal>
  );
}

/** A multi-label sample's facts: the predicted and the annotated label sets, how they differ,
 * and the annotated label the model is least sure of. */
function LabelSetFacts({ actual, predicted, d, threshold }: { actual: string[]; predicted: string[]; d: ClassificationSample; threshold?: number }) {
  const diff = labelSetDiff(actual, predicted);
  const inActual = new Set(actual);
  const inPredicted = new Set(predicted);
  const at = threshold !== undefined ? ` at threshold ${threshold.toFixed(2)}` : "";
  return (
    <>
      <div>
        <dt>Predicted label set</dt>
        <dd data-testid="sample-predicted" data-size={predicted.length}>
          {predicted.length ? (
            predicted.map((l) => (
              <span key={l} className={`label-pill pill-${inActual.has(l) ? "ok" : "bad"}`} title={inActual.has(l) ? `${l}: annotated too` : `${l}: not in the annotated set`}>
                {l}
              </span>
            ))
          ) : (
            <span className="label-pill pill-bad">no label{at}</span>
          )}
          <span className="muted small">
            {" "}
            {predicted.length} label{predicted.length === 1 ? "" : "s"}
            {at}
          </span>
        </dd>
      </div>
      <div>
        <dt>Annotated label set</dt>
        <dd data-testid="sample-actual" data-size={actual.length}>
          {actual.length ? (
            actual.map((l) => (
              <span key={l} className={`label-pill ${inPredicted.has(l) ? "" : "pill-missed"}`} title={inPredicted.has(l) ? `${l}: predicted` : `${l}: missed`}>
                {l}
              </span>
            ))
          ) : (
            <span className="label-pill">{labelText(null, "actual")}</span>
          )}
          <span className="muted small">
            {" "}
            {actual.length} label{actual.length === 1 ? "" : "s"}
          </span>
        </dd>
      </div>
      <div>
        <dt>The two sets</dt>
        <dd data-testid="sample-set-match" data-exact={diff.exact ? "1" : "0"}>
          <span className={diff.exact ? "good-text" : "bad-text"}>{diff.exact ? "Exact match" : "Differ"}</span>
          {!diff.exact && <span className="muted"> · {labelSetText(diff)}</span>}
        </dd>
      </div>
      {d.actual_confidence !== null && actual.length > 0 && (
        <div>
          <dt>Weakest annotated label</dt>
          <dd data-testid="sample-weakest">
            score {pct(d.actual_confidence)}
            {d.actual_rank ? `, rank ${d.actual_rank} of ${d.scores?.length ?? "?"}` : ""}
            <span className="muted small"> (the lowest score among the annotated labels)</span>
          </dd>
        </div>
      )}
    </>
  );
}

const STAGE_H = 540;

export function DetectionImageView({ evalId, index, sliders, onClose }: { evalId: number; index: number; sliders: SliderParams; onClose: () => void }) {
  const q = useDetectionSample(evalId, index, sliders);
  const [hover, setHover] = useState<number | null>(null);
  const [show, setShow] = useState({ gt: true, pred: true });
  const d = q.data;
  const boxes = d?.boxes ?? [];
  const w = d?.width || 1;
  const h = d?.height || 1;
  const related = (i: number) => hover !== null && (i === hover || boxes[hover]?.match === i || boxes[i]?.match === hover);
  const url = d?.media_url ?? d?.thumbnail_url;
  return (
    <Modal title={d?.file_name || (d ? `Image ${d.id}` : `Image #${index}`)} onClose={onClose} testid="image-view" wide>
      {q.error && !d ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : !d ? (
        <Spinner />
      ) : (
        <div className="sample-view">
          <div className="sample-media">
            {url ? (
              <div className="box-stage" style={{ width: `min(100%, ${Math.round((STAGE_H * w) / h)}px)`, aspectRatio: `${w} / ${h}` }}>
                <Media src={url} alt={d.file_name || d.id} fallback={d.file_name || d.id} testid="det-image" />
                <BoxOverlay boxes={boxes} width={w} height={h} show={show} hover={hover} related={related} onHover={setHover} />
              </div>
            ) : (
              <div className="media-missing" data-testid="det-image-missing">
                No image file for <strong>{d.file_name || d.id}</strong> in this dataset version: the boxes are listed on the right.
              </div>
            )}
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
                      <li key={i} className={related(i) ? "hover" : ""} onMouseEnter={() => setHover(i)} onMouseLeave={() => setHover(null)} data-testid="box-item" data-status={b.status}>
                        <i style={{ background: boxColor(b.status) }} />
                        <span className="strong" title={b.label}>{truncateLabel(b.label, 24)}</span>
                        <span className="muted small">{b.status === "misclassified" || b.status === "crowd" ? b.status : OUTCOME_SHORT[b.status]}</span>
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
            <Metadata m={d.metadata} />
            <p className="muted small">At IoU ≥ {sliders.iou?.toFixed(2)} and confidence ≥ {sliders.score?.toFixed(2)}.</p>
          </div>
        </div>
      )}
    </Modal>
  );
}
