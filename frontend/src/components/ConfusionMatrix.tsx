// The confusion matrix as a clickable heatmap: rows = actual, columns = predicted.
import type { ConfusionAnswer } from "../api/types";
import { Empty } from "./common";

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
