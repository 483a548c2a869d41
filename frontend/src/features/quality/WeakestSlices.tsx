// The "Weakest slices" section of the data-quality page: the slices (up to three conditions over
// metadata columns and binned properties) where accuracy (detection: mean per-image F1) is lowest,
// each with its interval, the difference from the rest and its Holm-adjusted p-value; a row opens
// the slice's samples below it (the wrong ones first), each opening the sample view.
import { useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { client, unwrap, type QueryOf } from "../../api/client";
import type { components } from "../../api/schema";
import { Empty, ErrorState, Panel, Segmented, Spinner } from "../../components/common";
import { Media } from "../../components/Media";
import { labelText } from "../../format";
import { evaluationHref } from "../../routes";
import { pValue, short } from "./qualityCharts";
import type { QualityReady } from "./types";

type Schemas = components["schemas"];
type Slice = Schemas["Slice"];
type SliceItem = Schemas["ExploreItem"];
type SlicesQuery = QueryOf<"/api/evaluations/{evaluation_id}/quality/slices">;

const PAGE = 24;
const SIZES = [0, 10, 30, 50, 100, 250, 500, 1000]; // 0: the default, max(30, 1 % of N) (at most N / 4)
const CONDITIONS = [
  { value: "1", label: "1" },
  { value: "2", label: "2" },
  { value: "3", label: "3" },
];

function useSlices(id: number, p: SlicesQuery) {
  return useQuery({
    queryKey: ["quality", id, "slices", p] as const,
    queryFn: ({ signal }) => unwrap(client.GET("/api/evaluations/{evaluation_id}/quality/slices", { params: { path: { evaluation_id: id }, query: p }, signal })),
    placeholderData: keepPreviousData,
    retry: false,
  });
}

function useSliceSamples(id: number, index: number | null, p: SlicesQuery, offset: number) {
  return useQuery({
    queryKey: ["quality", id, "slice-samples", index, p, offset] as const,
    queryFn: ({ signal }) =>
      unwrap(
        client.GET("/api/evaluations/{evaluation_id}/quality/slices/{index}/samples", {
          params: { path: { evaluation_id: id, index: index ?? 0 }, query: { ...p, offset, limit: PAGE } },
          signal,
        }),
      ),
    enabled: index !== null,
    placeholderData: keepPreviousData,
  });
}

export function WeakestSlices({ data }: { data: QualityReady }) {
  const id = data.evaluation_id;
  const [minSize, setMinSize] = useState(0);
  const [conditions, setConditions] = useState("3");
  const [open, setOpen] = useState<number | null>(null);
  const [offset, setOffset] = useState(0);
  const query: SlicesQuery = { max_conditions: Number(conditions), ...(minSize > 0 ? { min_size: minSize } : {}) };
  const q = useSlices(id, query);
  const s = q.data;
  const accuracy = data.task !== "detection";
  const what = accuracy ? "accuracy" : "mean per-image F1";
  const choose = (k: number | null) => {
    setOpen(k);
    setOffset(0);
  };
  return (
    <Panel
      title="Weakest slices"
      testid="quality-slices"
      busy={q.isFetching && q.isPlaceholderData}
      actions={
        <>
          <label className="quality-field" title="The smallest slice searched">
            At least
            <select
              className="select"
              value={minSize}
              onChange={(e) => {
                setMinSize(Number(e.target.value));
                choose(null);
              }}
              data-testid="slices-min-size"
            >
              {SIZES.filter((n) => n < data.n_samples).map((n) => (
                <option key={n} value={n}>
                  {n === 0 ? `${s?.min_size ?? "max(30, 1 %)"} (default)` : n}
                </option>
              ))}
            </select>
            samples
          </label>
          <span className="quality-field">Conditions ≤</span>
          <Segmented
            value={conditions}
            options={CONDITIONS}
            onChange={(v) => {
              setConditions(v);
              choose(null);
            }}
            testid="slices-conditions"
          />
        </>
      }
    >
      {q.error && !s ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : !s ? (
        <Spinner label="Searching the slices…" />
      ) : (
        <>
          <p className="muted small quality-lead" data-testid="slices-lead" data-tried={s.n_tried} data-family={s.n_family} data-significant={s.n_significant}>
            Combinations of up to {s.max_conditions} conditions over {s.columns.length} metadata columns and properties (numbers cut at their quartiles) where{" "}
            {accuracy ? "accuracy" : "the mean per-image F1 (at the evaluation's IoU and confidence)"} is lowest: {s.n_tried.toLocaleString()} slices of at least {s.min_size.toLocaleString()}{" "}
            {accuracy ? "samples" : "images"} tried; each tested against the rest ({accuracy ? "two-proportion z-test; exact binomial where either side has at most 1,000 samples" : "Welch's z-test"}), p-values Holm-adjusted over{" "}
            {s.n_family.toLocaleString()} hypotheses; {s.n_significant.toLocaleString()} significant. A slice no worse than the slice without one of its conditions is left out. Overall {what}:{" "}
            {short(s.overall)}. Click a row for its samples.
          </p>
          {s.columns.length === 0 ? (
            <Empty title="Nothing to slice by">This dataset has no metadata columns or properties.</Empty>
          ) : s.slices.length === 0 ? (
            <Empty title="No slice is worse than the rest">Try a smaller minimum size or more conditions.</Empty>
          ) : (
            <table className="table table-dense" data-testid="slices-table">
              <thead>
                <tr>
                  <th>#</th>
                  <th>Slice</th>
                  <th className="num">n</th>
                  <th className="num" title={`The slice's ${what} with its 95 % interval (${accuracy ? "Wilson" : "bootstrap over images"})`}>
                    {accuracy ? "Accuracy" : "F1"}
                  </th>
                  <th className="num" title="The slice's metric minus the rest's">
                    vs rest
                  </th>
                  <th className="num" title="Two-sided p-value against the rest, Holm-adjusted">
                    p (Holm)
                  </th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {s.slices.map((sl) => (
                  <SliceRow key={sl.index} sl={sl} open={open === sl.index} onClick={() => choose(open === sl.index ? null : sl.index)} />
                ))}
              </tbody>
            </table>
          )}
          {open !== null && open < s.slices.length && <SliceSamples id={id} slice={s.slices[open]} query={query} offset={offset} setOffset={setOffset} />}
        </>
      )}
    </Panel>
  );
}

function SliceRow({ sl, open, onClick }: { sl: Slice; open: boolean; onClick: () => void }) {
  return (
    <tr className={`clickable ${open ? "selected" : ""}`} onClick={onClick} data-testid="slice-row" data-index={sl.index} data-significant={sl.significant} title="Show this slice's samples">
      <td className="muted">{sl.index + 1}</td>
      <td>
        {sl.conditions.map((c, k) => (
          <span key={c.text}>
            {k > 0 && <span className="muted"> and </span>}
            <code className="slice-condition">{c.text}</code>
          </span>
        ))}
      </td>
      <td className="num">{sl.n.toLocaleString()}</td>
      <td className="num" title={`95 %: ${short(sl.low)} – ${short(sl.high)}`}>
        {short(sl.metric)} <span className="muted small">[{short(sl.low)}, {short(sl.high)}]</span>
      </td>
      <td className={`num ${sl.difference < 0 ? "bad-text" : "good-text"}`}>
        {sl.difference > 0 ? "+" : ""}
        {sl.difference.toFixed(3)}
      </td>
      <td className="num" title={`unadjusted p ${pValue(sl.p_value)}`}>
        {pValue(sl.p_holm)}
      </td>
      <td>{sl.significant && <span className="label-pill pill-bad">significant</span>}</td>
    </tr>
  );
}

function SliceSamples({ id, slice, query, offset, setOffset }: { id: number; slice: Slice; query: SlicesQuery; offset: number; setOffset: (n: number) => void }) {
  const q = useSliceSamples(id, slice.index, query, offset);
  const page = q.data;
  return (
    <div className="slice-samples" data-testid="slice-samples" data-index={slice.index} data-total={page?.total ?? ""}>
      <h3 className="small strong">
        {slice.description}: {slice.n.toLocaleString()} samples{slice.n_wrong !== null ? `, ${slice.n_wrong.toLocaleString()} wrong` : ""} (the wrong ones first)
      </h3>
      {q.error && !page ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : !page ? (
        <Spinner />
      ) : (
        <>
          <div className={`quality-cards ${page.items.some((it) => it.text) ? "is-text" : ""}`}>
            {page.items.map((it) => (
              <SliceCard key={it.index} s={it} evaluationId={id} />
            ))}
          </div>
          <div className="quality-pager">
            <span className="muted small">
              {offset + 1}–{Math.min(offset + PAGE, page.total)} of {page.total.toLocaleString()}
            </span>
            <button className="btn btn-sm" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))} data-testid="slice-prev">
              Previous
            </button>
            <button className="btn btn-sm" disabled={offset + PAGE >= page.total} onClick={() => setOffset(offset + PAGE)} data-testid="slice-next">
              Next
            </button>
          </div>
        </>
      )}
    </div>
  );
}

function SliceCard({ s, evaluationId }: { s: SliceItem; evaluationId: number }) {
  const good = s.outcome === "correct";
  return (
    <a className={`quality-card ${good ? "ok" : "bad"}`} href={evaluationHref(evaluationId, { sample: s.index })} data-testid="slice-item" data-index={s.index} data-outcome={s.outcome} title={`${s.id}: open the sample`}>
      {s.text !== null && s.text !== undefined ? (
        <span className="quality-text" title={s.text}>
          {s.text}
        </span>
      ) : (
        <span className="thumb">
          <Media src={s.thumbnail_url} alt={s.id} fallback={s.id} />
        </span>
      )}
      <span className="quality-card-meta">
        <span className="small truncate strong">{s.id}</span>
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
      </span>
    </a>
  );
}
