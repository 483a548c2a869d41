// The compare page: evaluation B against A on the same samples. Verdicts first, then every
// metric's difference with its interval and p-value, per-class recall (Holm-adjusted), the
// confusion difference, and the samples B fixed or broke, each opening in either evaluation.
// A difference is coloured only when it is significant.
import { useEffect, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, type ComparePublic, type CompareSample } from "../api/client";
import { Empty, ErrorState, Spinner } from "../components/common";
import { fmt } from "../format";
import { compareIds, evaluationHref, type Crumb } from "../routes";
import "./ComparePage.css";

export function ComparePage({ params, setCrumbs }: { params: URLSearchParams; setCrumbs: (c: Crumb[]) => void }) {
  const ids = compareIds(params);
  useEffect(() => setCrumbs([{ label: "Compare" }]), [setCrumbs]);
  const q = useQuery({
    queryKey: ["compare", ids?.a, ids?.b],
    queryFn: ({ signal }) => api.compare(ids!.a, ids!.b, signal),
    enabled: ids !== null,
  });
  if (!ids)
    return (
      <Empty title="Pick two evaluations to compare">
        Tick two evaluations of the same dataset in the <a href="#/">list</a> and press Compare.
      </Empty>
    );
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  if (!q.data) return <Spinner label="Comparing (paired bootstrap)…" />;
  return <Comparison data={q.data} />;
}

function pct(v: number | null | undefined, signed = false): string {
  if (v === null || v === undefined) return "—";
  const s = (v * 100).toFixed(1);
  return signed && v > 0 ? `+${s}` : s;
}

function pText(p: number | null | undefined): string {
  if (p === null || p === undefined) return "—";
  return p < 0.001 ? "<0.001" : p.toFixed(3);
}

function Comparison({ data }: { data: ComparePublic }) {
  const d = data.disagreements;
  const [feed, setFeed] = useState<"fixed" | "broken" | "changes">(d.broken > 0 && d.fixed === 0 ? "broken" : "fixed");
  const samples = feed === "fixed" ? d.fixed_samples : feed === "broken" ? d.broken_samples : d.largest_confidence_changes;
  const level = Math.round(data.level * 100);
  return (
    <div className="page compare-page" data-testid="compare-page">
      <div className="page-head">
        <div>
          <h1>
            <a href={evaluationHref(data.b.id)}>{data.b.name}</a> <span className="muted">vs</span> <a href={evaluationHref(data.a.id)}>{data.a.name}</a>
          </h1>
          <p className="muted">
            B = evaluation {data.b.id}, A = evaluation {data.a.id} · {data.n_samples.toLocaleString()} samples matched by id · thresholds A {data.thresholds.a}, B{" "}
            {data.thresholds.b} · {data.n_resamples} paired bootstrap resamples
          </p>
        </div>
      </div>
      <section className="card verdicts" data-testid="verdicts">
        {data.verdicts.map((v) => (
          <div key={v} className={v.startsWith("No significant") ? "verdict muted" : "verdict strong"} data-testid="verdict">
            {v}
          </div>
        ))}
      </section>

      <section className="card">
        <h2>B − A</h2>
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
            {data.metrics.map((m) => (
              <tr key={m.metric} className={m.significant ? "significant" : undefined} data-testid="compare-metric" data-metric={m.metric}>
                <td>{m.label}</td>
                <td className="num">{fmt(m.a)}</td>
                <td className="num">{fmt(m.b)}</td>
                <td className={`num ${m.significant ? better(m.delta, m.higher_is_better) : ""}`}>{m.delta === null ? "—" : `${m.delta > 0 ? "+" : ""}${m.delta.toFixed(4)}`}</td>
                <td className="num">{m.low === null || m.high === null ? "—" : `[${m.low.toFixed(4)}, ${m.high.toFixed(4)}]`}</td>
                <td className="num">{pText(m.p_value)}</td>
                <td className="muted small">{m.test ?? ""}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <div className="compare-grid">
        <section className="card">
          <h2>Per class · recall</h2>
          <p className="muted small">The share of each class's samples each model gets right; p from McNemar's exact test within the class, Holm-adjusted.</p>
          <table className="table" data-testid="compare-classes">
            <thead>
              <tr>
                <th>Class</th>
                <th className="num">n</th>
                <th className="num">A</th>
                <th className="num">B</th>
                <th className="num">B − A</th>
                <th className="num">p (Holm)</th>
              </tr>
            </thead>
            <tbody>
              {data.per_class.map((r) => (
                <tr key={r.label} className={r.significant ? "significant" : undefined}>
                  <td title={r.label}>{r.label}</td>
                  <td className="num">{r.n}</td>
                  <td className="num">{pct(r.recall_a)}%</td>
                  <td className="num">{pct(r.recall_b)}%</td>
                  <td className={`num ${r.significant ? better(r.recall_delta, true) : ""}`}>{pct(r.recall_delta, true)}</td>
                  <td className="num">{pText(r.p_holm)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
        <section className="card">
          <h2>Confusion difference (B − A)</h2>
          <p className="muted small">Rows actual, columns predicted; green: B has more there on the diagonal or fewer off it.</p>
          <div className="diff-wrap">
            <table className="diff-matrix" data-testid="confusion-difference">
              <thead>
                <tr>
                  <th />
                  {data.confusion.columns.map((c) => (
                    <th key={c} title={c}>
                      {c}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {data.confusion.difference.map((row, i) => (
                  <tr key={i}>
                    <th title={data.confusion.rows[i]}>{data.confusion.rows[i]}</th>
                    {row.map((v, j) => {
                      const good = i === j ? v > 0 : v < 0;
                      return (
                        <td key={j} className={v === 0 ? "zero" : good ? "good" : "bad"} title={`A ${data.confusion.a[i][j]} → B ${data.confusion.b[i][j]}`}>
                          {v > 0 ? `+${v}` : v}
                        </td>
                      );
                    })}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      </div>

      <section className="card">
        <div className="feed-head">
          <h2>Samples that changed</h2>
          <div className="segmented" role="tablist">
            {(
              [
                ["fixed", `Fixed (${d.fixed})`],
                ["broken", `Broken (${d.broken})`],
                ["changes", "Largest confidence changes"],
              ] as const
            ).map(([key, label]) => (
              <button key={key} className={feed === key ? "seg active" : "seg"} onClick={() => setFeed(key)} data-testid={`feed-${key}`}>
                {label}
              </button>
            ))}
          </div>
        </div>
        <p className="muted small">
          {d.fixed} fixed (A wrong → B right) · {d.broken} broken (A right → B wrong) · {d.prediction_changed} with another prediction · mean |confidence change|{" "}
          {d.mean_abs_confidence_change.toFixed(4)}
        </p>
        {samples.length === 0 ? (
          <p className="muted">None.</p>
        ) : (
          <table className="table" data-testid="changed-samples">
            <thead>
              <tr>
                <th>Sample</th>
                <th>Actual</th>
                <th>A predicts</th>
                <th>B predicts</th>
                <th className="num">A's confidence in the actual class</th>
                <th className="num">B's</th>
                <th>Open in</th>
              </tr>
            </thead>
            <tbody>
              {samples.map((s) => (
                <SampleRow key={s.index} s={s} a={data.a.id} b={data.b.id} />
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function SampleRow({ s, a, b }: { s: CompareSample; a: number; b: number }) {
  const below = "Below threshold";
  return (
    <tr data-testid="changed-sample" data-change={s.change}>
      <td className="strong">{s.id}</td>
      <td>{s.actual}</td>
      <td className={s.predicted_a === s.actual ? "good-text" : "bad-text"}>{s.predicted_a ?? below}</td>
      <td className={s.predicted_b === s.actual ? "good-text" : "bad-text"}>{s.predicted_b ?? below}</td>
      <td className="num">{fmt(s.confidence_a)}</td>
      <td className="num">{fmt(s.confidence_b)}</td>
      <td className="nowrap">
        <a href={evaluationHref(a, { sample: s.index })}>A</a> · <a href={evaluationHref(b, { sample: s.index_b })}>B</a>
      </td>
    </tr>
  );
}

function better(delta: number | null | undefined, higherIsBetter: boolean): string {
  if (delta === null || delta === undefined || delta === 0) return "";
  return delta > 0 === higherIsBetter ? "good-text" : "bad-text";
}
