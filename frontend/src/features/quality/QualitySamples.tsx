// The sample lists of the data-quality page: the explorer (samples ranked by a property, filtered
// by outcome and class), near-duplicate groups and leakage, and the likely label errors. Every
// sample opens the evaluation's sample view.
import { useQualityExplore } from "./hooks";
import { DEFAULT_OUTCOME, type OutcomeFilter, type QualityView, type SetQualityView } from "./url";
import type { ExploreItem, QualityReady, SampleRef } from "./types";
import { Empty, ErrorState, Panel, Segmented, Spinner } from "../../components/common";
import { Media } from "../../components/Media";
import { fmt, labelText } from "../../format";
import { evaluationHref } from "../../routes";
import { short } from "./qualityCharts";

const PAGE = 48;

function outcomeOptions(task: QualityReady["task"], label: string): { value: OutcomeFilter; label: string }[] {
  const all = { value: "" as const, label: "All" };
  if (label || task === "detection")
    return [all, { value: "tp", label: "TP" }, { value: "fp", label: "FP" }, { value: "fn", label: "FN" }, { value: "incorrect", label: "Any error" }];
  return [all, { value: "correct", label: "Correct" }, { value: "incorrect", label: "Incorrect" }];
}

/** A sample's picture or text, never a broken image. */
function Thumb({ s, className }: { s: SampleRef | ExploreItem; className?: string }) {
  if (s.text !== null && s.text !== undefined)
    return (
      <span className={`quality-text ${className ?? ""}`} title={s.text}>
        {s.text}
      </span>
    );
  return (
    <span className={`thumb ${className ?? ""}`}>
      <Media src={s.thumbnail_url} alt={s.id} fallback={s.id} />
    </span>
  );
}

export function PropertyPicker({ data, value, onChange, testid }: { data: QualityReady; value: string; onChange: (v: string) => void; testid: string }) {
  return (
    <label className="quality-field">
      Property
      <select className="select" value={value} onChange={(e) => onChange(e.target.value)} data-testid={testid}>
        {data.properties.map((p) => (
          <option key={p.name} value={p.name} title={p.description}>
            {p.name} ({p.kind})
          </option>
        ))}
      </select>
    </label>
  );
}

export function ClassPicker({ classes, value, onChange, testid }: { classes: string[]; value: string; onChange: (v: string) => void; testid: string }) {
  return (
    <label className="quality-field">
      Class
      <select className="select" value={value} onChange={(e) => onChange(e.target.value)} data-testid={testid}>
        <option value="">All classes</option>
        {classes.map((c) => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </select>
    </label>
  );
}

export function Explorer({
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
  const id = data.evaluation_id;
  // the filters live in the URL (xclass, outcome, order, offset); a new filter starts at the first page
  const label = view.xlabel ?? "";
  const outcome = view.outcome ?? DEFAULT_OUTCOME;
  const descending = view.order !== "asc";
  const offset = view.offset ?? 0;
  const setOffset = (n: number) => setView({ offset: n > 0 ? n : undefined });
  const options = outcomeOptions(data.task, label);
  const chosen = options.some((o) => o.value === outcome) ? outcome : "";
  const q = useQualityExplore(id, { property, outcome: chosen || undefined, label: label || undefined, descending, offset, limit: PAGE });
  const page = q.data;
  return (
    <Panel
      title="Explorer"
      testid="quality-explorer"
      busy={q.isFetching && q.isPlaceholderData}
      actions={
        <>
          <PropertyPicker data={data} value={property} onChange={setProperty} testid="explore-property" />
          <Segmented
            value={descending ? "desc" : "asc"}
            options={[
              { value: "desc", label: "Highest first" },
              { value: "asc", label: "Lowest first" },
            ]}
            onChange={(v) => setView({ order: v === "asc" ? "asc" : undefined, offset: undefined })}
            testid="explore-order"
          />
          <ClassPicker classes={classes} value={label} onChange={(v) => setView({ xlabel: v || undefined, offset: undefined })} testid="explore-class" />
          <Segmented value={chosen} options={options} onChange={(v) => setView({ outcome: v === DEFAULT_OUTCOME ? undefined : v, offset: undefined })} testid="explore-outcome" />
        </>
      }
    >
      {q.error ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : !page ? (
        <Spinner />
      ) : page.total === 0 ? (
        <Empty title="No sample matches these filters" />
      ) : (
        <>
          <p className="muted small quality-lead" data-testid="explore-count" data-total={page.total}>
            {page.offset + 1}–{page.offset + page.items.length} of {page.total.toLocaleString()} samples, by {property} ({descending ? "highest" : "lowest"} first; samples
            without a value last)
          </p>
          <div className={`quality-cards ${data.media === "text" ? "is-text" : ""}`} data-testid="explore-items">
            {page.items.map((s) => (
              <ExploreCard key={s.index} s={s} evaluationId={id} />
            ))}
          </div>
          <div className="quality-pager">
            <button className="btn btn-sm" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))} data-testid="explore-prev">
              Previous
            </button>
            <button className="btn btn-sm" disabled={offset + PAGE >= page.total} onClick={() => setOffset(offset + PAGE)} data-testid="explore-next">
              Next
            </button>
          </div>
        </>
      )}
    </Panel>
  );
}

function ExploreCard({ s, evaluationId }: { s: ExploreItem; evaluationId: number }) {
  const good = s.outcome === "correct" || s.outcome === "tp" || s.outcome === "tn";
  const value = typeof s.value === "number" ? short(s.value) : (s.value ?? "no value");
  return (
    <a
      className={`quality-card ${good ? "ok" : "bad"}`}
      href={evaluationHref(evaluationId, { sample: s.index })}
      data-testid="explore-item"
      data-index={s.index}
      data-outcome={s.outcome}
      title={`${s.id}: open the sample`}
    >
      <Thumb s={s} />
      <span className="quality-card-meta">
        <span className="strong">{value}</span>
        <span className="small truncate">
          {labelText(s.actual, "actual")} → <span className={good ? "pred-ok" : "pred-bad"}>{labelText(s.predicted)}</span>
        </span>
        {s.tp !== null && (
          <span className="chips">
            <span className="chip chip-tp">{s.tp}</span>
            <span className="chip chip-fp">{s.fp}</span>
            <span className="chip chip-fn">{s.fn}</span>
          </span>
        )}
        {s.possible_label_error && (
          <span className="label-pill pill-warn" data-testid="possible-label-error" title="Confident learning: the model is confident in another class">
            possible label error
          </span>
        )}
      </span>
    </a>
  );
}

export function Duplicates({ data }: { data: QualityReady }) {
  const d = data.duplicates;
  const id = data.evaluation_id;
  const what = d.kind === "image" ? "images (perceptual hash within 4 bits)" : "texts (MinHash Jaccard ≥ 0.8)";
  return (
    <Panel title={`Near-duplicates${d.n_groups ? ` · ${d.n_groups} group${d.n_groups === 1 ? "" : "s"}` : ""}`} testid="quality-duplicates">
      {d.kind === null ? (
        <Empty title="No duplicate search">This dataset has no images or texts to compare.</Empty>
      ) : d.groups.length === 0 ? (
        <Empty title="No near-duplicates found">No two {what} are near-copies of each other.</Empty>
      ) : (
        <>
          <p className="muted small quality-lead">
            Groups of near-copy {what}, largest first{d.n_groups > d.groups.length ? ` (the ${d.groups.length} largest shown)` : ""}. Copies in a test set count twice.
          </p>
          <div className={`quality-groups is-${d.kind}`}>
            {d.groups.map((g) => (
              <div key={g.indices.join(",")} className="quality-group" data-testid="duplicate-group">
                <span className="muted small">
                  {g.indices.length} samples · distance {short(g.distance)}
                </span>
                <div className={`quality-group-items ${d.kind === "text" ? "is-text" : ""}`}>
                  {g.items.map((s) => (
                    <a key={s.index} href={evaluationHref(id, { sample: s.index })} className="quality-mini" title={`${s.id}: open the sample`}>
                      <Thumb s={s} />
                      <span className="small truncate">{s.id}</span>
                    </a>
                  ))}
                </div>
              </div>
            ))}
          </div>
        </>
      )}
      {d.leakage !== null && (
        <div className="quality-leakage" data-testid="quality-leakage">
          <h3 className="subhead">Leakage from training set (dataset version {d.train_id})</h3>
          {d.leakage.length === 0 ? (
            <p className="muted">No test sample has a near-copy in the training set.</p>
          ) : (
            <table className="table table-dense">
              <thead>
                <tr>
                  <th>Test sample</th>
                  <th>Training sample</th>
                  <th className="num">Distance</th>
                </tr>
              </thead>
              <tbody>
                {d.leakage.map((r) => (
                  <tr key={r.index}>
                    <td>
                      <a href={evaluationHref(id, { sample: r.index })}>{r.id}</a>
                    </td>
                    <td>{r.train_id}</td>
                    <td className="num">{short(r.distance)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </div>
      )}
    </Panel>
  );
}

export function LabelIssues({ data }: { data: QualityReady }) {
  const id = data.evaluation_id;
  const issues = data.label_issues;
  return (
    <Panel title={`Possible label errors${data.n_label_issues ? ` · ${data.n_label_issues}` : ""}`} testid="quality-label-issues">
      {data.task !== "classification" ? (
        <Empty title="Not for this task">Likely label errors are looked for in single-label classification.</Empty>
      ) : issues.length === 0 ? (
        <Empty title="No likely label errors">The model is nowhere confident that a sample belongs to another class than its label.</Empty>
      ) : (
        <>
          <p className="muted small quality-lead">
            Confident learning (cleanlab): the model is confident in another class than the given label. Most likely first
            {data.n_label_issues > issues.length ? `; the ${issues.length} most likely shown` : ""}. Worth a second look, not proof.
          </p>
          <div className="quality-issues">
            <table className="table table-dense" data-testid="label-issues-table">
              <thead>
                <tr>
                  <th>Sample</th>
                  <th>Given → suggested</th>
                  <th className="num" title="The model's probability of the suggested class">
                    Confidence
                  </th>
                  <th className="num" title="The model's probability of the given label">
                    In given
                  </th>
                </tr>
              </thead>
              <tbody>
                {issues.map((r) => (
                  <tr key={r.index} data-testid="label-issue" data-index={r.index}>
                    <td className="quality-issue-sample">
                      <a href={evaluationHref(id, { sample: r.index })} title={`${r.id}: open the sample`}>
                        <Thumb s={r} className="is-small" />
                        <span className="truncate">{r.id}</span>
                      </a>
                    </td>
                    <td>
                      <span className="label-pill">{r.given}</span> → <span className="label-pill pill-warn">{r.suggested}</span>
                    </td>
                    <td className="num">{fmt(r.confidence, 2)}</td>
                    <td className="num">{fmt(r.self_confidence, 2)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Panel>
  );
}
