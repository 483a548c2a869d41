// The per-image table of a detection evaluation (the Table view of its feed): every image with
// its number of annotated objects and of predictions at the page's (IoU, confidence), its TP, FP
// and FN there, and its worst error (the most confident wrong prediction, else the largest missed
// object). It shares the feed's filters (a confusion cell, images holding a TP / FP / FN box of a
// class, only errors, the sort, all in the URL), is paged by the server and exports the whole filtered table as CSV
// (GET /samples.csv, the same columns).
import { useState } from "react";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import { api, type Box, type DetectionItem, type SampleQuery, type SliderParams } from "../../api/client";
import { ErrorState, Panel, Spinner } from "../../components/common";
import { DETECTION_SORTS, OUTCOME_NAMES, OUTCOMES, type Outcome } from "../../lib/vocabulary";
import type { FeedFilter } from "./SampleFeed";
import { exportCsv } from "./SampleTable";
import "./SampleTable.css";

const PAGE = 50;

type Sort = (typeof DETECTION_SORTS)[number];

/** The image's worst error at the point: its most confident wrong prediction (a box of another
 * class than the object it matches, or a box matching none), else its largest missed object;
 * null when it has none. The server's CSV export writes the same words. */
export function worstError(boxes: Box[]): string | null {
  let worst: Box | null = null;
  for (const b of boxes) {
    if (b.kind !== "pred" || (b.status !== "fp" && b.status !== "misclassified")) continue;
    if (worst === null || (b.score ?? 0) > (worst.score ?? 0)) worst = b;
  }
  if (worst) {
    const score = (worst.score ?? 0).toFixed(2);
    const gt = worst.status === "misclassified" && worst.match != null ? boxes[worst.match] : undefined;
    return gt ? `${gt.label} detected as ${worst.label} (${score})` : `false ${worst.label} (${score})`;
  }
  let missed: Box | null = null;
  const area = (b: Box) => b.bbox[2] * b.bbox[3];
  for (const b of boxes) {
    if (b.kind !== "gt" || (b.status !== "fn" && b.status !== "misclassified")) continue;
    if (missed === null || area(b) > area(missed)) missed = b;
  }
  return missed ? `missed ${missed.label}` : null;
}

/** Annotated objects (crowd regions left out) and predictions at the point: TP + FN and TP + FP. */
export function boxCounts(s: DetectionItem): { gt: number; pred: number } {
  return { gt: s.tp + s.fn, pred: s.tp + s.fp };
}

function query(sliders: SliderParams, filter: FeedFilter): SampleQuery {
  // a class and an outcome go together (images holding such a box); one alone is not a filter
  const both = filter.label !== undefined && filter.outcome !== undefined;
  return {
    ...sliders,
    actual: filter.actual,
    predicted: filter.predicted,
    label: both ? filter.label : undefined,
    outcome: both ? filter.outcome : undefined,
    errors_only: filter.errors || undefined,
    sort: filter.sort,
    descending: filter.desc,
  };
}

export function DetectionSampleTable({
  evalId,
  sliders,
  filter,
  setFilter,
  classes,
  actualOptions,
  predictedOptions,
  onOpen,
}: {
  evalId: number;
  sliders: SliderParams;
  filter: FeedFilter;
  setFilter: (patch: Partial<FeedFilter>) => void;
  classes: string[];
  actualOptions: string[];
  predictedOptions: string[];
  onOpen: (s: DetectionItem) => void;
}) {
  const [page, setPage] = useState(0);
  const [exporting, setExporting] = useState<string | null>(null);
  const base = query(sliders, filter);
  const key = JSON.stringify(base);
  const [lastKey, setLastKey] = useState(key);
  if (key !== lastKey) {
    // another filter, sort or point: back to the first page
    setLastKey(key);
    setPage(0);
  }
  const q = useQuery({
    queryKey: ["evaluation", evalId, "detection-table", base, page],
    queryFn: ({ signal }) => api.samples(evalId, { ...base, offset: page * PAGE, limit: PAGE }, signal),
    placeholderData: keepPreviousData,
  });
  const total = q.data?.total ?? 0;
  const items = (q.data?.items ?? []) as DetectionItem[];
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
  const select = (label: string, value: string | undefined, options: string[], testid: string, set: (v: string | undefined) => void, words?: (v: string) => string) => (
    <label>
      {label}{" "}
      <select value={value ?? ""} data-testid={testid} onChange={(e) => set(e.target.value || undefined)}>
        <option value="">any</option>
        {options.map((c) => (
          <option key={c} value={c}>
            {words ? words(c) : c}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <Panel
      title="Images · table"
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
        {select("Has a", filter.outcome, [...OUTCOMES], "table-outcome", (v) => {
          const outcome = OUTCOMES.find((o) => o === v);
          setFilter(outcome ? { outcome, label: filter.label ?? classes[0] } : { outcome: undefined, label: undefined });
        }, (v) => OUTCOME_NAMES[v as Outcome] ?? v)}
        {select("box of", filter.label, classes, "table-label", (v) => setFilter(v ? { label: v, outcome: filter.outcome ?? "fp" } : { label: undefined, outcome: undefined }))}
        {select("Annotated", filter.actual, actualOptions, "table-actual", (v) => setFilter({ actual: v }))}
        {select("Detected as", filter.predicted, predictedOptions, "table-predicted", (v) => setFilter({ predicted: v }))}
        <label className="nowrap">
          <input type="checkbox" checked={!!filter.errors} data-testid="table-errors" onChange={(e) => setFilter({ errors: e.target.checked || undefined })} /> Only images with errors
        </label>
        {exporting && exporting !== "busy" && <span className="bad-text small">{exporting}</span>}
        <span className="muted small" data-testid="table-total">
          {total} images · at IoU {sliders.iou?.toFixed(2) ?? "—"}, confidence {sliders.score?.toFixed(2) ?? "—"}
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
                <th>Image</th>
                <th className="num" title="annotated objects (crowd regions left out): TP + FN">
                  # GT
                </th>
                <th className="num" title="predictions at the confidence: TP + FP">
                  # Pred.
                </th>
                {sortHead("TP", "tp", "predictions matching an object of their class")}
                {sortHead("FP", "fp", "predictions matching no object, or one of another class")}
                {sortHead("FN", "fn", "objects no prediction of their class matches")}
                {sortHead("Errors", "errors", "FP + FN; sorting puts the images with the most errors first")}
                <th title="the most confident wrong prediction, else the largest missed object">Worst error</th>
              </tr>
            </thead>
            <tbody>
              {items.map((s) => {
                const n = boxCounts(s);
                const worst = worstError(s.boxes);
                return (
                  <tr key={s.index} data-testid="sample-table-row" data-errors={s.fp + s.fn} onClick={() => onOpen(s)}>
                    <td className="num muted">{s.index}</td>
                    <td className="sample-table-id" title={s.file_name}>
                      {s.file_name || s.id}
                    </td>
                    <td className="num">{n.gt}</td>
                    <td className="num">{n.pred}</td>
                    <td className="num good-text">{s.tp}</td>
                    <td className={`num ${s.fp ? "bad-text" : ""}`}>{s.fp}</td>
                    <td className={`num ${s.fn ? "bad-text" : ""}`}>{s.fn}</td>
                    <td className="num">{s.fp + s.fn}</td>
                    <td className={worst ? "bad-text" : "muted"} data-testid="worst-error">
                      {worst ?? "—"}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {items.length === 0 && <p className="muted">No image matches.</p>}
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
