import { useEffect, useMemo, useState } from "react";
import { useMutation } from "@tanstack/react-query";
import { api, type EvaluationPublic } from "../../api/client";
import { useEvaluations, useForgetEvaluation } from "./hooks";
import { Empty, ErrorState, Modal, Spinner } from "../../components/common";
import { fmt, fmtDate, taskLabel, versionText } from "../../format";
import { evaluationHref, type Crumb } from "../../routes";
import { compareHref, leaderboardHref } from "../compare/url";
import { agreementHref } from "../agreement/AgreementPage";

function modelText(e: EvaluationPublic) {
  return e.model ? `${e.model.name} ${versionText(e.model.version)}` : "Uploaded predictions";
}
function datasetText(e: EvaluationPublic) {
  return e.dataset ? `${e.dataset.name} ${versionText(e.dataset.version)}` : "—";
}

export function EvaluationsList({ setCrumbs }: { setCrumbs: (c: Crumb[]) => void }) {
  useEffect(() => setCrumbs([]), [setCrumbs]);
  const q = useEvaluations();
  const forget = useForgetEvaluation();
  const [filter, setFilter] = useState("");
  const [toDelete, setToDelete] = useState<EvaluationPublic | null>(null);
  const [picked, setPicked] = useState<number[]>([]); // at most two, for Compare
  const togglePick = (id: number) => setPicked((p) => (p.includes(id) ? p.filter((x) => x !== id) : [...p.slice(-1), id]));
  const del = useMutation({
    mutationFn: (id: number) => api.deleteEvaluation(id),
    onSuccess: (_data, id) => {
      setToDelete(null);
      return forget(id);
    },
  });

  const items = useMemo(() => {
    const all = q.data?.items ?? [];
    const f = filter.trim().toLowerCase();
    if (!f) return all;
    return all.filter((e) =>
      [e.name, e.task, e.status, modelText(e), datasetText(e)].join(" ").toLowerCase().includes(f),
    );
  }, [q.data, filter]);

  // a prediction run (no labels) among the two picked: agreement instead of compare
  const noLabels = (q.data?.items ?? []).some((e) => picked.includes(e.id) && e.predictions_only);

  const confirmDelete = () => {
    if (toDelete) del.mutate(toDelete.id);
  };

  return (
    <div className="page" data-testid="evaluations-page">
      <div className="page-head">
        <div>
          <h1>Evaluations</h1>
          <p className="muted">Each evaluation scores one model version against one dataset version.</p>
        </div>
        {picked.length > 0 && (
          <a
            className={picked.length === 2 ? "btn btn-primary" : "btn disabled"}
            href={
              picked.length === 2
                ? (noLabels ? agreementHref : compareHref)(Math.min(...picked), Math.max(...picked))
                : undefined
            }
            aria-disabled={picked.length !== 2}
            data-testid="compare-picked"
            title={
              noLabels
                ? "A prediction run has no labels: their agreement (the older is A, the newer B)"
                : "The older evaluation is A, the newer B"
            }
          >
            {picked.length === 2 ? (noLabels ? "Agreement of the two" : "Compare the two") : "Pick one more to compare"}
          </a>
        )}
        <input
          className="search"
          type="search"
          placeholder="Filter by model, dataset, task…"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
          data-testid="eval-filter"
        />
      </div>
      {q.error && !q.data ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : !q.data ? (
        <Spinner label="Loading evaluations…" />
      ) : q.data.items.length === 0 ? (
        <Empty title="No evaluations yet">
          Run <code>assay evaluate --gt … --pred …</code> (or <code>python -m assay.demo</code> for the demo models), or add a dataset and
          run a registered model on the <a href="#/models">Models</a> page, then reload.
        </Empty>
      ) : (
        <div className="card table-card">
          <table className="table" data-testid="evaluations-table">
            <thead>
              <tr>
                <th aria-label="Pick to compare" />
                <th>Evaluation</th>
                <th>Model</th>
                <th>Dataset</th>
                <th>Task</th>
                <th>Status</th>
                <th className="num">Headline</th>
                <th className="num">Samples</th>
                <th>Created</th>
                <th aria-label="Actions" />
              </tr>
            </thead>
            <tbody>
              {items.map((e) => (
                <tr
                  key={e.id}
                  className="clickable"
                  data-testid="evaluation-row"
                  data-task={e.task}
                  onClick={() => (window.location.hash = evaluationHref(e.id))}
                >
                  <td onClick={(ev) => ev.stopPropagation()}>
                    <input
                      type="checkbox"
                      aria-label={`Pick ${e.name} to compare`}
                      checked={picked.includes(e.id)}
                      onChange={() => togglePick(e.id)}
                      data-testid="pick-evaluation"
                    />
                  </td>
                  <td>
                    <a href={evaluationHref(e.id)} className="strong" data-testid="evaluation-link">
                      {e.name}
                    </a>
                  </td>
                  <td>{modelText(e)}</td>
                  <td>
                    {datasetText(e)}
                    {e.dataset && e.task !== "multilabel" && e.status === "done" && (
                      <>
                        {" "}
                        <a href={leaderboardHref(e.dataset.version_id)} className="small" title="Every evaluation of this dataset version, ranked, with intervals" data-testid="leaderboard-link">
                          leaderboard
                        </a>
                      </>
                    )}
                  </td>
                  <td>{taskLabel(e.task)}</td>
                  <td>
                    <span className={`badge badge-${e.status}`} title={e.predictions_only ? "A model's predictions on a dataset version without labels: no metrics" : undefined}>
                      {e.predictions_only ? "predictions only" : e.status}
                    </span>
                  </td>
                  <td className="num nowrap" title={e.headline.metric ?? undefined}>
                    {e.predictions_only ? (
                      <span className="muted small" data-testid="predictions-only">no labels</span>
                    ) : e.headline.value !== null ? (
                      <>
                        <span className="muted small">{e.headline.label} </span>
                        <span className="strong">{fmt(e.headline.value)}</span>
                      </>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td className="num">{e.n_samples.toLocaleString()}</td>
                  <td className="nowrap">{fmtDate(e.created_at)}</td>
                  <td>
                    <button
                      className="btn btn-ghost btn-danger btn-sm"
                      onClick={(ev) => {
                        ev.stopPropagation();
                        setToDelete(e);
                      }}
                      data-testid="delete-evaluation"
                    >
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
              {items.length === 0 && (
                <tr>
                  <td colSpan={10} className="muted center">
                    No evaluation matches “{filter}”.
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
      )}
      {toDelete && (
        <Modal title="Delete evaluation?" onClose={() => setToDelete(null)} testid="confirm-delete">
          <p>
            <strong>{toDelete.name}</strong> and its stored results will be removed. Datasets and models stay.
          </p>
          {del.error && <p className="error-text">{del.error.message}</p>}
          <div className="modal-actions">
            <button className="btn" onClick={() => { setToDelete(null); del.reset(); }}>
              Cancel
            </button>
            <button className="btn btn-danger" onClick={confirmDelete} disabled={del.isPending} data-testid="confirm-delete-btn">
              {del.isPending ? "Deleting…" : "Delete"}
            </button>
          </div>
        </Modal>
      )}
    </div>
  );
}
