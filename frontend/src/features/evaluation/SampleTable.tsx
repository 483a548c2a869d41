// The per-sample table of a classification evaluation (DL Workbench's report): every sample with
// its predicted class and confidence, its annotated class, that class's rank among the scores and
// its confidence, and the outcome. It shares the feed's filters (a confusion cell, only errors,
// the sort, all in the URL), is paged by the server, and exports the whole filtered table as CSV
// (GET /samples.csv, streamed and bounded by the server). `FeedOrTable` switches between the two.
import { useState, type ReactNode } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, client, type ClassificationItem, type SampleQuery, type SliderParams } from "../../api/client";
import { ErrorState, Panel, Segmented, Spinner } from "../../components/common";
import { labelText } from "../../format";
import { CLASSIFICATION_SORTS } from "../../lib/vocabulary";
import type { FeedFilter } from "./SampleFeed";
import { setView, useView } from "../../routes";
import "./SampleTable.css";

const PAGE = 50;

type Sort = (typeof CLASSIFICATION_SORTS)[number];

/** The feed (cards) or the table, one switch above them; the choice is in the URL (`view=table`),
 * so it survives a reload and the page re-rendering around it. */
export function FeedOrTable({ feed, table }: { feed: ReactNode; table: ReactNode }) {
  const view = useView().table ? "table" : "feed";
  return (
    <div className="feed-or-table">
      <div className="feed-switch">
        <Segmented
          value={view}
          onChange={(next: "feed" | "table") => setView({ table: next === "table" ? true : undefined })}
          testid="samples-view"
          options={[
            { value: "feed", label: "Feed" },
            { value: "table", label: "Table" },
          ]}
        />
      </div>
      {view === "feed" ? feed : table}
    </div>
  );
}

function query(sliders: SliderParams, filter: FeedFilter): SampleQuery {
  return {
    ...sliders,
    actual: filter.actual,
    predicted: filter.predicted,
    label: filter.label,
    outcome: filter.outcome,
    errors_only: filter.errors || undefined,
    sort: filter.sort,
    descending: filter.desc,
  };
}

/** Download the filtered table as CSV through the API client (it carries the token). */
export async function exportCsv(evalId: number, q: SampleQuery) {
  const clean = Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined && v !== null));
  const res = await client.GET("/api/evaluations/{evaluation_id}/samples.csv", {
    params: { path: { evaluation_id: evalId }, query: clean },
    parseAs: "blob",
  });
  if (!res.response.ok || !(res.data instanceof Blob)) throw new Error(`export failed (${res.response.status})`);
  const url = URL.createObjectURL(res.data);
  const a = document.createElement("a");
  a.href = url;
  a.download = `evaluation-${evalId}-samples.csv`;
  document.body.appendChild(a);
  a.click();
  a.remove();
  URL.revokeObjectURL(url);
}

export function SampleTable({
  evalId,
  sliders,
  filter,
  setFilter,
  actualOptions,
  predictedOptions,
  onOpen,
}: {
  evalId: number;
  sliders: SliderParams;
  filter: FeedFilter;
  setFilter: (patch: Partial<FeedFilter>) => void;
  actualOptions: string[];
  predictedOptions: string[];
  onOpen: (s: ClassificationItem) => void;
}) {
  const [page, setPage] = useState(0);
  const [exporting, setExporting] = useState<string | null>(null);
  const base = query(sliders, filter);
  const key = JSON.stringify(base);
  const [lastKey, setLastKey] = useState(key);
  if (key !== lastKey) {
    // another filter or sort: back to the first page
    setLastKey(key);
    setPage(0);
  }
  const q = useQuery({
    queryKey: ["evaluation", evalId, "sample-table", base, page],
    queryFn: ({ signal }) => api.samples(evalId, { ...base, offset: page * PAGE, limit: PAGE }, signal),
    placeholderData: keepPreviousData,
  });
  const total = q.data?.total ?? 0;
  const items = (q.data?.items ?? []) as ClassificationItem[];
  const sortHead = (label: string, k: Sort | null, help?: string, num = true) => {
    const on = k !== null && filter.sort === k;
    return (
      <th
        className={`${num ? "num" : ""} ${k ? "sortable" : ""}`}
        title={help ?? (k ? "sort by this column" : undefined)}
        aria-sort={on ? (filter.desc ? "descending" : "ascending") : undefined}
        data-testid={k ? `table-sort-${k}` : undefined}
        onClick={k ? () => setFilter(on ? { desc: !filter.desc } : { sort: k, desc: true }) : undefined}
      >
        {label}
        {on ? (filter.desc ? " ↓" : " ↑") : ""}
      </th>
    );
  };
  return (
    <Panel
      title="Samples · table"
      testid="sample-table"
      busy={q.isPlaceholderData}
      actions={
        <button
          className="btn btn-sm"
          data-testid="export-csv"
          disabled={exporting === "busy"}
          onClick={() => {
            setExporting("busy");
            exportCsv(evalId, base).then(
              () => setExporting(null),
              (e: unknown) => setExporting(e instanceof Error ? e.message : "export failed"),
            );
          }}
        >
          {exporting === "busy" ? "Exporting…" : "Export CSV"}
        </button>
      }
    >
      <div className="sample-table-filters">
        <label>
          Annotated{" "}
          <select value={filter.actual ?? ""} data-testid="table-actual" onChange={(e) => setFilter({ actual: e.target.value || undefined })}>
            <option value="">any</option>
            {actualOptions.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <label>
          Predicted{" "}
          <select value={filter.predicted ?? ""} data-testid="table-predicted" onChange={(e) => setFilter({ predicted: e.target.value || undefined })}>
            <option value="">any</option>
            {predictedOptions.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </label>
        <label className="nowrap">
          <input type="checkbox" checked={!!filter.errors} data-testid="table-errors" onChange={(e) => setFilter({ errors: e.target.checked || undefined })} /> Only errors
        </label>
        {exporting && exporting !== "busy" && <span className="bad-text small">{exporting}</span>}
        <span className="muted small" data-testid="table-total">
          {total} samples
        </span>
      </div>
      {q.error && <ErrorState error={q.error} onRetry={() => void q.refetch()} />}
      {!q.data && !q.error && <Spinner />}
      {q.data && (
        <div className="table-scroll">
          <table className="table table-click sample-table" data-testid="sample-table-rows">
            <thead>
              <tr>
                {sortHead("#", "index")}
                <th>Sample</th>
                <th>Predicted</th>
                {sortHead("Confidence", "confidence", "the score of the predicted class")}
                <th>Annotated</th>
                {sortHead("Rank", "confusion", "rank of the annotated class among the scores (1: top); sorting orders by how confused the model is (top score minus the annotated class's)")}
                <th className="num" title="the score of the annotated class">
                  Its confidence
                </th>
                <th>Outcome</th>
              </tr>
            </thead>
            <tbody>
              {items.map((s) => (
                <tr key={s.index} data-testid="sample-table-row" data-outcome={s.outcome} onClick={() => onOpen(s)}>
                  <td className="num muted">{s.index}</td>
                  <td className="sample-table-id">{s.text ?? s.id}</td>
                  <td>{labelText(s.predicted)}</td>
                  <td className="num">{s.confidence.toFixed(3)}</td>
                  <td>{labelText(s.actual, "actual")}</td>
                  <td className="num">{s.actual_rank ?? "—"}</td>
                  <td className="num">{s.actual_confidence === null ? "—" : s.actual_confidence.toFixed(3)}</td>
                  <td className={s.outcome === "correct" ? "good-text" : "bad-text"}>{s.outcome}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {items.length === 0 && <p className="muted">No sample matches.</p>}
        </div>
      )}
      <div className="sample-table-pager">
        <button className="btn btn-sm" disabled={page === 0} onClick={() => setPage(page - 1)} data-testid="table-prev">
          ← Previous
        </button>
        <span className="muted small" data-testid="table-range">
          {total === 0 ? "0" : `${page * PAGE + 1}–${Math.min(total, (page + 1) * PAGE)}`} of {total}
        </span>
        <button className="btn btn-sm" disabled={(page + 1) * PAGE >= total} onClick={() => setPage(page + 1)} data-testid="table-next">
          Next →
        </button>
      </div>
    </Panel>
  );
}
