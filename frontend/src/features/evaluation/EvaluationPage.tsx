import { useEffect } from "react";
import { ApiError } from "../../api/client";
import { useEvaluation } from "./hooks";
import { Empty, ErrorState, Spinner } from "../../components/common";
import { EvalHeader } from "./EvalHeader";
import type { Crumb } from "../../routes";
import { ClassificationPage } from "./ClassificationPage";
import { DetectionPage } from "./DetectionPage";

export function EvaluationPage({ id, setCrumbs }: { id: number; setCrumbs: (c: Crumb[]) => void }) {
  const q = useEvaluation(id);
  const name = q.data?.name;
  useEffect(() => {
    setCrumbs([{ label: name ?? `Evaluation ${id}` }]);
  }, [name, id, setCrumbs]);

  if (q.error) {
    if (q.error instanceof ApiError && q.error.status === 404)
      return (
        <Empty title="Evaluation not found">
          There is no evaluation {id} in this workspace. <a href="#/">Back to evaluations</a>
        </Empty>
      );
    return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  }
  if (!q.data) return <Spinner label="Loading evaluation…" />;
  const ev = q.data;
  if (ev.status !== "done")
    return (
      <div className="page">
        <EvalHeader ev={ev} />
        <Empty title={ev.status === "failed" ? "This evaluation failed" : "This evaluation is still running"}>
          {ev.status === "failed" ? "See the job's error in the CLI output." : "This page updates when it is done."}
        </Empty>
      </div>
    );
  return ev.task === "detection" ? <DetectionPage ev={ev} /> : <ClassificationPage ev={ev} />;
}
