// The Models page: every model version (with its parent), what it can run on, "Calculate" starting
// a background job whose live progress turns into "View results" with the headline metric. All of
// it comes from the server (jobs live in the catalog), so a reload shows the same state.
import { useEffect, useMemo, useRef, useState } from "react";
import type { DatasetCreate, DatasetVersionPublic, JobPublic, ModelPublic, ModelVersionPublic } from "../../api/client";
import { useAddDataset, useCalculate, useCancelJob, useDatasets, useJobs, useModels, useRefreshAfterJob } from "./hooks";
import { CompareWithParent } from "../agreement/CompareWithParent";
import { DatasetForm, createdText } from "./DatasetForm";
import { Empty, ErrorState, Spinner } from "../../components/common";
import { fmt, fmtDate, taskLabel, versionText } from "../../format";
import { modelChoices, whyNot } from "../../lib/datasets";
import { currentJob, etaText, isActive, jobText, rate, type Sample } from "./jobs";
import { evaluationHref, whatIfHref, type Crumb } from "../../routes";
import { compareHref } from "../compare/url";
import { OptimizeControls, SpeedCell } from "./OptimizePanel";
import "./ModelsPage.css";

export function ModelsPage({ setCrumbs }: { setCrumbs: (c: Crumb[]) => void }) {
  useEffect(() => setCrumbs([{ label: "Models" }]), [setCrumbs]);
  const models = useModels();
  const datasets = useDatasets({ fresh: true });
  const jobs = useJobs();
  const refreshAfterJob = useRefreshAfterJob();
  const add = useAddDataset();

  // A job that has just ended brings its evaluation: fetch the models (and evaluations) again.
  const active = useMemo(() => new Set((jobs.data?.items ?? []).filter(isActive).map((j) => j.id)), [jobs.data]);
  const lastActive = useRef<Set<number>>(new Set());
  useEffect(() => {
    const ended = [...lastActive.current].some((id) => !active.has(id));
    lastActive.current = active;
    if (ended) refreshAfterJob();
  }, [active, refreshAfterJob]);

  const [adding, setAdding] = useState(false);
  const versions = useMemo(() => (datasets.data?.items ?? []).flatMap((d) => d.versions ?? []), [datasets.data]);

  const error = models.error ?? datasets.error ?? jobs.error;
  if (error && !models.data) return <ErrorState error={error} onRetry={() => void models.refetch()} />;
  if (!models.data || !datasets.data || !jobs.data) return <Spinner label="Loading models…" />;
  const items = models.data.items;
  const addDataset = async (body: DatasetCreate) => ({ created: await add(body) });
  return (
    <div className="page" data-testid="models-page">
      <div className="page-head">
        <div>
          <h1>Models</h1>
          <p className="muted">
            Each version with its parent. Pick an evaluation dataset and press Calculate: the model runs in the background and its results
            appear here.
          </p>
        </div>
        <button className="btn" onClick={() => setAdding(true)} data-testid="add-dataset" title="Register a file or folder on the server's disk as a dataset version">
          Add a dataset
        </button>
      </div>
      {adding && <DatasetForm title="Add a dataset" submitLabel="Add" onSubmit={addDataset} onClose={() => setAdding(false)} testid="add-dataset-form" />}
      {items.length === 0 ? (
        <Empty title="No models yet">
          Register one with <code>assay models add model.onnx --name NAME</code>, or run <code>assay evaluate --gt … --model model.onnx</code>.
        </Empty>
      ) : (
        items.map((m) => <ModelCard key={m.id} model={m} versions={versions} jobs={jobs.data.items} />)
      )}
    </div>
  );
}

function ModelCard({ model, versions, jobs }: { model: ModelPublic; versions: DatasetVersionPublic[]; jobs: JobPublic[] }) {
  return (
    <section className="card model-card" data-testid="model-card" data-model={model.name}>
      <h2 className="model-name">{model.name}</h2>
      <table className="table models-table">
        <thead>
          <tr>
            <th>Version</th>
            <th>Parent</th>
            <th>Task</th>
            <th>Runner</th>
            <th className="num">Classes</th>
            <th>Results</th>
            <th title="assay models profile: latency, throughput, size and peak memory">Speed</th>
            <th>Evaluate on</th>
          </tr>
        </thead>
        <tbody>
          {(model.versions ?? []).map((v) => (
            <VersionRow key={v.id} version={v} versions={versions} jobs={jobs} parent={(model.versions ?? []).find((p) => p.id === v.parent_version_id)} />
          ))}
        </tbody>
      </table>
    </section>
  );
}

/** The newest pair (parent's evaluation, this version's) on one dataset version, if any; runs
 * without labels (no headline metric) have nothing to compare with labels and are skipped. */
function parentPair(v: ModelVersionPublic, parent: ModelVersionPublic | undefined): { a: number; b: number } | null {
  const labeled = (e: { headline_metric: string | null }) => e.headline_metric !== null;
  for (const mine of (v.evaluations ?? []).filter(labeled)) {
    const theirs = (parent?.evaluations ?? []).filter(labeled).find((e) => e.dataset_version_id === mine.dataset_version_id);
    if (theirs) return { a: theirs.id, b: mine.id };
  }
  return null;
}

function VersionRow({
  version: v,
  versions,
  jobs,
  parent,
}: {
  version: ModelVersionPublic;
  versions: DatasetVersionPublic[];
  jobs: JobPublic[];
  parent?: ModelVersionPublic;
}) {
  const pair = parentPair(v, parent);
  // only the versions this model can take (task, and images or texts as it reads them); the one
  // picked first is one it has not been run on yet
  const { choices, preselected } = useMemo(
    () => (v.task === null ? { choices: [], preselected: null } : modelChoices(v, versions, (v.evaluations ?? []).map((e) => e.dataset_version_id))),
    [v, versions],
  );
  const [picked, setPicked] = useState<number | null>(null);
  const datasetId = picked !== null && choices.some((c) => c.id === picked) ? picked : preselected;
  const [newDataset, setNewDataset] = useState(false);
  const evaluations = v.evaluations ?? [];
  const newestEval = evaluations[0] ?? null;
  const job = currentJob(jobs, v.id, newestEval?.created_at ?? null);
  const calculate = useCalculate(v.id);
  const cancel = useCancelJob();
  const add = useAddDataset();
  const busy = job !== null && isActive(job);
  // "Evaluate on a new dataset": register the path, check the model can take it, start the job
  const evaluateNew = async (body: DatasetCreate) => {
    const created = await add(body);
    const why = whyNot(v, created);
    if (why) throw new Error(`${createdText(created)}, but ${versionText(v.version)} cannot run on it: ${why}.`);
    await calculate.mutateAsync(created.id);
    setPicked(created.id);
    return { created, message: `Calculating ${v.model_name} ${versionText(v.version)} on it: the progress shows in the row.` };
  };

  return (
    <tr data-testid="version-row" data-version={v.version}>
      <td className="nowrap">
        <span className="strong">{versionText(v.version)}</span>
        <div className="muted small">{fmtDate(v.created_at)}</div>
      </td>
      <td className="nowrap">{v.parent_version ? <span data-testid="parent">parent: {versionText(v.parent_version)}</span> : <span className="muted">—</span>}
        {pair && (
          <div>
            <a className="small" href={compareHref(pair.a, pair.b)} data-testid="compare-with-parent">
              Compare with parent
            </a>
          </div>
        )}
        {parent && <CompareWithParent version={v} parent={parent} versions={versions} jobs={jobs} />}</td>
      <td>{v.task ? taskLabel(v.task) : <span className="muted">predictions only</span>}</td>
      <td>{v.backend ?? <span className="muted">—</span>}</td>
      <td className="num">{v.classes ? v.classes.length : "—"}</td>
      <td>
        {evaluations.length === 0 ? (
          <span className="muted">No results yet</span>
        ) : (
          <ul className="version-evals">
            {evaluations.slice(0, 3).map((e) => (
              <li key={e.id}>
                <a className="btn btn-sm btn-primary" href={evaluationHref(e.id)} data-testid="view-results">
                  View results
                </a>{" "}
                <span className="muted small">{e.dataset_name} {versionText(e.dataset_version)}</span>{" "}
                {e.headline_value !== null && (
                  <span className="small" title={e.headline_metric ?? undefined}>
                    {headlineLabel(e.headline_metric)} <span className="strong">{fmt(e.headline_value)}</span>
                  </span>
                )}
              </li>
            ))}
          </ul>
        )}
      </td>
      <td>
        <SpeedCell version={v} parent={parent} jobs={jobs} />
      </td>
      <td className="calc-cell">
        {!v.runnable ? (
          <span className="muted small">Registered from predictions: nothing to run</span>
        ) : choices.length === 0 ? (
          <span className="muted small" data-testid="no-dataset">
            No dataset in the workspace this model can take ({v.task ? taskLabel(v.task, v.media === "table" ? null : v.media).toLowerCase() : ""})
          </span>
        ) : (
          <div className="calc">
            <select
              aria-label="Evaluation dataset"
              value={datasetId ?? undefined}
              onChange={(e) => setPicked(Number(e.target.value))}
              disabled={busy}
              data-testid="dataset-picker"
            >
              {choices.map((c) => (
                <option key={c.id} value={c.id}>
                  {c.label}
                </option>
              ))}
            </select>
            <button
              className="btn btn-sm"
              disabled={busy || datasetId === null || calculate.isPending}
              onClick={() => datasetId !== null && calculate.mutate(datasetId)}
              data-testid="calculate"
            >
              {job?.status === "failed" ? "Retry" : "Calculate"}
            </button>
            <a className="btn btn-sm btn-ghost" href={whatIfHref(v.id)} data-testid="version-whatif">
              What if…
            </a>
          </div>
        )}
        {v.runnable && v.task !== null && (
          <div>
            <button className="btn btn-ghost btn-sm" onClick={() => setNewDataset(true)} disabled={busy} data-testid="evaluate-new">
              Evaluate on a new dataset…
            </button>
          </div>
        )}
        {newDataset && v.task !== null && (
          <DatasetForm
            title={`Evaluate ${v.model_name} ${versionText(v.version)} on a new dataset`}
            task={v.task}
            submitLabel="Add and calculate"
            onSubmit={evaluateNew}
            onClose={() => setNewDataset(false)}
            testid="evaluate-new-form"
          />
        )}
        <OptimizeControls version={v} datasets={versions} jobs={jobs} />
        {calculate.error && <div className="job-error small">{calculate.error.message}</div>}
        {job && <JobStatus job={job} onCancel={() => cancel.mutate(job.id)} />}
      </td>
    </tr>
  );
}

function JobStatus({ job, onCancel }: { job: JobPublic; onCancel: () => void }) {
  const prev = useRef<Sample | undefined>(undefined);
  const [speed, setSpeed] = useState<number | null>(null);
  useEffect(() => {
    const cur = { done: job.done, at: Date.now() };
    const r = rate(prev.current, cur);
    if (r !== null) setSpeed((s) => (s === null ? r : 0.6 * s + 0.4 * r));
    if (!prev.current || cur.done !== prev.current.done) prev.current = cur;
  }, [job.done]);
  const fraction = job.total ? Math.min(1, job.done / job.total) : 0;
  const eta = job.total ? etaText(job.total - job.done, speed) : null;
  return (
    <div className={`job job-${job.status}`} data-testid="job-status" data-status={job.status}>
      <div className="job-line small">
        <span>{jobText(job)}</span>
        {job.status === "running" && speed !== null && <span className="muted"> · {Math.round(speed).toLocaleString()} samples/s</span>}
        {job.status === "running" && eta && <span className="muted"> · {eta} left</span>}
        {isActive(job) && (
          <button className="btn btn-ghost btn-sm" onClick={onCancel} data-testid="cancel-job">
            Cancel
          </button>
        )}
      </div>
      {job.status === "running" && (
        <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={job.total ?? 0} aria-valuenow={job.done}>
          <div className="progress-fill" style={{ width: `${(fraction * 100).toFixed(1)}%` }} />
        </div>
      )}
    </div>
  );
}

function headlineLabel(metric: string | null): string {
  if (!metric) return "";
  const words: Record<string, string> = { roc_auc_macro: "ROC AUC", accuracy: "Accuracy", AP: "mAP" };
  return words[metric] ?? metric.replace(/_/g, " ");
}
