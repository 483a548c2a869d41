// The data-quality page of an evaluation (#/evaluations/<id>/quality): while the server computes
// the samples' properties, a progress bar; then which properties go with the model's errors
// (importance chart and table), performance per bin of a chosen property (with its interval and
// the bin counts, for all classes or one), an explorer of the samples ranked by a property,
// near-duplicates (and leakage from a training set) and likely label errors.
import { useEffect, useMemo, useState } from "react";
import { ApiError } from "../../api/client";
import { useEvaluation } from "../evaluation/hooks";
import { useDatasets } from "../models/hooks";
import { retryQuality, useQualityBins, useQualityReport } from "./hooks";
import type { QualityImportance, QualityReady, QualityRunning } from "./types";
import { BIN_COUNTS, DEFAULT_BINS, useQualityView, type QualityView, type SetQualityView } from "./url";
import { Chart } from "../../components/Chart";
import { Empty, ErrorState, Panel, Segmented, Spinner } from "../../components/common";
import { leakageChoices } from "../../lib/datasets";
import { evaluationHref, type Crumb } from "../../routes";
import { binsOption, importanceMeasure, importanceOption, pValue, RATE_WORDS, short, type RateKey } from "./qualityCharts";
import { ClassPicker, Duplicates, Explorer, LabelIssues, PropertyPicker } from "./QualitySamples";
import { WeakestSlices } from "./WeakestSlices";
import "./QualityPage.css";

export function QualityPage({ id, setCrumbs }: { id: number; setCrumbs: (c: Crumb[]) => void }) {
  const ev = useEvaluation(id);
  const name = ev.data?.name;
  useEffect(() => {
    setCrumbs([{ label: name ?? `Evaluation ${id}`, href: evaluationHref(id) }, { label: "Data quality" }]);
  }, [name, id, setCrumbs]);
  // the view (training set, property, bins, explorer filters) lives in the URL: reload and Back keep it
  const [view, setView] = useQualityView(id);
  const train = view.train;
  const setTrain = (v: number | undefined) => setView({ train: v });
  const q = useQualityReport(id, train ?? null);
  const [retrying, setRetrying] = useState(false);

  if (q.error) {
    if (q.error instanceof ApiError && q.error.status === 404)
      return (
        <Empty title="Evaluation not found">
          There is no evaluation {id} in this workspace. <a href="#/">Back to evaluations</a>
        </Empty>
      );
    return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  }
  if (!q.data) return <Spinner label="Starting the data-quality analysis…" />;
  const data = q.data;
  const head = (
    <Head
      id={id}
      name={data.status === "ready" ? data.name : name}
      ready={data.status === "ready" ? data : null}
      picker={<TrainPicker datasetVersion={ev.data?.dataset?.version_id} task={ev.data?.task} media={ev.data?.media} train={train} setTrain={setTrain} />}
    />
  );
  if (data.status === "running")
    return (
      <div className="page quality-page" data-testid="quality-page" data-status="running">
        {head}
        <Progress run={data} />
      </div>
    );
  if (data.status === "failed")
    return (
      <div className="page quality-page" data-testid="quality-page" data-status="failed">
        {head}
        <div className="state state-error" role="alert" data-testid="quality-failed">
          <div className="state-title">The data-quality analysis failed</div>
          <div className="state-detail">{data.error}</div>
          <button
            className="btn"
            disabled={retrying}
            onClick={() => {
              setRetrying(true);
              void retryQuality(id)
                .then(() => q.refetch())
                .finally(() => setRetrying(false));
            }}
          >
            Try again
          </button>
        </div>
      </div>
    );
  return <Report data={data} head={head} view={view} setView={setView} />;
}

/** The training set to look for leakage in: another dataset version of the same task holding the
 * same media (images or texts). */
function TrainPicker({
  datasetVersion,
  task,
  media,
  train,
  setTrain,
}: {
  datasetVersion?: number;
  task?: string;
  media?: "image" | "text" | null;
  train?: number;
  setTrain: (v: number | undefined) => void;
}) {
  const datasets = useDatasets();
  const versions = leakageChoices({ versionId: datasetVersion, task, media }, (datasets.data?.items ?? []).flatMap((d) => d.versions ?? []));
  if (!versions.length) return null;
  return (
    <label className="quality-train" title="Looks for test samples with a near-copy in this training set (leakage)">
      <span className="muted small">Leakage from </span>
      <select value={train ?? ""} onChange={(e) => setTrain(e.target.value ? Number(e.target.value) : undefined)} data-testid="quality-train">
        <option value="">no training set</option>
        {versions.map((v) => (
          <option key={v.id} value={v.id}>
            {v.dataset_name} {v.version} ({v.n_samples.toLocaleString()})
          </option>
        ))}
      </select>
    </label>
  );
}

function Head({ id, name, ready, picker }: { id: number; name?: string; ready: QualityReady | null; picker?: React.ReactNode }) {
  const point = ready?.point;
  const at = point
    ? "threshold" in point
      ? ready?.task === "classification" && point.threshold === 0
        ? "the argmax (no threshold)"
        : `threshold ${short(point.threshold)}`
      : `IoU ${short(point.iou)}, confidence ${short(point.score)}`
    : null;
  return (
    <div className="page-head">
      <div>
        <h1 data-testid="quality-title">Data quality</h1>
        <p className="muted">
          <a href={evaluationHref(id)} data-testid="quality-back">
            ← {name ?? `Evaluation ${id}`}
          </a>
          {ready && (
            <>
              {" · "}
              {ready.n_samples.toLocaleString()} {ready.task === "detection" ? "images" : "samples"}, {ready.n_correct.toLocaleString()} right at {at}
              {ready.task === "detection" && " (an image is right with no FP and no FN)"}
              {ready.timing_s !== null && <span className="small"> · analysed in {ready.timing_s.toFixed(1)} s</span>}
            </>
          )}
        </p>
      </div>
      {picker}
    </div>
  );
}

function Progress({ run }: { run: QualityRunning }) {
  const share = run.total > 0 ? run.done / run.total : 0;
  const words =
    run.stage === "queued"
      ? "Waiting for another analysis to finish…"
      : run.stage === "properties"
        ? `Computing the samples' properties: ${run.done.toLocaleString()} of ${run.total.toLocaleString()}`
        : `Ranking the properties (step ${run.done.toLocaleString()} of ${run.total.toLocaleString()}), then near-duplicates and label errors…`;
  return (
    <section className="card quality-progress" data-testid="quality-progress" data-stage={run.stage} data-done={run.done} data-total={run.total}>
      <div className="quality-progress-words">
        <span className="spinner spinner-sm" aria-hidden /> {words}
      </div>
      <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={run.total} aria-valuenow={run.done}>
        <div className="progress-fill" style={{ width: `${Math.round(share * 100)}%` }} />
      </div>
      <p className="muted small">Properties are computed once per dataset version and kept; the next visit is quick.</p>
    </section>
  );
}

function Report({ data, head, view, setView }: { data: QualityReady; head: React.ReactNode; view: QualityView; setView: SetQualityView }) {
  const ranked = data.importance;
  const descriptions = useMemo(() => new Map(data.properties.map((p) => [p.name, p.description])), [data.properties]);
  const first = ranked[0]?.property ?? data.properties[0]?.name ?? "";
  // a property the URL names but this analysis lacks falls back to the most important one
  const property = view.property && data.properties.some((p) => p.name === view.property) ? view.property : first;
  // another property starts the explorer again at its first page
  const setProperty = (p: string) => setView({ property: p === first ? undefined : p, offset: undefined });
  const ev = useEvaluation(data.evaluation_id);
  const classes = ev.data?.classes ?? [];
  return (
    <div className="page quality-page" data-testid="quality-page" data-status="ready">
      {head}
      {data.notes.length > 0 && (
        <div className="quality-notes" data-testid="quality-notes">
          {data.notes.map((n) => (
            <div key={n} className="muted small">
              {n}
            </div>
          ))}
        </div>
      )}
      {data.media === "text" && (
        <p className="muted small quality-kind">A text set: its properties are the texts' length, tokens, share of out-of-vocabulary tokens and uniqueness (text sets have no image properties).</p>
      )}
      {data.properties.length === 0 ? (
        <Empty title="No properties to analyse">This dataset has no images, no texts and no numeric or categorical metadata columns.</Empty>
      ) : (
        <>
          <Importance rows={ranked} descriptions={descriptions} onPick={setProperty} />
          <ByProperty data={data} property={property} setProperty={setProperty} classes={classes} view={view} setView={setView} />
          <Explorer data={data} property={property} setProperty={setProperty} classes={classes} view={view} setView={setView} />
          <WeakestSlices data={data} />
        </>
      )}
      <div className="quality-grid">
        <Duplicates data={data} />
        <LabelIssues data={data} />
      </div>
    </div>
  );
}

function Importance({ rows, descriptions, onPick }: { rows: QualityImportance[]; descriptions: Map<string, string>; onPick: (p: string) => void }) {
  const option = useMemo(() => importanceOption(rows, descriptions), [rows, descriptions]);
  const measure = importanceMeasure(rows);
  return (
    <Panel title="Which properties go with the errors" testid="quality-importance">
      <p className="muted small quality-lead">
        {measure === "importance"
          ? "Importance: how much worse a model predicting right / wrong from all the properties does (drop in held-out ROC AUC) when this one is shuffled. "
          : "Too few samples or errors to fit a model: the properties are ranked by the size of Spearman's ρ only. "}
        Green bars: higher values go with right answers; red: with errors. Click a row to look at it below.
      </p>
      <div className="quality-importance">
        <Chart option={option} height={Math.max(160, 26 * rows.length + 40)} testid="importance-chart" />
        <table className="table table-dense" data-testid="importance-table">
          <thead>
            <tr>
              <th>#</th>
              <th>Property</th>
              <th className="num" title="Mean drop in held-out ROC AUC of a model predicting right / wrong when this property is shuffled (3 folds × 10 shuffles); ± its standard deviation">
                Importance
              </th>
              <th className="num no-caps" title="Spearman's rank correlation with being right: positive, higher values are right more often">
                Spearman ρ
              </th>
              <th className="num" title="p-value of Spearman's ρ (no correlation)">
                p
              </th>
              <th className="num" title="Samples where the property has a value">
                n
              </th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => (
              <tr key={r.property} className="clickable" onClick={() => onPick(r.property)} data-testid="importance-row" data-property={r.property}>
                <td className="muted">{i + 1}</td>
                <td title={descriptions.get(r.property)}>{r.property}</td>
                <td className="num" title={r.importance === null ? "Not fitted (constant property, or too few samples or errors)" : `± ${short(r.importance_std)}`}>
                  {short(r.importance)}
                </td>
                <td className={`num ${r.spearman === null ? "" : r.spearman >= 0 ? "good-text" : "bad-text"}`}>{short(r.spearman)}</td>
                <td className="num">{pValue(r.spearman_p)}</td>
                <td className="num">{r.n.toLocaleString()}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </Panel>
  );
}

function ByProperty({
  data,
  property,
  setProperty,
  classes,
  view,
  setView,
}: {
  data: QualityReady;
  property: string;
  setProperty: (p: string) => void;
  classes: string[];
  view: QualityView;
  setView: SetQualityView;
}) {
  const label = view.label ?? "";
  const setLabel = (v: string) => setView({ label: v || undefined });
  const rate = view.rate ?? "tpr";
  const setRate = (v: "tpr" | "precision") => setView({ rate: v === "tpr" ? undefined : v });
  const bins = view.bins ?? DEFAULT_BINS;
  const setBins = (n: number) => setView({ bins: n === DEFAULT_BINS ? undefined : n });
  const id = data.evaluation_id;
  const q = useQualityBins(id, { property, bins, label: label || undefined });
  const key: RateKey = label ? rate : "accuracy";
  const shown = q.data;
  const option = useMemo(() => (shown ? binsOption(shown.bins, key, shown.property) : null), [shown, key]);
  const description = data.properties.find((p) => p.name === property)?.description;
  return (
    <Panel
      title="Performance by property"
      testid="quality-bins"
      busy={q.isFetching && q.isPlaceholderData}
      actions={
        <>
          <PropertyPicker data={data} value={property} onChange={setProperty} testid="bins-property" />
          <ClassPicker classes={classes} value={label} onChange={setLabel} testid="bins-class" />
          {label && (
            <Segmented
              value={rate}
              options={[
                { value: "tpr", label: RATE_WORDS.tpr },
                { value: "precision", label: RATE_WORDS.precision },
              ]}
              onChange={setRate}
              testid="bins-rate"
            />
          )}
          <label className="quality-field">
            Bins
            <select className="select" value={bins} onChange={(e) => setBins(Number(e.target.value))} data-testid="bins-count">
              {BIN_COUNTS.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
        </>
      }
    >
      <p className="muted small quality-lead">
        {description && <span className="strong-muted">{property}: {description}. </span>}
        {label ? `${RATE_WORDS[key]} of ${label}` : "Accuracy"} per {data.properties.find((p) => p.name === property)?.categories ? "category" : "quantile bin"}{" "}
        with its 95% Wilson interval (shaded); grey bars: samples per bin.
        {shown && shown.n_missing > 0 && ` ${shown.n_missing.toLocaleString()} samples have no value and are left out.`}
      </p>
      {q.error ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : !option || !shown ? (
        <Spinner />
      ) : shown.bins.length === 0 ? (
        <Empty title="No sample has a value for this property" />
      ) : (
        <div data-testid="bins-chart-wrap" data-property={shown.property} data-label={shown.label ?? ""} data-bins={shown.bins.length}>
          <Chart option={option} height={300} testid="bins-chart" />
        </div>
      )}
    </Panel>
  );
}
