// What-if (`#/models/:versionId/what-if?t=0.62`): drop images (or paste texts, for a text model) and
// see what the model version predicts, with a live threshold that starts at the optimal point of
// its newest evaluation. Each image is sent once, in its own request (at most two at a time), and
// shown from a local object URL; the threshold lives in the URL and filters on the page only.
import { useCallback, useEffect, useRef, useState } from "react";
import { usePredictInfo } from "./hooks";
import { ApiError } from "../../api/client";
import { Empty, ErrorState, SliderField, Spinner } from "../../components/common";
import { DropZone } from "../../components/DropZone";
import { WhatIfCard } from "./WhatIfCard";
import "./WhatIf.css";
import { taskLabel } from "../../format";
import { evaluationHref, setView, useView, type Crumb } from "../../routes";
import { cardError, chunks, fmtBytes, modelLabel, postPredict, precheck, textLines, type Entry, type PredictInfo } from "./whatif";

const IN_FLIGHT = 2; // image requests at once (the server bounds its own work too)
const MAX_ENTRIES = 200; // results kept on the page

export function WhatIfPage({ versionId, setCrumbs }: { versionId: number; setCrumbs: (c: Crumb[]) => void }) {
  const q = usePredictInfo(versionId);
  const model = q.data?.model;
  useEffect(() => {
    setCrumbs([{ label: model ? modelLabel(model) : `Model version ${versionId}` }, { label: "What if…" }]);
  }, [model, versionId, setCrumbs]);

  if (q.error) {
    if (q.error instanceof ApiError && q.error.status === 404)
      return (
        <Empty title="Model version not found">
          There is no model version {versionId} in this workspace. <a href="#/">Back to evaluations</a>
        </Empty>
      );
    return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  }
  if (!q.data) return <Spinner label="Loading model…" />;
  const info = q.data;
  if (!info.runnable || !info.task)
    return (
      <div className="page" data-testid="whatif-page">
        <Head info={info} />
        <Empty title="This model version cannot run here">{info.reason ?? "It has no stored model."}</Empty>
      </div>
    );
  return <WhatIf key={versionId} info={info} />;
}

function Head({ info }: { info: PredictInfo }) {
  const { model } = info;
  return (
    <div className="page-head">
      <div>
        <h1 data-testid="whatif-title">What if…</h1>
        <p className="muted">
          <span className="strong-muted">{modelLabel(model)}</span>
          {info.task && ` · ${taskLabel(info.task, info.media)}`}
          {info.classes.length > 0 && ` · ${info.classes.length} classes`}
        </p>
      </div>
    </div>
  );
}

/** A slider value in words: single-label's 0 is the argmax (no threshold). */
function pointText(value: number, detection: boolean, task: string): string {
  return !detection && task === "classification" && value === 0 ? "argmax" : value.toFixed(2);
}

function ruleText(rule: string): string {
  return { argmax: "argmax, no threshold", threshold: "its threshold", given: "its confidence", f1_optimal: "its F1-optimal confidence" }[rule] ?? rule;
}

function WhatIf({ info }: { info: PredictInfo }) {
  const versionId = info.model.version_id;
  const task = info.task ?? "classification";
  const detection = task === "detection";
  const text = info.media === "text";
  const view = useView();
  const fromUrl = detection ? view.score : view.threshold;
  const threshold = fromUrl ?? info.threshold_default;
  const setThreshold = (v: number | undefined) => setView(detection ? { score: v } : { threshold: v }, { coalesce: "whatif-threshold" });

  const [entries, setEntries] = useState<Entry[]>([]);
  const [draft, setDraft] = useState("");
  const [notice, setNotice] = useState<string | null>(null);
  const nextKey = useRef(1);
  const started = useRef(new Set<number>());
  const abort = useRef<AbortController | null>(null);
  const urls = useRef(new Set<string>());

  // One controller for the page's requests; every object URL is let go when the page goes.
  useEffect(() => {
    const controller = new AbortController();
    abort.current = controller;
    const made = urls.current;
    return () => {
      controller.abort();
      for (const u of made) URL.revokeObjectURL(u);
      made.clear();
    };
  }, []);

  const update = useCallback((key: number, patch: Partial<Entry>) => setEntries((list) => list.map((e) => (e.key === key ? { ...e, ...patch } : e))), []);

  const addFiles = (files: File[]) => {
    const room = MAX_ENTRIES - entries.length;
    setNotice(files.length > room ? `Only ${Math.max(0, room)} more images fit on this page: remove some first.` : null);
    const fresh: Entry[] = files.slice(0, Math.max(0, room)).map((file) => {
      const problem = precheck(file, info.limits);
      const url = problem ? undefined : URL.createObjectURL(file);
      if (url) urls.current.add(url);
      return { key: nextKey.current++, kind: "image", name: file.name || "image", file, url, state: problem ? "failed" : "waiting", error: problem ? cap(problem) : undefined };
    });
    setEntries((list) => [...fresh, ...list]);
  };

  // Start waiting images, at most IN_FLIGHT at a time.
  useEffect(() => {
    const running = entries.filter((e) => e.state === "running").length;
    const todo = entries.filter((e) => e.state === "waiting" && e.file && !started.current.has(e.key)).sort((a, b) => a.key - b.key);
    for (const e of todo.slice(0, Math.max(0, IN_FLIGHT - running))) {
      const file = e.file;
      if (!file) continue;
      started.current.add(e.key);
      update(e.key, { state: "running" });
      postPredict(versionId, { files: [file] }, abort.current?.signal)
        .then((answer) => {
          const item = answer.items[0];
          update(e.key, item?.error ? { state: "failed", item, error: cap(item.error) } : { state: "done", item });
        })
        .catch((err: unknown) => {
          if (err instanceof DOMException && err.name === "AbortError") return;
          update(e.key, { state: "failed", error: cardError(err instanceof Error ? err.message : String(err), e.name) });
        });
    }
  }, [entries, update, versionId]);

  const submitText = () => {
    const lines = textLines(draft);
    if (!lines.length) return;
    const room = MAX_ENTRIES - entries.length;
    setNotice(lines.length > room ? `Only ${Math.max(0, room)} more texts fit on this page: remove some first.` : null);
    const fresh: Entry[] = lines.slice(0, Math.max(0, room)).map((t, i) => ({ key: nextKey.current++, kind: "text", name: `Text ${entries.length + i + 1}`, text: t, state: "running" }));
    setEntries((list) => [...fresh, ...list]);
    setDraft("");
    for (const part of chunks(fresh, info.limits.text_lines)) {
      postPredict(versionId, { texts: part.map((e) => e.text ?? "") }, abort.current?.signal)
        .then((answer) =>
          part.forEach((e, i) => {
            const item = answer.items[i];
            update(e.key, !item ? { state: "failed", error: "No answer for this text." } : item.error ? { state: "failed", item, error: cap(item.error) } : { state: "done", item });
          }),
        )
        .catch((err: unknown) => {
          if (err instanceof DOMException && err.name === "AbortError") return;
          const message = err instanceof Error ? err.message : String(err);
          part.forEach((e) => update(e.key, { state: "failed", error: message }));
        });
    }
  };

  const forget = (gone: Entry[]) => {
    for (const e of gone)
      if (e.url) {
        URL.revokeObjectURL(e.url);
        urls.current.delete(e.url);
      }
  };
  const remove = (key: number) => {
    forget(entries.filter((e) => e.key === key));
    setEntries((list) => list.filter((e) => e.key !== key));
  };
  const pendingState = (e: Entry) => e.state === "running" || e.state === "waiting";
  const clear = () => {
    forget(entries.filter((e) => !pendingState(e)));
    setEntries((list) => list.filter(pendingState));
  };

  const source = info.threshold_source;
  const word = detection ? "confidence" : "threshold";
  const busy = entries.some(pendingState);
  const limits = info.limits;
  return (
    <div className="page" data-testid="whatif-page">
      <Head info={info} />
      <div className="threshold-bar whatif-bar">
        <SliderField
          label={detection ? "Confidence" : "Threshold"}
          value={threshold}
          min={0}
          max={1}
          step={0.01}
          onChange={(v) => setThreshold(v)}
          testid="whatif-threshold"
        />
        {fromUrl !== undefined && Math.abs(fromUrl - info.threshold_default) > 1e-9 && (
          <button className="btn btn-sm" onClick={() => setThreshold(undefined)} data-testid="whatif-reset">
            Back to {source ? "the evaluation's" : "default"} ({pointText(info.threshold_default, detection, task)})
          </button>
        )}
        {source?.optimal != null && Math.abs(threshold - source.optimal) > 1e-9 && (
          <button className="btn btn-sm" onClick={() => setThreshold(source.optimal ?? undefined)} data-testid="whatif-optimal">
            {source.metric.toUpperCase()}-optimal ({source.optimal.toFixed(2)})
          </button>
        )}
        <span className="muted small whatif-source" data-testid="whatif-source">
          {source ? (
            <>
              Starts at the {word} of <a href={evaluationHref(source.evaluation_id)}>{source.evaluation_name}</a> ({ruleText(source.rule)})
            </>
          ) : (
            <>No evaluation of this model version yet: starts at the default {word}</>
          )}
          {detection ? "; only boxes at or above it are drawn." : task === "multilabel" ? "; every class at or above it is predicted." : "; the top class is predicted when it reaches it."}
        </span>
        {entries.length > 0 && (
          <button className="btn btn-sm whatif-clear" onClick={clear} data-testid="whatif-clear">
            Clear {busy ? "finished" : "all"}
          </button>
        )}
      </div>

      {text ? (
        <div className="card whatif-paste">
          <label className="whatif-paste-label" htmlFor="whatif-text">
            Paste texts, one per line
          </label>
          <textarea
            id="whatif-text"
            className="whatif-textarea"
            value={draft}
            onChange={(e) => setDraft(e.target.value)}
            onKeyDown={(e) => {
              if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) submitText();
            }}
            placeholder={"What is the capital of France?\nWho wrote Hamlet?"}
            rows={4}
            data-testid="whatif-textarea"
          />
          <div className="whatif-paste-actions">
            <span className="muted small">
              Up to {limits.text_lines} lines at a time, {limits.text_chars.toLocaleString()} characters each · Ctrl+Enter
            </span>
            <button className="btn btn-primary" onClick={submitText} disabled={!textLines(draft).length} data-testid="whatif-submit">
              Predict
            </button>
          </div>
        </div>
      ) : (
        <DropZone onFiles={addFiles}>
          {limits.image_types.join(", ")} · up to {fmtBytes(limits.file_bytes)} each · the type is checked by content
        </DropZone>
      )}
      {notice && (
        <p className="whatif-notice" role="status" data-testid="whatif-notice">
          {notice}
        </p>
      )}

      {entries.length > 0 ? (
        <div className="whatif-grid" data-testid="whatif-results">
          {entries.map((e) => (
            <WhatIfCard key={e.key} entry={e} task={task} classes={info.classes} threshold={threshold} onRemove={() => remove(e.key)} />
          ))}
        </div>
      ) : (
        <p className="muted whatif-empty">
          {text ? "Predictions for each line appear here." : "Predictions for each image appear here; nothing leaves this page but the upload to this Assay server."}
        </p>
      )}
    </div>
  );
}

const cap = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);
