// The per-class precision / recall chart (Encord's): two bars per class at the current point,
// sortable, each class opening its label page. Used on the evaluation pages and the label page.
import { useState } from "react";
import { Segmented } from "../../components/common";
import { fmt, truncateLabel } from "../../format";
import { labelHref, type ViewState } from "../../routes";
import { barWidth, CLASS_SORTS, sortClasses, type ClassRow, type ClassSort } from "./perClass";
import "./labels.css";

export function PerClassChart({
  evalId,
  rows,
  point,
  current,
  height = 420,
}: {
  evalId: number;
  rows: ClassRow[];
  /** the point the label pages open at (the evaluation page's slider) */
  point: ViewState;
  /** the label whose page this is (highlighted) */
  current?: string;
  height?: number;
}) {
  const [by, setBy] = useState<ClassSort>("f1");
  const sorted = sortClasses(rows, by);
  return (
    <div className="per-class-chart" data-testid="per-class-chart" data-sort={by}>
      <div className="per-class-chart-head">
        <span className="legend">
          <span className="swatch swatch-precision" /> precision <span className="swatch swatch-recall" /> recall
        </span>
        <span className="muted small">Sort by</span>
        <Segmented value={by} options={CLASS_SORTS} onChange={setBy} testid="per-class-sort" />
      </div>
      <div className="per-class-row is-head" aria-hidden>
        <span>Class</span>
        <span>Precision / recall at this point</span>
        <span className="per-class-values">P / R</span>
        <span className="per-class-n">Labeled</span>
      </div>
      <div className="per-class-rows" style={{ maxHeight: height }}>
        {sorted.map((r) => (
          <a
            key={r.label}
            className={`per-class-row ${r.label === current ? "is-current" : ""}`}
            href={labelHref(evalId, r.label, point)}
            data-testid="per-class-chart-row"
            data-label={r.label}
            title={`${r.label}: precision ${fmt(r.precision)}, recall ${fmt(r.recall)}, F1 ${fmt(r.f1)} · ${r.tp} TP, ${r.fn} FN, ${r.fp} FP. Open its page`}
          >
            <span className="per-class-name truncate">{truncateLabel(r.label, 28)}</span>
            <span className="per-class-bars">
              <span className="per-class-track">
                <span className="per-class-bar bar-precision" style={{ width: `${barWidth(r.precision)}%` }} />
              </span>
              <span className="per-class-track">
                <span className="per-class-bar bar-recall" style={{ width: `${barWidth(r.recall)}%` }} />
              </span>
            </span>
            <span className="per-class-values small">
              <span>{fmt(r.precision)}</span>
              <span>{fmt(r.recall)}</span>
            </span>
            <span className="per-class-n muted small">{r.total_labeled.toLocaleString()}</span>
          </a>
        ))}
      </div>
    </div>
  );
}
