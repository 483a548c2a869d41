// The leaderboard of one dataset version: every evaluation ranked by a chosen metric, each
// with its interval drawn on a common scale, and whether its paired difference from the best is
// significant (Holm-adjusted). Compare opens any row against the best.
import { useEffect } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, type LeaderboardPublic } from "../api/client";
import { Empty, ErrorState, Spinner } from "../components/common";
import { fmt } from "../format";
import { compareHref, evaluationHref, leaderboardHref, type Crumb } from "../routes";
import "./ComparePage.css";

function pText(p: number | null | undefined): string {
  if (p === null || p === undefined) return "—";
  return p < 0.001 ? "<0.001" : p.toFixed(3);
}

export function leaderboardParams(params: URLSearchParams): { dv: number; metric?: string } | null {
  const dv = Number(params.get("dv"));
  if (!Number.isInteger(dv) || dv < 1) return null;
  const metric = params.get("metric") ?? undefined;
  return { dv, metric: metric && /^[A-Za-z0-9_]{1,40}$/.test(metric) ? metric : undefined };
}

export function LeaderboardPage({ params, setCrumbs }: { params: URLSearchParams; setCrumbs: (c: Crumb[]) => void }) {
  const p = leaderboardParams(params);
  useEffect(() => setCrumbs([{ label: "Leaderboard" }]), [setCrumbs]);
  const q = useQuery({
    queryKey: ["leaderboard", p?.dv, p?.metric],
    queryFn: ({ signal }) => api.leaderboard(p!.dv, p!.metric, signal),
    enabled: p !== null,
    placeholderData: keepPreviousData,
  });
  if (!p)
    return (
      <Empty title="Which dataset?">
        Open a leaderboard from a compare page or from an evaluation's dataset in the <a href="#/">list</a>.
      </Empty>
    );
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  if (!q.data) return <Spinner label="Ranking (bootstrap)…" />;
  return <Board data={q.data} fetching={q.isFetching} />;
}

function Board({ data, fetching }: { data: LeaderboardPublic; fetching: boolean }) {
  const level = Math.round(data.level * 100);
  const rows = data.rows;
  const lows = rows.map((r) => r.low ?? r.value).filter((v): v is number => v !== null);
  const highs = rows.map((r) => r.high ?? r.value).filter((v): v is number => v !== null);
  const lo = Math.min(...lows);
  const hi = Math.max(...highs);
  const span = hi - lo || 1;
  const x = (v: number) => `${((v - lo) / span) * 100}%`;
  const best = rows.find((r) => r.best);
  const nSig = rows.filter((r) => r.significant).length;
  const dv = data.dataset_version;
  return (
    <div className="page leaderboard-page" data-testid="leaderboard-page">
      <div className="page-head">
        <div>
          <h1>
            Leaderboard · {dv.dataset} {dv.version}
          </h1>
          <p className="muted">
            {rows.length} evaluations of dataset version {dv.id} · {level}% bootstrap intervals ({data.n_resamples} resamples, the same for every model
            {data.task === "detection" ? ", over images" : ""}) · {nSig} of {rows.length - 1} significantly worse than the best {fetching ? "· updating…" : ""}
          </p>
        </div>
        <label className="slider-field nowrap">
          <span>Rank by </span>
          <select
            value={data.metric}
            data-testid="leaderboard-metric"
            onChange={(e) => {
              window.location.hash = leaderboardHref(dv.id, e.target.value);
            }}
          >
            {data.metrics.map((m) => (
              <option key={m.metric} value={m.metric}>
                {m.label} ({m.higher_is_better ? "higher" : "lower"} is better)
              </option>
            ))}
          </select>
        </label>
      </div>
      <section className="card">
        <table className="table" data-testid="leaderboard">
          <thead>
            <tr>
              <th className="num">#</th>
              <th>Evaluation</th>
              <th>Model</th>
              <th className="num">{data.label}</th>
              <th>{level}% CI</th>
              <th className="num">vs best</th>
              <th className="num">p (Holm)</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} className={r.best ? "is-best" : r.significant ? "is-worse" : undefined} data-testid="leaderboard-row" data-significant={r.significant ? "1" : "0"}>
                <td className="num">{r.rank}</td>
                <td>
                  <a href={evaluationHref(r.id)}>{r.name}</a> <span className="muted small">#{r.id}</span>
                </td>
                <td>{r.model ?? <span className="muted">—</span>}</td>
                <td className="num">{fmt(r.value)}</td>
                <td title={r.low === null ? "" : `[${r.low.toFixed(4)}, ${r.high?.toFixed(4)}]`}>
                  {r.value !== null && (
                    <div className="ci-bar">
                      {best?.value !== null && best?.value !== undefined && <span className="ci-best" style={{ left: x(best.value) }} />}
                      {r.low !== null && r.high !== null && <span className="ci-range" style={{ left: x(r.low), width: `${((r.high - r.low) / span) * 100}%` }} />}
                      <span className="ci-dot" style={{ left: x(r.value) }} />
                    </div>
                  )}
                </td>
                <td className="num">{r.best ? "best" : r.delta === null ? "—" : `${r.delta > 0 ? "+" : ""}${r.delta.toFixed(4)}`}</td>
                <td className="num">{r.best ? "" : pText(r.p_holm)}</td>
                <td className="nowrap">
                  {r.best ? (
                    <span className="tag">best</span>
                  ) : (
                    <>
                      <span className={r.significant ? "bad-text small" : "muted small"}>{r.significant ? "significantly worse" : "not significantly different"}</span>
                      {best && (
                        <>
                          {" · "}
                          <a href={compareHref(best.id, r.id)}>compare</a>
                        </>
                      )}
                    </>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
    </div>
  );
}
