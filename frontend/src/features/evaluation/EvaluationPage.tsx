import { useEffect } from "react";
import { ApiError } from "../../api/client";
import { useEvaluation, useEvaluations } from "./hooks";
import { Empty, ErrorState, Spinner } from "../../components/common";
import { EvalHeader } from "./EvalHeader";
import type { Crumb } from "../../routes";
import { ClassificationPage } from "./ClassificationPage";
import { DetectionPage } from "./DetectionPage";
import { agreementHref } from "../agreement/AgreementPage";

/** A prediction run (a model's scores on a dataset version without labels): no metrics to show,
 * so a panel that says why and links to its agreement with the other runs on the same data. */
function PredictionsOnly({ id }: { id: number }) {
  const list = useEvaluations();
  const me = list.data?.items.find((e) => e.id === id);
  const others = (list.data?.items ?? []).filter(
    (e) => e.id !== id && me && e.dataset.version_id === me.dataset.version_id,
  );
  return (
    <div className="page" data-testid="predictions-only">
      <Empty title="Predictions only: this dataset version has no labels">
        {me ? (
          <>
            <strong>{me.model ? `${me.model.name} ${me.model.version}` : "This model"}</strong> ran on{" "}
            <strong>{me.dataset.name}</strong> ({me.n_samples.toLocaleString()} samples), which was registered without
            labels.{" "}
          </>
        ) : null}
        Its predictions are kept, but with nothing to score them against there are no metrics, confusion matrix,
        data quality or report. What it offers is agreement with another run on the same samples: where the two
        models say the same class, Cohen's kappa and the samples they disagree on.
        {others.length > 0 ? (
          others.map((o) => (
            <p key={o.id}>
              <a href={agreementHref(id, o.id)} data-testid="agreement-link">
                Agreement with {o.name}
              </a>
            </p>
          ))
        ) : (
          <p>Run another model on this dataset version (Models page, Calculate) to compare the two.</p>
        )}
      </Empty>
    </div>
  );
}

export function EvaluationPage({ id, setCrumbs }: { id: number; setCrumbs: (c: Crumb[]) => void }) {
  const q = useEvaluation(id);
  const name = q.data?.name;
  useEffect(() => {
    setCrumbs([{ label: name ?? `Evaluation ${id}` }]);
  }, [name, id, setCrumbs]);

  if (q.error) {
    if (q.error instanceof ApiError && q.error.status === 422 && q.error.message.includes("prediction run"))
      return <PredictionsOnly id={id} />;
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
