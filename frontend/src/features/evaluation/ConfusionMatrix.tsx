// The confusion matrix as a clickable heatmap: rows = actual, columns = predicted.
import { useRef, useState, type KeyboardEvent } from "react";
import type { Confusion, SliderParams } from "../../api/client";
import { useConfusion } from "./hooks";
import { compactCount, rowPct, shortLabels } from "../../format";
import { isSpecialLabel } from "../../lib/vocabulary";
import { Empty, ErrorState, Panel, Segmented, Spinner } from "../../components/common";

/** What a cell shows: the count, the row share ("<1%" for a real count under half a percent), or a mean score. */
export function cellText(value: number | null, count: number, normalize: string | null, compact: boolean): string {
  if (compact && count === 0) return "";
  if (normalize === "true") return rowPct(value, count);
  if (normalize === "probability") return value === null ? "" : value.toFixed(2);
  return compactCount(count);
}

/** A cell of the matrix as [row, column]. */
export type CellPos = readonly [number, number];

/**
 * Where the keyboard focus goes from ``pos`` on ``key`` (arrows, Home / End within the row,
 * Ctrl+Home / Ctrl+End to the corners, PageUp / PageDown five rows), clamped to the matrix; null
 * for any other key.
 */
export function moveCell(pos: CellPos, key: string, nRows: number, nCols: number, ctrl = false): CellPos | null {
  const [i, j] = pos;
  const clamp = (x: number, n: number) => Math.max(0, Math.min(n - 1, x));
  switch (key) {
    case "ArrowUp":
      return [clamp(i - 1, nRows), j];
    case "ArrowDown":
      return [clamp(i + 1, nRows), j];
    case "ArrowLeft":
      return [i, clamp(j - 1, nCols)];
    case "ArrowRight":
      return [i, clamp(j + 1, nCols)];
    case "PageUp":
      return [clamp(i - 5, nRows), j];
    case "PageDown":
      return [clamp(i + 5, nRows), j];
    case "Home":
      return ctrl ? [0, 0] : [i, 0];
    case "End":
      return ctrl ? [nRows - 1, nCols - 1] : [i, nCols - 1];
    default:
      return null;
  }
}

export function ConfusionMatrix({
  data,
  onCell,
  selected,
  labelLink,
}: {
  data: Confusion;
  onCell: (actual: string, predicted: string) => void;
  selected?: { actual?: string; predicted?: string };
  /** a class's page: the row headers link to it */
  labelLink?: (name: string) => string;
}) {
  const { rows, columns, matrix, counts, normalize } = data;
  // One tab stop for the whole matrix (the selected cell, else the top-left one); the arrows move
  // between cells, Enter or Space opens a cell's samples.
  const [focused, setFocused] = useState<CellPos | null>(null);
  const tableRef = useRef<HTMLTableElement>(null);
  if (!rows.length || !columns.length) return <Empty title="Nothing to show" />;
  const selI = selected?.actual !== undefined ? rows.indexOf(selected.actual) : -1;
  const selJ = selected?.predicted !== undefined ? columns.indexOf(selected.predicted) : -1;
  const stop: CellPos =
    focused && focused[0] < rows.length && focused[1] < columns.length ? focused : selI >= 0 && selJ >= 0 ? [selI, selJ] : [0, 0];
  const onKey = (e: KeyboardEvent<HTMLTableCellElement>, i: number, j: number) => {
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      onCell(rows[i], columns[j]);
      return;
    }
    const next = moveCell([i, j], e.key, rows.length, columns.length, e.ctrlKey || e.metaKey);
    if (!next) return;
    e.preventDefault();
    setFocused(next);
    tableRef.current?.querySelector<HTMLElement>(`[data-cell="${next[0]}-${next[1]}"]`)?.focus();
  };
  let max = 0;
  let maxOff = 0;
  counts.forEach((r, i) =>
    r.forEach((v, j) => {
      max = Math.max(max, v);
      if (rows[i] !== columns[j]) maxOff = Math.max(maxOff, v);
    }),
  );
  const compact = columns.length > 14;
  const short = shortLabels([...new Set([...rows, ...columns])], compact ? 14 : 20);
  const longest = Math.max(...columns.map((c) => [...(short.get(c) ?? c)].length));
  const headH = Math.round(Math.min(compact ? 110 : 160, 16 + longest * 7.2));
  const scale = (i: number, j: number, diag: boolean) => {
    const v = matrix[i]?.[j] ?? null;
    if (normalize === "true" || normalize === "probability") return v ?? 0;
    const m = diag ? max : maxOff || max;
    return m > 0 ? Math.sqrt((counts[i]?.[j] ?? 0) / m) : 0;
  };
  const unit = data.unit === "boxes" ? "boxes" : "samples";
  // Few classes: taller cells, so the matrix fills its panel next to the curves.
  const cellH = compact ? undefined : Math.max(32, Math.min(72, Math.floor(340 / rows.length)));

  return (
    <div className={`cm-wrap ${compact ? "cm-compact" : ""}`} data-testid="confusion-matrix">
      <div className="cm-axis-x">Predicted →</div>
      <div className="cm-body">
        <div className="cm-axis-y">Actual →</div>
        <div className="cm-scroll">
          <table
            className="cm"
            ref={tableRef}
            role="grid"
            aria-label={`Confusion matrix: rows are the actual class, columns the predicted one. Arrow keys move between cells; Enter or Space shows a cell's ${unit}.`}
          >
            <thead>
              <tr>
                <th className="cm-corner" style={{ height: headH }} />
                {columns.map((c) => (
                  <th key={c} className={`cm-col ${isSpecialLabel(c) ? "cm-special" : ""}`} title={c} style={{ height: headH }}>
                    <span style={{ maxHeight: headH - 4 }}>{short.get(c)}</span>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r, i) => (
                <tr key={r}>
                  <th className={`cm-row ${isSpecialLabel(r) ? "cm-special" : ""}`} title={r}>
                    {labelLink && !isSpecialLabel(r) ? (
                      // out of the tab order: the matrix keeps one tab stop (its cells, moved
                      // with the arrows); the per-class table's links open the same pages
                      <a href={labelLink(r)} title={`${r}: its page`} data-testid="cm-label-link" tabIndex={-1}>
                        {short.get(r)}
                      </a>
                    ) : (
                      short.get(r)
                    )}
                  </th>
                  {columns.map((c, j) => {
                    const v = matrix[i]?.[j] ?? null;
                    const n = counts[i]?.[j] ?? 0;
                    const diag = r === c;
                    const a = Math.min(1, Math.max(0, scale(i, j, diag)));
                    const bg = n === 0 ? "transparent" : diag ? `rgba(47, 91, 234, ${0.08 + 0.82 * a})` : `rgba(214, 69, 69, ${0.08 + 0.8 * a})`;
                    const isSel = selected?.actual === r && selected?.predicted === c;
                    const shown = normalize === "true" ? ` (${rowPct(v, n)} of the row)` : normalize === "probability" && v !== null ? ` (mean score ${v.toFixed(3)})` : "";
                    const says = `Actual ${r} → predicted ${c}: ${n.toLocaleString()} ${unit}${shown}`;
                    return (
                      <td
                        key={c}
                        role="gridcell"
                        tabIndex={stop[0] === i && stop[1] === j ? 0 : -1}
                        aria-label={says}
                        aria-selected={isSel}
                        data-cell={`${i}-${j}`}
                        className={`cm-cell ${isSel ? "cm-selected" : ""} ${n ? "cm-nonzero" : ""}`}
                        style={{ background: bg, color: a > 0.55 ? "#fff" : undefined, height: cellH }}
                        title={says}
                        onClick={() => {
                          setFocused([i, j]);
                          onCell(r, c);
                        }}
                        onFocus={() => setFocused([i, j])}
                        onKeyDown={(e) => onKey(e, i, j)}
                        data-testid="cm-cell"
                        data-actual={r}
                        data-predicted={c}
                        data-count={n}
                        data-value={v ?? ""}
                      >
                        {cellText(v, n, normalize, compact)}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
      <div className="muted small">
        {unit === "boxes" ? "Cells count boxes (matched pairs, missed objects, false detections)." : "Cells count samples."}{" "}
        {normalize === "true" && "Shown as the share of each actual class (row)."}
        {normalize === "probability" && "Shown as the mean predicted probability of the column class over the cell's samples."}
      </div>
    </div>
  );
}

type Normalize = "none" | "true" | "probability";

/**
 * The confusion-matrix panel of both evaluation pages: the count / row % / probability switch, the
 * top-10 view with a way to see all classes, and the matrix at the page's operating point.
 */
export function ConfusionPanel({
  evalId,
  nClasses,
  sliders,
  modes,
  onCell,
  selected,
  labelLink,
}: {
  evalId: number;
  nClasses: number;
  sliders: SliderParams;
  modes: { value: Normalize; label: string }[];
  onCell: (actual: string, predicted: string) => void;
  selected?: { actual?: string; predicted?: string };
  labelLink?: (name: string) => string;
}) {
  const [normalize, setNormalize] = useState<Normalize>("none");
  const [showAll, setShowAll] = useState(false);
  const top = nClasses > 10 && !showAll ? 10 : undefined;
  const confusion = useConfusion(evalId, { ...sliders, normalize: normalize === "none" ? undefined : normalize, top });
  return (
    <Panel
      busy={confusion.isFetching && !!confusion.data}
      title="Confusion matrix"
      testid="confusion"
      className="panel-fill"
      actions={
        <>
          <Segmented value={normalize} onChange={setNormalize} testid="cm-mode" options={modes} />
          {nClasses > 10 && (
            <button className="btn btn-sm" onClick={() => setShowAll(!showAll)} data-testid="cm-toggle-all">
              {showAll ? "Top 10 confused" : `All ${nClasses} classes`}
            </button>
          )}
        </>
      }
    >
      {confusion.error && !confusion.data ? (
        <ErrorState error={confusion.error} onRetry={() => void confusion.refetch()} />
      ) : !confusion.data ? (
        <Spinner />
      ) : (
        <>
          {top && <p className="muted small">The {top} classes involved in the most confusion, of {nClasses}.</p>}
          <ConfusionMatrix data={confusion.data} onCell={onCell} selected={selected} labelLink={labelLink} />
        </>
      )}
    </Panel>
  );
}
