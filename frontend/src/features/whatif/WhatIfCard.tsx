// One what-if result: an uploaded image (from its local object URL) or a pasted text, with its
// predicted classes and probabilities, or its boxes drawn on the image and listed beside it; only
// what passes the threshold counts. A file the server refused shows its one-line reason.
import { useState } from "react";
import { fmt, truncateLabel } from "../../format";
import { boxesAbove, classColor, predictedLabels, type Entry, type PredictTask, type PredictedClass } from "./whatif";
import { WhatIfBoxes } from "./WhatIfBoxes";

const TOP = 5;
const STAGE_H = 420; // px: the tallest an image is drawn
export const NO_DETECTIONS = "Model did not detect any objects for this image";

export function WhatIfCard({
  entry,
  task,
  classes,
  threshold,
  onRemove,
}: {
  entry: Entry;
  task: PredictTask;
  classes: readonly string[];
  threshold: number;
  onRemove: () => void;
}) {
  const item = entry.item;
  const failed = entry.state === "failed";
  const pending = entry.state === "waiting" || entry.state === "running";
  const detection = task === "detection" && entry.kind === "image";
  return (
    <article
      className={`card whatif-card ${detection ? "whatif-card-wide" : ""} ${failed ? "is-failed" : ""}`}
      data-testid="whatif-card"
      data-state={entry.state}
      data-name={entry.name}
    >
      <header className="whatif-card-head">
        <span className="strong truncate" title={entry.name}>
          {entry.name}
        </span>
        {item?.width != null && item.height != null && (
          <span className="muted small nowrap">
            {item.width} × {item.height}
          </span>
        )}
        <span className="grow" />
        <button className="icon-btn whatif-remove" onClick={onRemove} aria-label={`Remove ${entry.name}`} title="Remove" data-testid="whatif-remove">
          ×
        </button>
      </header>
      {failed ? (
        <div className="whatif-body">
          {entry.url && <img className="whatif-thumb is-dim" src={entry.url} alt="" />}
          <p className="whatif-error" role="alert" data-testid="whatif-error">
            {entry.error ?? "This file could not be predicted."}
          </p>
        </div>
      ) : detection ? (
        <DetectionResult entry={entry} classes={classes} threshold={threshold} pending={pending} />
      ) : (
        <div className={`whatif-body ${entry.kind === "text" ? "whatif-body-text" : ""}`}>
          {entry.kind === "text" ? (
            <blockquote className="whatif-text" data-testid="whatif-text">
              {entry.text}
            </blockquote>
          ) : (
            <img className="whatif-thumb" src={entry.url} alt={entry.name} data-testid="whatif-image" />
          )}
          {pending || !item ? <Pending state={entry.state} /> : <ClassBars scores={item.classes ?? []} task={task} threshold={threshold} />}
        </div>
      )}
    </article>
  );
}

function Pending({ state }: { state: Entry["state"] }) {
  return (
    <div className="whatif-pending" data-testid="whatif-pending">
      <span className="spinner spinner-sm" aria-hidden /> {state === "waiting" ? "Waiting…" : "Predicting…"}
    </div>
  );
}

function ClassBars({ scores, task, threshold }: { scores: PredictedClass[]; task: PredictTask; threshold: number }) {
  const [all, setAll] = useState(false);
  const predicted = new Set(predictedLabels(scores, task, threshold));
  const shown = all ? scores : scores.slice(0, TOP);
  return (
    <div className="whatif-classes">
      <div className="whatif-verdict" data-testid="whatif-predicted">
        {predicted.size ? (
          [...predicted].map((l) => (
            <span key={l} className="label-pill pill-ok" title={l}>
              {truncateLabel(l, 28)}
            </span>
          ))
        ) : (
          <span className="label-pill" title={`No class reaches ${threshold.toFixed(2)}`}>
            Below threshold
          </span>
        )}
      </div>
      <div className="prob-bars">
        {shown.map((s) => {
          const passes = task === "multilabel" ? s.score >= threshold : predicted.has(s.label);
          return (
            <div key={s.label} className="prob-row" data-testid="whatif-class" data-label={s.label} data-passes={passes ? "true" : "false"}>
              <span className={`prob-label ${passes ? "is-actual" : ""}`} title={s.label}>
                <span className="prob-name">{truncateLabel(s.label, 26)}</span>
              </span>
              <span className="prob-track whatif-track">
                <span className={`prob-fill ${passes ? "fill-ok" : ""}`} style={{ width: `${Math.max(0.5, Math.min(1, s.score) * 100)}%` }} />
                <span className="whatif-mark" style={{ left: `${Math.min(1, Math.max(0, threshold)) * 100}%` }} aria-hidden />
              </span>
              <span className="prob-value">{fmt(s.score)}</span>
            </div>
          );
        })}
      </div>
      {scores.length > TOP && (
        <button className="btn btn-ghost btn-sm whatif-more" onClick={() => setAll(!all)} data-testid="whatif-more">
          {all ? `Top ${TOP} only` : `All ${scores.length} classes`}
        </button>
      )}
    </div>
  );
}

function DetectionResult({ entry, classes, threshold, pending }: { entry: Entry; classes: readonly string[]; threshold: number; pending: boolean }) {
  const [hover, setHover] = useState<number | null>(null);
  const item = entry.item;
  const shown = boxesAbove(item?.boxes, threshold);
  const total = item?.boxes?.length ?? 0;
  const w = item?.width ?? 1;
  const h = item?.height ?? 1;
  return (
    <div className="whatif-det">
      {!pending && item && shown.length === 0 && (
        <div className="whatif-none" data-testid="whatif-no-detections">
          {NO_DETECTIONS}
          {total > 0 && (
            <span className="muted">
              {" "}
              at confidence ≥ {threshold.toFixed(2)} ({total} below it)
            </span>
          )}
        </div>
      )}
      <div className="whatif-det-body">
        <div className="whatif-stage-wrap">
          <div className="box-stage whatif-stage" style={item ? { width: `min(100%, ${Math.round((STAGE_H * w) / h)}px)`, aspectRatio: `${w} / ${h}` } : undefined}>
            <img src={entry.url} alt={entry.name} data-testid="whatif-image" />
            {item && <WhatIfBoxes boxes={shown} width={w} height={h} classes={classes} hover={hover} onHover={setHover} />}
          </div>
        </div>
        <div className="whatif-side">
          {pending || !item ? (
            <Pending state={entry.state} />
          ) : (
            <>
              <h3 className="subhead">
                {shown.length} of {total} detection{total === 1 ? "" : "s"}
              </h3>
              <ul className="box-list whatif-list" data-testid="whatif-detections">
                {shown.map(({ box, index }) => (
                  <li
                    key={index}
                    className={hover === index ? "hover" : ""}
                    onMouseEnter={() => setHover(index)}
                    onMouseLeave={() => setHover(null)}
                    data-testid="whatif-det-item"
                    data-index={index}
                  >
                    <i style={{ background: classColor(box.label, classes) }} />
                    <span className="strong truncate" title={box.label}>
                      {truncateLabel(box.label, 22)}
                    </span>
                    <span className="grow" />
                    <span className="small nowrap">{box.score.toFixed(2)}</span>
                  </li>
                ))}
                {!shown.length && <li className="muted small">None at this confidence</li>}
              </ul>
            </>
          )}
        </div>
      </div>
    </div>
  );
}
