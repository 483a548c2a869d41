// The confusion matrix as a clickable heatmap: rows = actual, columns = predicted.
import { useState } from "react";
import { api, type SliderParams } from "../api/client";
import type { ConfusionAnswer } from "../api/types";
import { useQuery } from "../hooks";
import { Empty, ErrorState, Panel, Segmented, Spinner } from "./common";

const SPECIAL = new Set(["Below threshold", "Not detected", "Not an object", "No prediction"]);

function cellText(v: number | null, normalize: string | null, compact: boolean) {
  if (v === null || v === undefined) return "";
  if (compact && v === 0) return "";
  if (normalize === "true") return v === 0 ? "0" : `${Math.round(v * 100)}`;
  if (normalize === "probability") return v.toFixed(2);
  return v >= 10000 ? `${(v / 1000).toFixed(0)}k` : String(v);
}

export function ConfusionMatrix({
  data,
  onCell,
  selected,
}: {
  data: ConfusionAnswer;
  onCell: (actual: string, predicted: string) => void;
  selected?: { actual?: string; predicted?: string };
}) {
  const { rows, columns, matrix, normalize } = data;
  if (!rows.length || !columns.length) return <Empty title="Nothing to show" />;
  let max = 0;
  let maxOff = 0;
  matrix.forEach((r, i) =>
    r.forEach((v, j) => {
      if (v === null) return;
      max = Math.max(max, v);
      if (rows[i] !== columns[j]) maxOff = Math.max(maxOff, v);
    }),
  );
  const scale = (v: number, diag: boolean) => {
    if (normalize === "true" || normalize === "probability") return v;
    const m = diag ? max : maxOff || max;
    return m > 0 ? Math.sqrt(v / m) : 0;
  };
  const compact = columns.length > 14;

  return (
    <div className={`cm-wrap ${compact ? "cm-compact" : ""}`} data-testid="confusion-matrix">
      <div className="cm-axis-x">Predicted →</div>
      <div className="cm-body">
        <div className="cm-axis-y">Actual →</div>
        <div className="cm-scroll">
          <table className="cm">
            <thead>
              <tr>
                <th className="cm-corner" />
                {columns.map((c) => (
                  <th key={c} className={`cm-col ${SPECIAL.has(c) ? "cm-special" : ""}`} title={c}>
                    <span>{c}</span>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r, i) => (
                <tr key={r}>
                  <th className={`cm-row ${SPECIAL.has(r) ? "cm-special" : ""}`} title={r}>
                    {r}
                  </th>
                  {columns.map((c, j) => {
                    const v = matrix[i]?.[j] ?? null;
                    const diag = r === c;
                    const a = v === null ? 0 : Math.min(1, Math.max(0, scale(v, diag)));
                    const bg =
                      v === null || v === 0
                        ? "transparent"
                        : diag
                          ? `rgba(47, 91, 234, ${0.08 + 0.82 * a})`
                          : `rgba(214, 69, 69, ${0.08 + 0.8 * a})`;
                    const isSel = selected?.actual === r && selected?.predicted === c;
                    const dark = a > 0.55;
                    return (
                      <td
                        key={c}
                        className={`cm-cell ${isSel ? "cm-selected" : ""} ${v ? "cm-nonzero" : ""}`}
                        style={{ background: bg, color: dark ? "#fff" : undefined }}
                        title={`Actual ${r} → predicted ${c}: ${v ?? "—"}${normalize === "true" ? " (row fraction)" : ""}`}
                        onClick={() => onCell(r, c)}
                        data-testid="cm-cell"
                        data-actual={r}
                        data-predicted={c}
                        data-value={v ?? ""}
                      >
                        {cellText(v, normalize, compact)}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </div>
      {normalize === "true" && <div className="muted small">Cells show the % of each actual class (row).</div>}
      {normalize === "probability" && (
        <div className="muted small">Cells show the mean predicted probability of the column class over the cell's samples.</div>
      )}
    </div>
  );
}

type Normalize = "none" | "true" | "probability";

/**
 * The confusion-matrix panel of both evaluation pages: the count / row % / probability switch, the
 * top-10 view with a way to see all classes, and the matrix at the page's threshold or IoU.
 */
export function ConfusionPanel({
  evalId,
  nClasses,
  sliders,
  modes,
  onCell,
  selected,
}: {
  evalId: number;
  nClasses: number;
  sliders: SliderParams;
  modes: { value: Normalize; label: string }[];
  onCell: (actual: string, predicted: string) => void;
  selected?: { actual?: string; predicted?: string };
}) {
  const [normalize, setNormalize] = useState<Normalize>("none");
  const [showAll, setShowAll] = useState(false);
  const top = nClasses > 10 && !showAll ? 10 : undefined;
  const confusion = useQuery(
    (s) => api.confusion(evalId, { ...sliders, normalize: normalize === "none" ? undefined : normalize, top }, s),
    [evalId, JSON.stringify(sliders), normalize, top],
  );
  return (
    <Panel
      busy={confusion.loading && !!confusion.data}
      title="Confusion matrix"
      testid="confusion"
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
        <ErrorState error={confusion.error} onRetry={confusion.reload} />
      ) : !confusion.data ? (
        <Spinner />
      ) : (
        <>
          {top && <p className="muted small">The {top} classes involved in the most confusion, of {nClasses}.</p>}
          <ConfusionMatrix data={confusion.data} onCell={onCell} selected={selected} />
        </>
      )}
    </Panel>
  );
}
