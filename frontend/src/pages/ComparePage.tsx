// The compare page: evaluation B against A on the same samples. Verdicts first, then every
// metric's difference with its interval and p-value, the per-class rows (Holm-adjusted), the
// confusion difference, and what changed per sample (image), each opening both models' view.
// Each side's operating point can move: the page asks first for the quick answer (differences,
// McNemar; no bootstrap) and shows it at once, then for the intervals. A difference is coloured
// only when it is significant.
import { useCallback, useEffect, useMemo, useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, type ClassificationCompare, type CompareMetric, type CompareQuery, type ComparePublic, type DetectionCompare } from "../api/client";
import { Empty, ErrorState, Spinner } from "../components/common";
import { PairView, type PairSide } from "../components/PairView";
import { fmt } from "../format";
import { compareHref, compareIds, comparePoint, evaluationHref, leaderboardHref, navigate, type ComparePoint, type Crumb } from "../routes";
import { better, ClassificationSections, DetectionSections } from "./CompareSections";
import "./ComparePage.css";

export function ComparePage({ params, setCrumbs }: { params: URLSearchParams; setCrumbs: (c: Crumb[]) => void }) {
  const ids = compareIds(params);
  useEffect(() => setCrumbs([{ label: "Compare" }]), [setCrumbs]);
  // Each side's operating point lives in the URL (ta, tb / iou, ca, cb): a link or a reload
  // reopens the same comparison; a slider drag is one step of history.
  const query = params.toString();
  const point = useMemo<CompareQuery>(() => comparePoint(new URLSearchParams(query)), [query]);
  const a = ids?.a;
  const b = ids?.b;
  const setPoint = useCallback<SetPoint>(
    (p, coalesce) => {
      if (a !== undefined && b !== undefined) navigate(compareHref(a, b, pointOf(p)), { coalesce });
    },
    [a, b],
  );
  const quick = useQuery({
    queryKey: ["compare", ids?.a, ids?.b, point, "quick"],
    queryFn: ({ signal }) => api.compare(ids!.a, ids!.b, { ...point, intervals: false }, signal),
    enabled: ids !== null,
    placeholderData: keepPreviousData,
  });
  const full = useQuery({
    queryKey: ["compare", ids?.a, ids?.b, point, "full"],
    queryFn: ({ signal }) => api.compare(ids!.a, ids!.b, point, signal),
    enabled: ids !== null,
    placeholderData: keepPreviousData,
  });
  if (!ids)
    return (
      <Empty title="Pick two evaluations to compare">
        Tick two evaluations of the same dataset in the <a href="#/">list</a> and press Compare.
      </Empty>
    );
  const error = full.error ?? quick.error;
  if (error) return <ErrorState error={error} onRetry={() => void (quick.refetch(), full.refetch())} />;
  // the full answer when it is for the current point, else the quick one, else the last full one
  const data = full.data && !full.isPlaceholderData ? full.data : quick.data && !quick.isPlaceholderData ? quick.data : (full.data ?? quick.data);
  if (!data) return <Spinner label="Comparing…" />;
  const pending = full.isFetching || full.isPlaceholderData;
  return <Comparison data={data} pending={pending} point={point} setPoint={setPoint} />;
}

/** Moves the compare page to another operating point; ``coalesce`` names the slider that moved. */
type SetPoint = (p: CompareQuery, coalesce?: string) => void;

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
      const [a, b] = await Promise.all([data.a.id, data.b.id].map((id) => api.optimal(id as number, { metric: "f1", iou })));
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
  return (
    <table className="table" data-testid="compare-metrics">
      <thead>
        <tr>
          <th>Metric</th>
          <th className="num">A</th>
          <th className="num">B</th>
          <th className="num">B − A</th>
          <th className="num">{level}% CI</th>
          <th className="num">p</th>
          <th>Test</th>
        </tr>
      </thead>
      <tbody>
        {metrics.map((m) => (
          <tr key={m.metric} className={m.significant ? "significant" : undefined} data-testid="compare-metric" data-metric={m.metric}>
            <td>{m.label}</td>
            <td className="num">{fmt(m.a)}</td>
            <td className="num">{fmt(m.b)}</td>
            <td className={`num ${m.significant ? better(m.delta, m.higher_is_better) : ""}`}>{signed(m.delta)}</td>
            <td className="num">{m.low === null || m.high === null ? (pending && m.delta !== null ? "…" : "—") : `[${m.low.toFixed(4)}, ${m.high.toFixed(4)}]`}</td>
            <td className="num">{m.p_value === null && pending && m.delta !== null ? "…" : pText(m.p_value)}</td>
            <td className="muted small">{m.test ?? ""}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Comparison({ data, pending, point, setPoint }: { data: ComparePublic; pending: boolean; point: CompareQuery; setPoint: SetPoint }) {
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
              `${data.n_resamples} paired bootstrap resamples${data.task === "detection" ? " of the images" : ""}`
            )}{" "}
            · <a href={leaderboardHref(data.dataset_version.id)}>Leaderboard of this dataset</a>
          </p>
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
      </section>
      {data.task !== "detection" ? (
        <ClassificationSections data={data as ClassificationCompare} pending={pending} onOpen={(s) => open(`Sample ${s.id}`, s.index, s.index_b)} />
      ) : (
        <DetectionSections data={data as DetectionCompare} pending={pending} onOpen={(im) => open(im.file_name || `Image ${im.id}`, im.index, im.index)} />
      )}
      {pair && <PairView task={data.task === "detection" ? "detection" : "classification"} title={pair.title} a={side("a", pair.a)} b={side("b", pair.b)} onClose={() => setPair(null)} />}
    </div>
  );
}
