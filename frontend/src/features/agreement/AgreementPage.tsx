// Two runs on one dataset version compared without labels (e.g. an INT8 child against its FP32
// parent on images nobody annotated): how often their top-1 class agrees (with its interval),
// Cohen's kappa, the flip matrix (A's class by B's; a cell opens its samples), the mean change of
// confidence, and the per-sample table (sortable, filterable, paged; a row opens both models'
// scores). Detectors: box agreement at an IoU and each image's boxes drawn for both. Multi-label
// runs: per-class agreement (both, only A, only B, neither, kappa) at a threshold, the labels B
// gains and loses, and the samples whose label set changed most.
// URL: #/agreement?a=1&b=2[&iou=0.5&t=0.5&pa=cat&pb=dog&changed=1&q=text&sort=rank&asc=1&page=2&sample=12]
import { useEffect, useMemo } from "react";
import { Empty, ErrorState, Modal, Spinner } from "../../components/common";
import { Media } from "../../components/Media";
import { fmt, pct } from "../../format";
import { evaluationHref, type Crumb } from "../../routes";
import {
  useAgreement,
  useAgreementImage,
  useAgreementSample,
  useAgreementSamples,
  type AgreementBox,
  type AgreementRow,
  type AgreementSampleQuery,
  type ClassificationAgreement,
  type DetectionAgreement,
  type MultilabelAgreement,
} from "./api";
import "./AgreementPage.css";

const PAGE = 50;
type Sort = NonNullable<AgreementSampleQuery["sort"]>;
const SORTS: { key: Sort; label: string; help: string }[] = [
  { key: "confidence_a", label: "A conf.", help: "A's score of its top class" },
  { key: "confidence_b", label: "B conf.", help: "B's score of its top class" },
  { key: "rank", label: "Rank of A's class in B", help: "1: B's top class is A's too" },
  { key: "change", label: "Δ conf.", help: "B's score of A's class minus A's" },
  { key: "distance", label: "Distance", help: "total variation between the two score rows: 0 the same, 1 disjoint" },
];

/** A link to the agreement page of runs ``a`` and ``b``. */
export function agreementHref(a: number, b: number): string {
  return `#/agreement?a=${a}&b=${b}`;
}

function positive(v: string | null): number | null {
  const x = v === null ? NaN : Number(v);
  return Number.isInteger(x) && x >= 0 ? x : null;
}

/** Set (or, with null, drop) URL fields of the page; the page and sample reset unless named. */
function setParams(params: URLSearchParams, change: Record<string, string | null>) {
  const next = new URLSearchParams(params);
  if (!("page" in change)) next.delete("page");
  if (!("sample" in change)) next.delete("sample");
  for (const [k, v] of Object.entries(change)) {
    if (v === null) next.delete(k);
    else next.set(k, v);
  }
  window.location.hash = `#/agreement?${next.toString()}`;
}

/** "+0.013", "−0.004"; a value that rounds to zero is "0.000" (never "-0.000"). */
function signed(v: number, digits = 3): string {
  const text = Math.abs(v).toFixed(digits);
  if (Number(text) === 0) return text;
  return `${v > 0 ? "+" : "−"}${text}`;
}

export function AgreementPage({ params, setCrumbs }: { params: URLSearchParams; setCrumbs: (c: Crumb[]) => void }) {
  const a = positive(params.get("a"));
  const b = positive(params.get("b"));
  const iouRaw = Number(params.get("iou") ?? "0.5");
  const iou = Number.isFinite(iouRaw) && iouRaw > 0 && iouRaw <= 1 ? iouRaw : 0.5;
  const tRaw = Number(params.get("t") ?? "0.5");
  const threshold = Number.isFinite(tRaw) && tRaw >= 0 && tRaw <= 1 ? tRaw : 0.5;
  useEffect(() => setCrumbs([{ label: "Agreement without labels" }]), [setCrumbs]);
  const q = useAgreement(a ?? 0, b ?? 0, iou, threshold);
  if (a === null || b === null)
    return (
      <Empty title="Which two runs?">
        Open agreement from the Models page (&ldquo;Compare with parent on…&rdquo;) or give two runs of one dataset version: <code>#/agreement?a=1&amp;b=2</code>.
      </Empty>
    );
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  if (!q.data) return <Spinner label="Comparing the two runs…" />;
  const data = q.data;
  return (
    <div className="page agreement-page" data-testid="agreement-page">
      <div className="page-head">
        <div>
          <h1>
            Agreement · <a href={evaluationHref(data.a.id)}>{data.a.model ?? data.a.name}</a> (A) and <a href={evaluationHref(data.b.id)}>{data.b.model ?? data.b.name}</a> (B)
          </h1>
          <p className="muted">
            On {data.dataset_version.dataset} {data.dataset_version.version} · labels are not used: this says whether B says what A says, not which is right
            {q.isFetching ? " · updating…" : ""}
          </p>
        </div>
      </div>
      {data.task === "classification" ? (
        <ClassificationView data={data} params={params} />
      ) : data.task === "multilabel" ? (
        <MultilabelView data={data} params={params} threshold={threshold} />
      ) : (
        <DetectionView data={data} params={params} iou={iou} />
      )}
    </div>
  );
}

function Stat({ label, value, sub, help, testid }: { label: string; value: string; sub?: string; help: string; testid: string }) {
  return (
    <div className="agreement-stat" title={help} data-testid={testid}>
      <div className="agreement-stat-label">{label}</div>
      <div className="agreement-stat-value">{value}</div>
      {sub && <div className="agreement-stat-sub muted small">{sub}</div>}
    </div>
  );
}

function ClassificationView({ data, params }: { data: ClassificationAgreement; params: URLSearchParams }) {
  const level = Math.round(data.level * 100);
  const pa = params.get("pa");
  const pb = params.get("pb");
  const changedParam = params.get("changed");
  const changed = changedParam === "1" ? true : changedParam === "0" ? false : undefined;
  const search = params.get("q") ?? "";
  const sortParam = params.get("sort");
  const sort: Sort = SORTS.some((s) => s.key === sortParam) || sortParam === "index" ? (sortParam as Sort) : "distance";
  const descending = params.get("asc") !== "1";
  const page = positive(params.get("page")) ?? 0;
  const sample = positive(params.get("sample"));
  const query: AgreementSampleQuery = useMemo(
    () => ({
      ...(pa !== null ? { predicted_a: pa } : {}),
      ...(pb !== null ? { predicted_b: pb } : {}),
      ...(changed !== undefined ? { changed } : {}),
      ...(search ? { search } : {}),
      sort,
      descending,
      offset: page * PAGE,
      limit: PAGE,
    }),
    [pa, pb, changed, search, sort, descending, page],
  );
  const rows = useAgreementSamples(data.a.id, data.b.id, query, true);
  const counts = data.flip.counts;
  const max = Math.max(1, ...counts.flat());
  const total = rows.data?.total ?? 0;
  return (
    <>
      <section className="card agreement-stats" data-testid="agreement-stats">
        <Stat
          label="Top-1 agreement"
          value={pct(data.agreement)}
          sub={`${level}% CI ${pct(data.low)} – ${pct(data.high)} · ${data.n_samples - data.changed} of ${data.n_samples}`}
          help="share of samples whose top class is the same for A and B (bootstrap interval over samples)"
          testid="stat-agreement"
        />
        <Stat
          label="Cohen's kappa"
          value={fmt(data.cohen_kappa)}
          sub="1: full agreement, 0: what chance gives"
          help="agreement beyond what the two models' class frequencies give by chance"
          testid="stat-kappa"
        />
        <Stat label="Samples that flip" value={String(data.changed)} sub={`of ${data.n_samples}`} help="samples whose top class differs" testid="stat-changed" />
        <Stat
          label="Mean confidence change"
          value={signed(data.mean_confidence_change)}
          sub={`mean |Δ| ${data.mean_abs_confidence_change.toFixed(3)}`}
          help="B's score of A's top class minus A's, averaged over samples (and its mean absolute value)"
          testid="stat-confidence"
        />
      </section>
      <div className="agreement-grid">
        <section className="card">
          <h2>Flip matrix</h2>
          <p className="muted small">Rows: A&apos;s top class · columns: B&apos;s. A cell opens its samples in the table.</p>
          <div className="diff-wrap">
            <table className="diff-matrix flip-matrix" data-testid="flip-matrix">
              <thead>
                <tr>
                  <th>A \ B</th>
                  {data.flip.columns.map((c) => (
                    <th key={c} title={c}>
                      {c}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {data.flip.rows.map((r, i) => (
                  <tr key={r}>
                    <th title={r}>{r}</th>
                    {counts[i].map((n, j) => {
                      const on = pa === r && pb === data.flip.columns[j];
                      const diag = i === j;
                      const shade = n === 0 ? undefined : `rgba(${diag ? "18,114,74" : "198,40,40"},${0.08 + 0.5 * (n / max)})`;
                      return (
                        <td
                          key={j}
                          className={`flip-cell ${n === 0 ? "zero" : ""} ${on ? "selected" : ""}`}
                          style={{ background: shade }}
                          data-testid="flip-cell"
                          data-a={r}
                          data-b={data.flip.columns[j]}
                          title={`${n} samples: A says ${r}, B says ${data.flip.columns[j]}`}
                          onClick={() => (on ? setParams(params, { pa: null, pb: null }) : setParams(params, { pa: r, pb: data.flip.columns[j] }))}
                        >
                          {n}
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
        <section className="card">
          <h2>Per class</h2>
          <table className="table small" data-testid="agreement-per-class">
            <thead>
              <tr>
                <th>Class</th>
                <th className="num" title="samples A predicts as the class">
                  A
                </th>
                <th className="num" title="samples B predicts as the class">
                  B
                </th>
                <th className="num" title="share of A's predictions of the class that B shares">
                  Kept by B
                </th>
              </tr>
            </thead>
            <tbody>
              {data.per_class.map((c) => (
                <tr key={c.label}>
                  <td>{c.label}</td>
                  <td className="num">{c.predicted_a}</td>
                  <td className="num">{c.predicted_b}</td>
                  <td className="num">{pct(c.agreement)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      </div>
      <section className="card" data-testid="agreement-samples">
        <div className="feed-head">
          <h2>
            Samples {pa !== null && pb !== null ? `· A ${pa}, B ${pb}` : ""} <span className="muted small">({total})</span>
          </h2>
          <div className="agreement-filters">
            {pa !== null && (
              <button className="btn btn-sm" data-testid="clear-cell" onClick={() => setParams(params, { pa: null, pb: null })}>
                Clear cell ×
              </button>
            )}
            <label className="nowrap">
              <input
                type="checkbox"
                checked={changed === true}
                data-testid="only-changed"
                onChange={(e) => setParams(params, { changed: e.target.checked ? "1" : null })}
              />{" "}
              Only flips
            </label>
            <input
              className="agreement-search"
              placeholder="Filter by id…"
              defaultValue={search}
              data-testid="agreement-search"
              onKeyDown={(e) => {
                if (e.key === "Enter") setParams(params, { q: (e.target as HTMLInputElement).value || null });
              }}
            />
          </div>
        </div>
        <div className="table-scroll">
          <table className="table table-click agreement-table" data-testid="agreement-table">
            <thead>
              <tr>
                <SortHead label="#" k="index" sort={sort} descending={descending} params={params} />
                <th>Sample</th>
                <th>A says</th>
                <SortHead label="A conf." k="confidence_a" sort={sort} descending={descending} params={params} />
                <th>B says</th>
                {SORTS.slice(1).map((s) => (
                  <SortHead key={s.key} label={s.label} help={s.help} k={s.key} sort={sort} descending={descending} params={params} />
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.data?.items.map((r) => (
                <tr key={r.index} data-testid="agreement-row" className={r.predicted_a !== r.predicted_b ? "flipped" : undefined} onClick={() => setParams(params, { sample: String(r.index), page: String(page) })}>
                  <td className="num muted">{r.index}</td>
                  <td className="agreement-sample">
                    {r.thumbnail_url && <img src={r.thumbnail_url} alt="" loading="lazy" />}
                    <span>{r.text ? <span className="agreement-text">{r.text}</span> : r.id}</span>
                  </td>
                  <td>{r.predicted_a}</td>
                  <td className="num">{r.confidence_a.toFixed(3)}</td>
                  <td className={r.predicted_a !== r.predicted_b ? "bad-text" : undefined}>{r.predicted_b}</td>
                  <td className="num">{r.confidence_b.toFixed(3)}</td>
                  <td className="num">{r.rank}</td>
                  <td className={`num ${r.change < 0 ? "bad-text" : ""}`}>{signed(r.change)}</td>
                  <td className="num">{r.distance.toFixed(3)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {rows.data && rows.data.items.length === 0 && <p className="muted">No sample matches.</p>}
        </div>
        <div className="agreement-pager">
          <button className="btn btn-sm" disabled={page === 0} onClick={() => setParams(params, { page: String(page - 1) })} data-testid="prev-page">
            ← Previous
          </button>
          <span className="muted small">
            {total === 0 ? "0" : `${page * PAGE + 1}–${Math.min(total, (page + 1) * PAGE)}`} of {total}
          </span>
          <button className="btn btn-sm" disabled={(page + 1) * PAGE >= total} onClick={() => setParams(params, { page: String(page + 1) })} data-testid="next-page">
            Next →
          </button>
        </div>
      </section>
      {sample !== null && <SampleModal a={data.a.id} b={data.b.id} index={sample} onClose={() => setParams(params, { sample: null, page: String(page) })} />}
    </>
  );
}

function SortHead({ label, help, k, sort, descending, params }: { label: string; help?: string; k: Sort; sort: Sort; descending: boolean; params: URLSearchParams }) {
  const on = sort === k;
  return (
    <th
      className="num sortable"
      title={help}
      data-testid={`sort-${k}`}
      aria-sort={on ? (descending ? "descending" : "ascending") : undefined}
      onClick={() => setParams(params, { sort: k, asc: on && descending ? "1" : null })}
    >
      {label}
      {on ? (descending ? " ↓" : " ↑") : ""}
    </th>
  );
}

function SampleModal({ a, b, index, onClose }: { a: number; b: number; index: number; onClose: () => void }) {
  const q = useAgreementSample(a, b, index);
  const s = q.data;
  return (
    <Modal title={s ? `Sample ${s.id}` : "Sample"} onClose={onClose} testid="agreement-sample" wide>
      {q.error && <ErrorState error={q.error} />}
      {!s && !q.error && <Spinner />}
      {s && (
        <div className="agreement-sample-view">
          {s.media_url && <Media src={s.media_url} alt={s.id} fallback="No image" className="agreement-media" />}
          {s.text && <p className="sample-text">{s.text}</p>}
          <p>
            A says <strong>{s.predicted_a}</strong> ({s.confidence_a.toFixed(3)}) · B says <strong>{s.predicted_b}</strong> ({s.confidence_b.toFixed(3)}) · A&apos;s class is
            #{s.rank} in B
          </p>
          <table className="table small" data-testid="agreement-scores">
            <thead>
              <tr>
                <th>Class</th>
                <th className="num">A</th>
                <th className="num">B</th>
                <th className="num">B − A</th>
                <th className="score-bars-head">Scores</th>
              </tr>
            </thead>
            <tbody>
              {s.scores.map((c) => (
                <tr key={c.label} data-testid="agreement-score-row">
                  <td>{c.label}</td>
                  <td className="num">{c.a.toFixed(3)}</td>
                  <td className="num">{c.b.toFixed(3)}</td>
                  <td className="num">{signed(c.b - c.a)}</td>
                  <td className="score-bars">
                    <span className="bar bar-a" style={{ width: `${Math.max(0, Math.min(1, c.a)) * 100}%` }} />
                    <span className="bar bar-b" style={{ width: `${Math.max(0, Math.min(1, c.b)) * 100}%` }} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted small">
            <span className="agreement-key bar-a" /> A <span className="agreement-key bar-b" /> B
          </p>
        </div>
      )}
    </Modal>
  );
}

const STATUS_COLORS: Record<AgreementBox["status"], string> = { agreed: "#12724a", flip: "#d97706", only_a: "#c62828", only_b: "#2f5bea" };
const STATUS_LABELS: Record<AgreementBox["status"], string> = { agreed: "agreed", flip: "class flip", only_a: "only in A", only_b: "only in B" };

function MultilabelView({ data, params, threshold }: { data: MultilabelAgreement; params: URLSearchParams; threshold: number }) {
  const level = Math.round(data.level * 100);
  return (
    <>
      <section className="card agreement-stats" data-testid="agreement-stats">
        <Stat
          label="Same label set"
          value={pct(data.exact)}
          sub={`${level}% CI ${pct(data.low)}–${pct(data.high)}`}
          help="share of samples to which both runs give exactly the same classes (Wilson interval)"
          testid="stat-exact"
        />
        <Stat label="Decisions agreeing" value={pct(data.agreement)} sub={`of ${data.decisions.toLocaleString()} (sample, class)`} help="share of (sample, class) yes/no decisions the two runs make alike" testid="stat-agreement" />
        <Stat label="Changed" value={String(data.changed)} sub={`of ${data.n_samples.toLocaleString()} samples`} help="samples whose label set differs" testid="stat-changed" />
        <Stat label="Gained" value={String(data.gained)} sub="labels only B gives" help="(sample, class) pairs B predicts and A does not" testid="stat-gained" />
        <Stat label="Lost" value={String(data.lost)} sub="labels only A gives" help="(sample, class) pairs A predicts and B does not" testid="stat-lost" />
      </section>
      <div className="agreement-controls">
        <label className="slider-field">
          <span>A class is predicted from score {threshold.toFixed(2)}</span>
          <input type="range" min={0.05} max={0.95} step={0.05} value={threshold} data-testid="agreement-threshold" onChange={(e) => setParams(params, { t: e.target.value })} />
        </label>
      </div>
      <section className="card">
        <h2>Per class</h2>
        <table className="table" data-testid="agreement-classes">
          <thead>
            <tr>
              <th>Class</th>
              <th className="num" title="samples both runs give the class">Both</th>
              <th className="num" title="samples only A gives it: B lost it">Only A (lost)</th>
              <th className="num" title="samples only B gives it: B gained it">Only B (gained)</th>
              <th className="num" title="samples neither gives it">Neither</th>
              <th className="num" title="share of samples where the two decide alike">Agreement</th>
              <th className="num" title="agreement beyond chance on this class (1: all, 0: chance)">Kappa</th>
            </tr>
          </thead>
          <tbody>
            {data.per_class.map((r) => (
              <tr key={r.label} data-testid="agreement-class-row">
                <td>{r.label}</td>
                <td className="num">{r.both}</td>
                <td className="num">{r.only_a}</td>
                <td className="num">{r.only_b}</td>
                <td className="num">{r.neither}</td>
                <td className="num">{pct(r.agreement)}</td>
                <td className="num">{r.cohen_kappa === null || r.cohen_kappa === undefined ? "—" : fmt(r.cohen_kappa)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      <section className="card">
        <h2>Samples that changed most</h2>
        <table className="table" data-testid="agreement-multilabel-samples">
          <thead>
            <tr>
              <th>Sample</th>
              <th>A&apos;s labels</th>
              <th>B&apos;s labels</th>
              <th className="num">Gained</th>
              <th className="num">Lost</th>
            </tr>
          </thead>
          <tbody>
            {data.most_changed.map((r) => (
              <tr key={r.id} data-testid="agreement-multilabel-row">
                <td>{r.id}</td>
                <td>{r.labels_a.join(", ") || "—"}</td>
                <td>{r.labels_b.join(", ") || "—"}</td>
                <td className="num">{r.gained}</td>
                <td className="num">{r.lost}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {data.most_changed.length === 0 && <p className="muted">Every sample has the same labels in both runs.</p>}
      </section>
    </>
  );
}

function DetectionView({ data, params, iou }: { data: DetectionAgreement; params: URLSearchParams; iou: number }) {
  const sample = positive(params.get("sample"));
  return (
    <>
      <section className="card agreement-stats" data-testid="agreement-stats">
        <Stat label="Box agreement" value={pct(data.agreement)} sub="agreed / (A + B − matched)" help="boxes both detectors give with one class" testid="stat-agreement" />
        <Stat label="Matched" value={String(data.matched)} sub={`at IoU ≥ ${data.iou}`} help="pairs of boxes overlapping at the IoU, whatever their class" testid="stat-matched" />
        <Stat label="Class flips" value={String(data.class_flips)} sub={`${data.agreed} agreed`} help="matched pairs with two classes" testid="stat-flips" />
        <Stat label="Only in A" value={String(data.only_a)} sub={`of ${data.boxes_a} boxes`} help="A's boxes B has no box for" testid="stat-only-a" />
        <Stat label="Only in B" value={String(data.only_b)} sub={`of ${data.boxes_b} boxes`} help="B's boxes A has no box for" testid="stat-only-b" />
      </section>
      <div className="agreement-controls">
        <label className="slider-field">
          <span>IoU of a match: {iou.toFixed(2)}</span>
          <input type="range" min={0.1} max={0.95} step={0.05} value={iou} data-testid="agreement-iou" onChange={(e) => setParams(params, { iou: e.target.value })} />
        </label>
      </div>
      <section className="card">
        <h2>Images that changed most</h2>
        <table className="table table-click" data-testid="agreement-images">
          <thead>
            <tr>
              <th>Image</th>
              <th className="num">A boxes</th>
              <th className="num">B boxes</th>
              <th className="num">Agreed</th>
              <th className="num">Agreement</th>
            </tr>
          </thead>
          <tbody>
            {data.most_changed.map((r) => (
              <tr key={r.id} data-testid="agreement-image-row" onClick={() => setParams(params, { sample: String(r.index) })}>
                <td>{r.id}</td>
                <td className="num">{r.boxes_a}</td>
                <td className="num">{r.boxes_b}</td>
                <td className="num">{r.agreed}</td>
                <td className="num">{pct(r.agreement)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {data.most_changed.length === 0 && <p className="muted">Every image agrees.</p>}
      </section>
      {sample !== null && <ImageModal a={data.a.id} b={data.b.id} index={sample} iou={iou} onClose={() => setParams(params, { sample: null })} />}
    </>
  );
}

function Drawn({ src, width, height, boxes, title }: { src?: string | null; width: number; height: number; boxes: AgreementBox[]; title: string }) {
  const w = Math.max(1, width || Math.max(1, ...boxes.map((x) => x.box[0] + x.box[2])));
  const h = Math.max(1, height || Math.max(1, ...boxes.map((x) => x.box[1] + x.box[3])));
  const font = Math.max(w, h) / 40;
  return (
    <figure className="agreement-drawn" data-testid="agreement-drawn">
      <figcaption>{title}</figcaption>
      <div className="agreement-stage" style={{ aspectRatio: `${w} / ${h}` }}>
        {src && <img src={src} alt="" />}
        <svg viewBox={`0 0 ${w} ${h}`} preserveAspectRatio="none">
          {boxes.map((x, i) => (
            <g key={i} data-testid="agreement-box" data-status={x.status}>
              <rect x={x.box[0]} y={x.box[1]} width={x.box[2]} height={x.box[3]} fill="none" stroke={STATUS_COLORS[x.status]} strokeWidth={2} vectorEffect="non-scaling-stroke" />
              <text x={x.box[0]} y={Math.max(font, x.box[1] - 2)} fontSize={font} fontWeight={600} fill={STATUS_COLORS[x.status]} paintOrder="stroke" stroke="#fff" strokeWidth={font / 4}>
                {x.label} {x.score.toFixed(2)}
              </text>
            </g>
          ))}
        </svg>
      </div>
    </figure>
  );
}

function ImageModal({ a, b, index, iou, onClose }: { a: number; b: number; index: number; iou: number; onClose: () => void }) {
  const q = useAgreementImage(a, b, index, iou);
  const d = q.data;
  return (
    <Modal title={d ? `Image ${d.id}` : "Image"} onClose={onClose} testid="agreement-image" wide>
      {q.error && <ErrorState error={q.error} />}
      {!d && !q.error && <Spinner />}
      {d && (
        <>
          <div className="agreement-pair">
            <Drawn src={d.media_url} width={d.width} height={d.height} boxes={d.boxes_a} title="A" />
            <Drawn src={d.media_url} width={d.width} height={d.height} boxes={d.boxes_b} title="B" />
          </div>
          <p className="agreement-legend small">
            {(Object.keys(STATUS_LABELS) as AgreementBox["status"][]).map((s) => (
              <span key={s}>
                <span className="agreement-key" style={{ background: STATUS_COLORS[s] }} /> {STATUS_LABELS[s]} ({d.counts[s]})
              </span>
            ))}
          </p>
        </>
      )}
    </Modal>
  );
}

export type { AgreementRow };
