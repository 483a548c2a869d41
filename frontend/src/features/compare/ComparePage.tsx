// The compare page: evaluation B against A on the same samples. Verdicts first, then every
// metric's difference with its interval and p-value, the per-class rows (Holm-adjusted), the
// confusion difference, and what changed per sample (image), each opening both models' view.
// Each side's operating point can move: the page asks first for the quick answer (differences,
// accuracy's Tango interval and McNemar p; no bootstrap) and shows it at once, then for the
// intervals. A difference is coloured only when it is significant after Holm's correction across
// the headline rows (the family the page names). A margin (points for metrics in points, the
// metric's units otherwise) adds the primary metric's non-inferiority and equivalence verdicts.
import { useCallback, useEffect, useMemo, useState } from "react";
import { api, type CompareMetric, type CompareQuery, type ComparePublic } from "../../api/client";
import { isClassification } from "../../api/answers";
import { Empty, ErrorState, Spinner } from "../../components/common";
import { PairView, type PairSide } from "./PairView";
import { fmt } from "../../format";
import { evaluationHref, navigate, type Crumb } from "../../routes";
import { useComparison } from "./hooks";
import { compareExtras, compareHref, compareIds, comparePoint, leaderboardHref, parseMargin, type CompareExtras, type ComparePoint } from "./url";
import { better, ClassificationSections, DetectionSections } from "./CompareSections";
import "./ComparePage.css";
import { DownloadReport } from "../reports/DownloadReport";
import { agreementHref } from "../agreement/AgreementPage";

export function ComparePage({ params, setCrumbs }: { params: URLSearchParams; setCrumbs: (c: Crumb[]) => void }) {
  const ids = compareIds(params);
  useEffect(() => setCrumbs([{ label: "Compare" }]), [setCrumbs]);
  // Each side's operating point lives in the URL (ta, tb / iou, ca, cb): a link or a reload
  // reopens the same comparison; a slider drag is one step of history.
  const query = params.toString();
  const point = useMemo<CompareQuery>(() => comparePoint(new URLSearchParams(query)), [query]);
  // the primary metric's margin and the feed shown live there too (margin, feed)
  const extras = useMemo(() => compareExtras(new URLSearchParams(query)), [query]);
  const margin = extras.margin ?? null;
  const a = ids?.a;
  const b = ids?.b;
  const setPoint = useCallback<SetPoint>(
    (p, coalesce) => {
      if (a !== undefined && b !== undefined) navigate(compareHref(a, b, pointOf(p), extras), { coalesce });
    },
    [a, b, extras],
  );
  const setExtras = useCallback<SetExtras>(
    (patch, coalesce) => {
      if (a !== undefined && b !== undefined) navigate(compareHref(a, b, pointOf(point), { ...extras, ...patch }), { coalesce });
    },
    [a, b, point, extras],
  );
  // the margin field as typed: the URL takes it once it reads as a number (typing it is one step of
  // history); what does not read yet stays in the field while the URL keeps the margin it was typed
  // against, and Back or a link bring the URL's margin back into the field
  const [draft, setDraft] = useState<{ text: string; at: number | null } | null>(null);
  const marginText = draft && (draft.at === margin || parseMargin(draft.text) === margin) ? draft.text : margin === null ? "" : String(margin);
  const setMarginText = (text: string) => {
    const m = parseMargin(text);
    const cleared = text.trim() === "";
    setDraft({ text, at: cleared || m !== null ? m : margin });
    if (cleared || m !== null) setExtras({ margin: m ?? undefined }, "margin");
  };
  const { quick, full } = useComparison(ids, point, margin);
  if (!ids)
    return (
      <Empty title="Pick two evaluations to compare">
        Tick two evaluations of the same dataset in the <a href="#/">list</a> and press Compare.
      </Empty>
    );
  const error = full.error ?? quick.error;
  if (error && a !== undefined && b !== undefined && error.message.includes("prediction run"))
    return (
      <div className="page" data-testid="compare-no-labels">
        <Empty title="No labels: nothing to compare metrics on">
          {error.message}. The two runs can still be compared without labels:{" "}
          <a href={agreementHref(a, b)} data-testid="agreement-link">
            their agreement
          </a>
          .
        </Empty>
      </div>
    );
  if (error) return <ErrorState error={error} onRetry={() => void (quick.refetch(), full.refetch())} />;
  // the full answer when it is for the current point, else the quick one, else the last full one
  const data = full.data && !full.isPlaceholderData ? full.data : quick.data && !quick.isPlaceholderData ? quick.data : (full.data ?? quick.data);
  if (!data) return <Spinner label="Comparing…" />;
  const pending = full.isFetching || full.isPlaceholderData;
  return (
    <Comparison
      data={data}
      pending={pending}
      point={point}
      setPoint={setPoint}
      marginText={marginText}
      setMarginText={setMarginText}
      feed={extras.feed}
      setFeed={(feed) => setExtras({ feed })}
    />
  );
}

/** Moves the compare page to another operating point; ``coalesce`` names the slider that moved. */
type SetPoint = (p: CompareQuery, coalesce?: string) => void;
/** Changes the margin or the feed in the URL; ``coalesce`` names the field being typed. */
type SetExtras = (patch: CompareExtras, coalesce?: string) => void;

/** The fields of a compare query that the URL keeps. */
function pointOf(p: CompareQuery): ComparePoint {
  const out: ComparePoint = {};
  for (const k of ["threshold_a", "threshold_b", "iou", "score_a", "score_b"] as const) {
    const x = p[k];
    if (typeof x === "number") out[k] = x;
  }
  return out;
}

function pText(p: number | null | undefined): string {
  if (p === null || p === undefined) return "—";
  return p < 0.001 ? "<0.001" : p.toFixed(3);
}

function signed(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined) return "—";
  return `${v > 0 ? "+" : ""}${v.toFixed(digits)}`;
}

/** Both sides at their F1-optimal point (detection: the confidence at the page's IoU). */
function OptimalButton({ data, point, setPoint }: { data: ComparePublic; point: CompareQuery; setPoint: SetPoint }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const detection = data.task === "detection";
  const go = async () => {
    setBusy(true);
    setError(null);
    try {
      const iou = detection ? data.points.a.iou : undefined;
      const ids = [data.a.id, data.b.id].filter((id): id is number => id !== null);
      if (ids.length !== 2) return;
      const [a, b] = await Promise.all(ids.map((id) => api.optimal(id, { metric: "f1", iou })));
      const value = (o: typeof a) => ("score" in o ? o.score : o.threshold);
      setPoint(detection ? { ...point, score_a: value(a), score_b: value(b) } : { ...point, threshold_a: value(a), threshold_b: value(b) });
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button className="btn btn-sm" onClick={() => void go()} disabled={busy || data.a.id === null} data-testid="compare-optimal" title="Each side at the point that maximises its F1">
        {busy ? "Searching…" : "F1-optimal"}
      </button>
      {error && <span className="error-text small" role="alert">{error}</span>}
    </>
  );
}

function PointControls({ data, point, setPoint }: { data: ComparePublic; point: CompareQuery; setPoint: SetPoint }) {
  if (data.task !== "detection") {
    const t = data.thresholds;
    return (
      <div className="compare-controls" data-testid="compare-controls">
        {(["a", "b"] as const).map((side) => (
          <label key={side} className="slider-field">
            <span>
              Threshold {side.toUpperCase()}{" "}
              <strong data-testid={`threshold-${side}`} title={data.task === "classification" && t[side] === 0 ? "no threshold: every sample gets its top class" : undefined}>
                {data.task === "classification" && t[side] === 0 ? "argmax" : t[side].toFixed(2)}
              </strong>
            </span>
            <input
              type="range"
              min={0}
              max={1}
              step={0.01}
              value={t[side]}
              data-testid={`slider-${side}`}
              onChange={(e) => setPoint({ ...point, [`threshold_${side}`]: Number(e.target.value) }, `threshold_${side}`)}
            />
          </label>
        ))}
        <button className="btn btn-sm" onClick={() => setPoint({ ...point, threshold_b: t.a })} title="Take B at A's threshold">
          Same threshold
        </button>
        <button className="btn btn-sm" onClick={() => setPoint({})} disabled={Object.keys(point).length === 0} data-testid="compare-reset">
          Stored thresholds
        </button>
        <OptimalButton data={data} point={point} setPoint={setPoint} />
      </div>
    );
  }
  const p = data.points;
  return (
    <div className="compare-controls" data-testid="compare-controls">
      <label className="slider-field">
        <span>
          IoU <strong>{p.a.iou.toFixed(2)}</strong>
        </span>
        <input type="range" min={0.5} max={0.95} step={0.05} value={p.a.iou} data-testid="slider-iou" onChange={(e) => setPoint({ ...point, iou: Number(e.target.value) }, "iou")} />
      </label>
      {(["a", "b"] as const).map((side) => (
        <label key={side} className="slider-field">
          <span>
            Confidence {side.toUpperCase()} <strong data-testid={`score-${side}`}>{p[side].score.toFixed(2)}</strong>
          </span>
          <input
            type="range"
            min={0}
            max={1}
            step={0.01}
            value={Math.min(1, Math.max(0, p[side].score))}
            data-testid={`slider-${side}`}
            onChange={(e) => setPoint({ ...point, [`score_${side}`]: Number(e.target.value) }, `score_${side}`)}
          />
        </label>
      ))}
      <button className="btn btn-sm" onClick={() => setPoint({})} disabled={Object.keys(point).length === 0} data-testid="compare-reset">
        Stored points
      </button>
      <OptimalButton data={data} point={point} setPoint={setPoint} />
    </div>
  );
}

function MetricsTable({ metrics, level, pending }: { metrics: CompareMetric[]; level: number; pending: boolean }) {
  const waiting = (m: CompareMetric) => pending && m.delta !== null;
  return (
    <table className="table" data-testid="compare-metrics">
      <thead>
        <tr>
          <th>Metric</th>
          <th className="num">A</th>
          <th className="num">B</th>
          <th className="num">B − A</th>
          <th className="num">{level}% CI</th>
          <th className="num" title="the row's own p, from the same procedure as its interval (± its Monte-Carlo error for a bootstrap p)">
            p
          </th>
          <th className="num" title="Holm-adjusted across the headline rows: what the verdicts use">
            p (Holm)
          </th>
          <th>Test</th>
        </tr>
      </thead>
      <tbody>
        {metrics.map((m) => (
          <tr key={m.metric} className={m.significant ? "significant" : undefined} data-testid="compare-metric" data-metric={m.metric}>
            <td>
              {m.label}
              {m.primary && (
                <span className="primary-tag" title="the primary metric" data-testid="primary-metric">
                  primary
                </span>
              )}
            </td>
            <td className="num">{fmt(m.a)}</td>
            <td className="num">{fmt(m.b)}</td>
            <td className={`num ${m.significant ? better(m.delta, m.higher_is_better) : ""}`}>{signed(m.delta)}</td>
            <td className="num">{m.low === null || m.high === null ? (waiting(m) ? "…" : "—") : `[${m.low.toFixed(4)}, ${m.high.toFixed(4)}]`}</td>
            <td className="num">
              {m.p_value === null && waiting(m) ? "…" : pText(m.p_value)}
              {m.p_mc !== null && m.p_mc >= 0.0005 && m.p_value !== null && m.p_value >= 0.001 && <span className="muted small"> ± {m.p_mc.toFixed(3)}</span>}
            </td>
            <td className="num">{m.p_holm === null && waiting(m) ? "…" : pText(m.p_holm)}</td>
            <td className="muted small">{m.test ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The margin field and, once answered, the primary metric's non-inferiority and equivalence. */
function MarginSection({ data, marginText, setMarginText, pending }: { data: ComparePublic; marginText: string; setMarginText: (t: string) => void; pending: boolean }) {
  const primary = data.metrics.find((m) => m.primary);
  const points = data.task !== "detection";
  const invalid = marginText.trim() !== "" && parseMargin(marginText) === null;
  return (
    <section className="card margin-card" data-testid="margin-section">
      <div className="margin-head">
        <h2>Margin</h2>
        <label className="margin-field">
          <span>
            Is B no worse than A on {primary?.label ?? "the primary metric"} by more than
          </span>
          <input type="number" min={0} max={100} step={points ? 0.1 : 0.001} value={marginText} placeholder={points ? "0.5" : "0.005"} onChange={(e) => setMarginText(e.target.value)} data-testid="margin-input" aria-invalid={invalid} />
          <span>{points ? "points" : "(in the metric's units)"}</span>
        </label>
      </div>
      {invalid && <div className="error-text small">A margin is a number from 0 to 100.</div>}
      {data.margin && !pending ? (
        <div className="verdicts">
          {data.margin.verdicts.map((v) => (
            <div key={v} className={v.startsWith("B is equivalent") || v.startsWith("B is non-inferior") ? "verdict strong" : "verdict muted"} data-testid="margin-verdict">
              {v}
            </div>
          ))}
        </div>
      ) : (
        <p className="muted small">
          {pending && marginText.trim() !== "" && !invalid
            ? "testing…"
            : "Non-inferiority: B passes when the worst plausible drop (the interval's bound on the bad side) is within the margin. Equivalence: both one-sided tests at the margin (TOST)."}
        </p>
      )}
    </section>
  );
}

function Comparison({
  data,
  pending,
  point,
  setPoint,
  marginText,
  setMarginText,
  feed,
  setFeed,
}: {
  data: ComparePublic;
  pending: boolean;
  point: CompareQuery;
  setPoint: SetPoint;
  marginText: string;
  setMarginText: (t: string) => void;
  feed?: string;
  setFeed: (feed: string) => void;
}) {
  const level = Math.round(data.level * 100);
  const [pair, setPair] = useState<{ title: string; a: number; b: number } | null>(null);
  const sides = useMemo(() => {
    const at = (side: "a" | "b") => (data.task !== "detection" ? { threshold: data.thresholds[side] } : { iou: data.points[side].iou, score: data.points[side].score });
    return { a: at("a"), b: at("b") };
  }, [data]);
  const open = (title: string, a: number, b: number) => setPair({ title, a, b });
  const side = (which: "a" | "b", index: number): PairSide => ({ evalId: data[which].id, index, name: data[which].name, point: sides[which] });
  const unit = data.task === "detection" ? "images" : "samples matched by id";
  return (
    <div className="page compare-page" data-testid="compare-page" data-task={data.task}>
      <div className="page-head">
        <div>
          <h1>
            <a href={evaluationHref(data.b.id)}>{data.b.name}</a> <span className="muted">vs</span> <a href={evaluationHref(data.a.id)}>{data.a.name}</a>
          </h1>
          <p className="muted">
            B = evaluation {data.b.id}, A = evaluation {data.a.id} · {data.dataset_version.dataset} {data.dataset_version.version} · {data.n_samples.toLocaleString()} {unit} ·{" "}
            {pending ? (
              <span data-testid="intervals-pending">computing intervals…</span>
            ) : (
              data.n_resamples > 0
                ? `${data.n_resamples} paired bootstrap resamples${data.task === "detection" ? " of the images" : " of the groups"}`
                : "paired intervals from every sample (no resampling)"
            )}{" "}
            · <a href={leaderboardHref(data.dataset_version.id)}>Leaderboard of this dataset</a>
          </p>
        </div>
        <div className="page-head-side">
          <DownloadReport evaluationId={data.a.id} compare={data.b.id} />
        </div>
      </div>
      <PointControls data={data} point={point} setPoint={setPoint} />
      <section className="card verdicts" data-testid="verdicts">
        {data.verdicts.map((v) => (
          <div key={v} className={v.startsWith("B is") ? "verdict strong" : "verdict muted"} data-testid="verdict">
            {v}
          </div>
        ))}
      </section>
      <section className="card">
        <h2>B − A</h2>
        <MetricsTable metrics={data.metrics} level={level} pending={pending} />
        <p className="muted small family-note" data-testid="family-note">
          Primary metric: {data.metrics.find((m) => m.primary)?.label ?? data.family.primary} (its p alone: {pText(data.family.primary_p)}). The verdicts are Holm-adjusted across the{" "}
          {data.family.headline.length} headline rows (p (Holm)){data.family.untested > 0 ? `; ${data.family.untested} not tested yet count as p = 1` : ""}; per-class rows are Holm-adjusted
          across the classes. Each interval excludes 0 exactly when its own p is below {(1 - data.level).toFixed(2)}.
        </p>
      </section>
      <MarginSection data={data} marginText={marginText} setMarginText={setMarginText} pending={pending} />
      {isClassification(data) ? (
        <ClassificationSections data={data} pending={pending} feed={feed} setFeed={setFeed} onOpen={(s) => open(`Sample ${s.id}`, s.index, s.index_b)} />
      ) : (
        <DetectionSections data={data} pending={pending} feed={feed} setFeed={setFeed} onOpen={(im) => open(im.file_name || `Image ${im.id}`, im.index, im.index)} />
      )}
      {pair && <PairView task={data.task === "detection" ? "detection" : "classification"} title={pair.title} a={side("a", pair.a)} b={side("b", pair.b)} onClose={() => setPair(null)} />}
    </div>
  );
}
