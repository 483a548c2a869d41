// The leaderboard of one dataset version: every evaluation ranked by a chosen metric, each
// with its interval drawn on a common scale, the ranks it may plausibly hold, and whether it is
// significantly worse than the best, all from one simultaneous procedure over the board (the
// answer's `procedure`); the winner's interval that accounts for its selection is drawn too.
// Compare opens any row against the best.
import { useEffect } from "react";
import type { LeaderboardPublic } from "../../api/client";
import { useLeaderboard } from "./hooks";
import { compareHref, leaderboardHref, leaderboardParams } from "./url";
import { Empty, ErrorState, Spinner } from "../../components/common";
import { fmt } from "../../format";
import { axisPosition, niceAxis, type Axis } from "../../lib/axis";
import { evaluationHref, type Crumb } from "../../routes";
import "./ComparePage.css";
import "./LeaderboardPage.css";

function signed(v: number): string {
  return `${v > 0 ? "+" : ""}${v.toFixed(4)}`;
}

function pText(p: number | null | undefined): string {
  if (p === null || p === undefined) return "—";
  return p < 0.001 ? "<0.001" : p.toFixed(3);
}

export function LeaderboardPage({ params, setCrumbs }: { params: URLSearchParams; setCrumbs: (c: Crumb[]) => void }) {
  const p = leaderboardParams(params);
  useEffect(() => setCrumbs([{ label: "Leaderboard" }]), [setCrumbs]);
  const q = useLeaderboard(p);
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

/** The tick labels of the interval column's scale, each at its place along the bars. */
function AxisTicks({ axis }: { axis: Axis }) {
  return (
    <div className="ci-axis" data-testid="ci-axis" aria-label={`Scale from ${axis.lo.toFixed(axis.digits)} to ${axis.hi.toFixed(axis.digits)}`}>
      {axis.ticks.map((t) => (
        <span key={t} className="ci-tick" style={{ left: `${axisPosition(axis, t) * 100}%` }} data-testid="ci-tick">
          {t.toFixed(axis.digits)}
        </span>
      ))}
    </div>
  );
}

/** "2" or "1–3": the ranks a model may hold; "—" without a value. */
export function rankText(low: number | null | undefined, high: number | null | undefined): string {
  if (low === null || low === undefined || high === null || high === undefined) return "—";
  return low === high ? String(low) : `${low}–${high}`;
}

function Board({ data, fetching }: { data: LeaderboardPublic; fetching: boolean }) {
  const level = Math.round(data.level * 100);
  const rows = data.rows;
  const winner = rows.find((r) => r.best && r.simultaneous_low !== null && r.simultaneous_high !== null);
  // the winner's selection-adjusted interval, when the answer has one
  const sim = winner && winner.simultaneous_low !== null && winner.simultaneous_high !== null ? { low: winner.simultaneous_low, high: winner.simultaneous_high } : null;
  const lows = rows.map((r) => r.low ?? r.value).filter((v): v is number => v !== null);
  const highs = rows.map((r) => r.high ?? r.value).filter((v): v is number => v !== null);
  if (sim) {
    lows.push(sim.low);
    highs.push(sim.high);
  }
  // one scale for every row, its ends and ticks at round numbers, drawn above the column
  const axis = niceAxis(Math.min(...lows), Math.max(...highs));
  const x = (v: number) => `${axisPosition(axis, v) * 100}%`;
  const width = (low: number, high: number) => `${(axisPosition(axis, high) - axisPosition(axis, low)) * 100}%`;
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
          <p className="muted small leaderboard-procedure" data-testid="leaderboard-procedure">
            <strong>{data.procedure}</strong>
            {data.critical_value !== null ? ` (±${data.critical_value.toFixed(2)} standard errors where one pair alone would use 1.96)` : ""}: a model is{" "}
            <em>significantly worse</em> when the simultaneous interval of its value minus the best of the others lies below 0, i.e. some model is surely
            better; boards of equal models get any such mark on about {100 - level}% of boards (family-wise), not {100 - level}% per row. <em>Ranks</em> are the ranks each model may hold, all at once.
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
              <th className="num" title={`the ranks each model may hold (${level}% simultaneous)`}>
                Ranks
              </th>
              <th>Evaluation</th>
              <th>Model</th>
              <th className="num">{data.label}</th>
              <th className="ci-head">
                <div className="ci-title">
                  {level}% CI of {data.label}
                </div>
                <AxisTicks axis={axis} />
              </th>
              <th className="num" title={`value minus the best of the others, with its ${level}% simultaneous interval`}>
                vs best ({level}% sim.)
              </th>
              <th className="num">p (sim.)</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} className={r.best ? "is-best" : r.significant ? "is-worse" : undefined} data-testid="leaderboard-row" data-significant={r.significant ? "1" : "0"}>
                <td className="num">{r.rank}</td>
                <td className="num nowrap" data-testid="rank-interval" title={`may rank ${rankText(r.rank_low, r.rank_high)} of ${rows.length}`}>
                  {rankText(r.rank_low, r.rank_high)}
                </td>
                <td>
                  <a href={evaluationHref(r.id)}>{r.name}</a> <span className="muted small">#{r.id}</span>
                </td>
                <td>{r.model ?? <span className="muted">—</span>}</td>
                <td className="num">{fmt(r.value)}</td>
                <td className="ci-cell" title={r.low === null ? "" : `[${r.low.toFixed(4)}, ${r.high?.toFixed(4)}]`}>
                  {r.value !== null && (
                    <div className="ci-bar">
                      {axis.ticks.map((t) => (
                        <span key={t} className="ci-grid" style={{ left: x(t) }} />
                      ))}
                      {best?.value !== null && best?.value !== undefined && <span className="ci-best" style={{ left: x(best.value) }} />}
                      {r === winner && sim && (
                        <span
                          className="ci-sim"
                          data-testid="ci-winner-simultaneous"
                          style={{ left: x(sim.low), width: width(sim.low, sim.high) }}
                        />
                      )}
                      {r.low !== null && r.high !== null && <span className="ci-range" style={{ left: x(r.low), width: width(r.low, r.high) }} />}
                      <span className="ci-dot" style={{ left: x(r.value) }} />
                    </div>
                  )}
                  <div className="ci-numbers muted small" data-testid="ci-numbers">
                    {r.low !== null && r.high !== null ? `${fmt(r.low)} – ${fmt(r.high)}` : "no interval"}
                  </div>
                  {r === winner && (
                    <div className="ci-sim-numbers small" data-testid="winner-simultaneous">
                      selection-adjusted {fmt(winner.simultaneous_low)} – {fmt(winner.simultaneous_high)}
                    </div>
                  )}
                </td>
                <td className="num">
                  {r.best ? "best" : r.delta === null ? "—" : `${r.delta > 0 ? "+" : ""}${r.delta.toFixed(4)}`}
                  {!r.best && r.delta_low !== null && r.delta_high !== null && (
                    <div className="muted small nowrap" data-testid="delta-interval">
                      [{signed(r.delta_low)}, {signed(r.delta_high)}]
                    </div>
                  )}
                </td>
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
        {winner && (
          <p className="muted small leaderboard-note" data-testid="leaderboard-winner-note">
            The bars are each model&apos;s own {level}% interval, right for a model looked at alone but too kind to the one that came first (it was
            picked from the same data). The outlined bar on {winner.name} is its interval accounting for that selection, simultaneous over the{" "}
            {rows.length} models: {fmt(winner.simultaneous_low)} – {fmt(winner.simultaneous_high)}.
          </p>
        )}
      </section>
    </div>
  );
}
