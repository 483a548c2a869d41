import { useEffect } from "react";
import { api } from "../api/client";
import { ApiError } from "../api/client";
import { Empty, ErrorState, Spinner } from "../components/common";
import { useQuery } from "../hooks";
import { fmtDate, taskLabel, versionText } from "../format";
import type { Crumb } from "../App";
import type { EvaluationDetail } from "../api/types";
import { ClassificationPage } from "./ClassificationPage";
import { DetectionPage } from "./DetectionPage";

export function EvalHeader({ ev }: { ev: EvaluationDetail }) {
  return (
    <div className="page-head">
      <div>
        <h1 data-testid="eval-title">{ev.name}</h1>
        <p className="muted">
          <span className="strong-muted">{ev.model ? `${ev.model.name} ${versionText(ev.model.version)}` : "Uploaded predictions"}</span>
          {" × "}
          <span className="strong-muted">{ev.dataset ? `${ev.dataset.name} ${versionText(ev.dataset.version)}` : "dataset"}</span>
          {" · "}
          {taskLabel(ev.task, ev.media)} · {ev.n_samples.toLocaleString()} {ev.task === "detection" ? "images" : "samples"} · {ev.n_classes} classes · {fmtDate(ev.created_at)}
        </p>
      </div>
      <span className={`badge badge-${ev.status}`}>{ev.status}</span>
    </div>
  );
}

export function EvaluationPage({ id, setCrumbs }: { id: number; setCrumbs: (c: Crumb[]) => void }) {
  const q = useQuery((s) => api.evaluation(id, s), [id]);
  useEffect(() => {
    setCrumbs([{ label: q.data?.name ?? `Evaluation ${id}` }]);
  }, [q.data, id, setCrumbs]);

  // Bootstrap intervals are computed in the background: ask again until they are ready.
  const pending = q.data?.intervals_status === "pending";
  useEffect(() => {
    if (!pending) return;
    const id = window.setTimeout(q.reload, 2500);
    return () => window.clearTimeout(id);
  }, [pending, q.data]); // eslint-disable-line react-hooks/exhaustive-deps

  if (q.error) {
    if (q.error instanceof ApiError && q.error.status === 404)
      return (
        <Empty title="Evaluation not found">
          There is no evaluation {id} in this workspace. <a href="#/">Back to evaluations</a>
        </Empty>
      );
    return <ErrorState error={q.error} onRetry={q.reload} />;
  }
  if (!q.data) return <Spinner label="Loading evaluation…" />;
  const ev = q.data;
  if (ev.status !== "done")
    return (
      <div className="page">
        <EvalHeader ev={ev} />
        <Empty title={ev.status === "failed" ? "This evaluation failed" : "This evaluation is still running"}>
          {ev.status === "failed" ? "See the job's error in the CLI output." : "Reload in a moment."}
        </Empty>
      </div>
    );
  return ev.task === "detection" ? <DetectionPage ev={ev} /> : <ClassificationPage ev={ev} />;
}
