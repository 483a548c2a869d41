// The task-specific parts of the compare page: per-class rows, the confusion difference and
// the feed of what changed (samples for classification, images for detection). A row of the
// feed opens both models' view of that sample; the A / B links open each evaluation's page.
import { useMemo } from "react";
import type { ColumnDef } from "@tanstack/react-table";
import type { ClassificationCompare, CompareImage, CompareSample, DetectionCompare } from "../../api/client";
import { DataTable } from "../../components/DataTable";
import { fmt, labelText, truncateLabel } from "../../format";
import { evaluationHref } from "../../routes";

export function better(delta: number | null | undefined, higherIsBetter: boolean): string {
  if (delta === null || delta === undefined || delta === 0) return "";
  return delta > 0 === higherIsBetter ? "good-text" : "bad-text";
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

function ConfusionDifference({ c }: { c: ClassificationCompare["confusion"] }) {
  return (
    <section className="card">
      <h2>Confusion difference (B − A)</h2>
      <p className="muted small">Rows actual, columns predicted; green: B has more there on the diagonal or fewer off it. Hover a cell for both counts.</p>
      <div className="diff-wrap">
        <table className="diff-matrix" data-testid="confusion-difference">
          <thead>
            <tr>
              <th />
              {c.columns.map((col) => (
                <th key={col} title={col}>
                  {truncateLabel(col, 14)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {c.difference.map((row, i) => (
              <tr key={i}>
                <th title={c.rows[i]}>{truncateLabel(c.rows[i], 18)}</th>
                {row.map((v, j) => {
                  const good = i === j ? v > 0 : v < 0;
                  return (
                    <td key={j} className={v === 0 ? "zero" : good ? "good" : "bad"} title={`A ${c.a[i][j]} → B ${c.b[i][j]}`}>
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
  );
}

function Segmented<K extends string>({ value, options, onChange }: { value: K; options: readonly (readonly [K, string])[]; onChange: (k: K) => void }) {
  return (
    <div className="segmented" role="tablist">
      {options.map(([key, label]) => (
        <button key={key} className={value === key ? "seg active" : "seg"} onClick={() => onChange(key)} data-testid={`feed-${key}`}>
          {label}
        </button>
      ))}
    </div>
  );
}

type ClassRow = ClassificationCompare["per_class"][number];
type DetectionClassRow = DetectionCompare["per_class"][number];
type IouRow = DetectionCompare["per_iou"][number];

/** A column of numbers, sorted with the missing ones last. */
function numeric<T>(id: string, header: string, value: (r: T) => number | null | undefined, cell: (r: T) => React.ReactNode, help?: string): ColumnDef<T, unknown> {
  return { id, header, accessorFn: (r) => value(r) ?? undefined, cell: (c) => cell(c.row.original), meta: { num: true, help }, sortUndefined: "last" };
}

/** The class column: the name cut in the middle, whole in its title. */
function classColumn<T extends { label: string }>(): ColumnDef<T, unknown> {
  return {
    id: "label",
    header: "Class",
    accessorFn: (r) => r.label,
    cell: (c) => (
      <span className="nowrap" title={c.row.original.label} data-testid="compare-class-label">
        {truncateLabel(c.row.original.label, 22)}
      </span>
    ),
  };
}

function classificationColumns(pending: boolean): ColumnDef<ClassRow, unknown>[] {
  return [
    classColumn<ClassRow>(),
    numeric<ClassRow>("n", "n", (r) => r.n, (r) => r.n),
    numeric<ClassRow>("a", "A", (r) => r.recall_a, (r) => `${pct(r.recall_a)}%`),
    numeric<ClassRow>("b", "B", (r) => r.recall_b, (r) => `${pct(r.recall_b)}%`),
    numeric<ClassRow>("delta", "B − A", (r) => r.recall_delta, (r) => <span className={r.significant ? better(r.recall_delta, true) : ""}>{pct(r.recall_delta, true)}</span>),
    {
      id: "ci",
      header: "CI",
      enableSorting: false,
      meta: { num: true },
      cell: (c) => {
        const r = c.row.original;
        return <span className="nowrap">{r.low === null || r.high === null ? (pending ? "…" : "—") : `[${pct(r.low, true)}, ${pct(r.high, true)}]`}</span>;
      },
    },
    numeric<ClassRow>("p_holm", "p (Holm)", (r) => r.p_holm, (r) => pText(r.p_holm), "Holm-adjusted across the classes"),
  ];
}

const ciText = (lo: number | null, hi: number | null, pending: boolean) => (lo === null || hi === null ? (pending ? "…" : "—") : `[${lo.toFixed(3)}, ${hi.toFixed(3)}]`);
const signed3 = (v: number | null) => (v === null ? "—" : `${v > 0 ? "+" : ""}${v.toFixed(3)}`);
const iouSignificant = (r: IouRow) => r.low !== null && r.high !== null && (r.low > 0 || r.high < 0);

function detectionColumns(pending: boolean): ColumnDef<DetectionClassRow, unknown>[] {
  return [
    classColumn<DetectionClassRow>(),
    numeric<DetectionClassRow>("n", "boxes", (r) => r.n, (r) => r.n),
    numeric<DetectionClassRow>("a", "A", (r) => r.ap_a, (r) => fmt(r.ap_a)),
    numeric<DetectionClassRow>("b", "B", (r) => r.ap_b, (r) => fmt(r.ap_b)),
    numeric<DetectionClassRow>("delta", "B − A", (r) => r.ap_delta, (r) => <span className={r.significant ? better(r.ap_delta, true) : ""}>{signed3(r.ap_delta)}</span>),
    { id: "ci", header: "CI", enableSorting: false, meta: { num: true }, cell: (c) => <span className="nowrap">{ciText(c.row.original.low, c.row.original.high, pending)}</span> },
    numeric<DetectionClassRow>("p_holm", "p (Holm)", (r) => r.p_holm, (r) => pText(r.p_holm), "Holm-adjusted across the classes"),
    numeric<DetectionClassRow>("ap50", "AP50 A → B", (r) => r.ap50_b, (r) => (
      <span className="nowrap">
        {fmt(r.ap50_a)} → {fmt(r.ap50_b)}
      </span>
    )),
  ];
}

function iouColumnsOf(pending: boolean): ColumnDef<IouRow, unknown>[] {
  return [
    numeric<IouRow>("iou", "IoU", (r) => r.iou, (r) => r.iou.toFixed(2)),
    numeric<IouRow>("a", "A", (r) => r.a, (r) => fmt(r.a)),
    numeric<IouRow>("b", "B", (r) => r.b, (r) => fmt(r.b)),
    numeric<IouRow>("delta", "B − A", (r) => r.delta, (r) => <span className={iouSignificant(r) ? better(r.delta, true) : ""}>{signed3(r.delta)}</span>),
    { id: "ci", header: "CI", enableSorting: false, meta: { num: true }, cell: (c) => <span className="nowrap">{ciText(c.row.original.low, c.row.original.high, pending)}</span> },
  ];
}

const CLASSIFICATION_FEEDS = ["fixed", "broken", "changes"] as const;
const DETECTION_FEEDS = ["worse", "better", "changed"] as const;

export function ClassificationSections({
  data,
  pending,
  feed: asked,
  setFeed,
  onOpen,
}: {
  data: ClassificationCompare;
  pending: boolean;
  feed?: string;
  setFeed: (feed: string) => void;
  onOpen: (s: CompareSample) => void;
}) {
  const d = data.disagreements;
  // the feed in the URL (feed=…), else "broken" when only that has samples, else "fixed"
  const feed = CLASSIFICATION_FEEDS.find((f) => f === asked) ?? (d.broken > 0 && d.fixed === 0 ? "broken" : "fixed");
  const classColumns = useMemo(() => classificationColumns(pending), [pending]);
  const samples = feed === "fixed" ? d.fixed_samples : feed === "broken" ? d.broken_samples : d.largest_confidence_changes;
  return (
    <>
      <div className="compare-grid">
        <section className="card">
          <h2>Per {data.task === "multilabel" ? "label" : "class"} · recall</h2>
          <p className="muted small">
            {data.task === "multilabel"
              ? "The share of each label's positives each model predicts; CI: Tango's score interval, p: McNemar's score test on those positives (they agree), Holm-adjusted across labels."
              : "The share of each class's samples each model gets right; CI: Tango's score interval, p: McNemar's score test within the class (they agree), Holm-adjusted across classes."}
          </p>
          <DataTable
            data={data.per_class}
            columns={classColumns}
            rowKey={(r) => r.label}
            testid="compare-classes"
            rowTestid="compare-class"
            rowClassName={(r) => (r.significant ? "significant" : undefined)}
            filterPlaceholder="Filter classes…"
          />
        </section>
        <ConfusionDifference c={data.confusion} />
      </div>
      <section className="card">
        <div className="feed-head">
          <h2>Samples that changed</h2>
          <Segmented
            value={feed}
            onChange={setFeed}
            options={[
              ["fixed", `Fixed (${d.fixed})`],
              ["broken", `Broken (${d.broken})`],
              ["changes", "Largest confidence changes"],
            ]}
          />
        </div>
        <p className="muted small">
          {d.fixed} fixed (A wrong → B right) · {d.broken} broken (A right → B wrong) · {d.prediction_changed} with another prediction · mean |confidence change|{" "}
          {d.mean_abs_confidence_change.toFixed(4)} · click a row to see both models on it
        </p>
        {samples.length === 0 ? (
          <p className="muted">None.</p>
        ) : (
          <table className="table table-click" data-testid="changed-samples">
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
                <tr key={s.index} data-testid="changed-sample" data-change={s.change} onClick={() => onOpen(s)}>
                  <td className="changed-sample-id">
                    <span className="strong">{s.id}</span>
                    {s.text && (
                      <div className="changed-sample-text small" title={s.text} data-testid="changed-sample-text">
                        {s.text}
                      </div>
                    )}
                  </td>
                  <td>{labelText(s.actual, "actual")}</td>
                  <td className={labelText(s.predicted_a) === labelText(s.actual, "actual") ? "good-text" : "bad-text"}>{labelText(s.predicted_a)}</td>
                  <td className={labelText(s.predicted_b) === labelText(s.actual, "actual") ? "good-text" : "bad-text"}>{labelText(s.predicted_b)}</td>
                  <td className="num">{fmt(s.confidence_a)}</td>
                  <td className="num">{fmt(s.confidence_b)}</td>
                  <td className="nowrap" onClick={(e) => e.stopPropagation()}>
                    <a href={evaluationHref(data.a.id, { sample: s.index })}>A</a> · <a href={evaluationHref(data.b.id, { sample: s.index_b })}>B</a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}

function counts(tp: number, fp: number, fn: number) {
  return (
    <span className="nowrap">
      <span className="good-text">{tp}</span> / <span className="bad-text">{fp}</span> / <span className="muted">{fn}</span>
    </span>
  );
}

export function DetectionSections({
  data,
  pending,
  feed: asked,
  setFeed,
  onOpen,
}: {
  data: DetectionCompare;
  pending: boolean;
  feed?: string;
  setFeed: (feed: string) => void;
  onOpen: (im: CompareImage) => void;
}) {
  const im = data.images;
  // the feed in the URL (feed=…), else the images with more errors under B when there are any
  const feed = DETECTION_FEEDS.find((f) => f === asked) ?? (im.worse > 0 ? "worse" : "better");
  const rows = feed === "worse" ? im.worse_images : feed === "better" ? im.better_images : im.changed;
  const classColumns = useMemo(() => detectionColumns(pending), [pending]);
  const iouColumns = useMemo(() => iouColumnsOf(pending), [pending]);
  return (
    <>
      <div className="compare-grid">
        <section className="card">
          <h2>Per class · AP (.50:.95)</h2>
          <p className="muted small">COCO AP of each class; p from the paired bootstrap over images, Holm-adjusted across the classes.</p>
          <DataTable
            data={data.per_class}
            columns={classColumns}
            rowKey={(r) => r.label}
            testid="compare-classes"
            rowTestid="compare-class"
            rowClassName={(r) => (r.significant ? "significant" : undefined)}
            filterPlaceholder="Filter classes…"
          />
        </section>
        <section className="card">
          <h2>mAP per IoU threshold</h2>
          <p className="muted small">Where the two models part: a difference only at high IoU is about box tightness, at every IoU about finding objects.</p>
          <DataTable
            data={data.per_iou}
            columns={iouColumns}
            rowKey={(r) => r.iou.toFixed(2)}
            testid="compare-iou"
            rowTestid="compare-iou-row"
            rowClassName={(r) => (iouSignificant(r) ? "significant" : undefined)}
            filterable={false}
            height={400}
          />
        </section>
      </div>
      <ConfusionDifference c={data.confusion} />
      <section className="card">
        <div className="feed-head">
          <h2>Images that changed</h2>
          <Segmented
            value={feed}
            onChange={setFeed}
            options={[
              ["worse", `More errors under B (${im.worse})`],
              ["better", `Fewer errors (${im.better})`],
              ["changed", "Largest changes"],
            ]}
          />
        </div>
        <p className="muted small">
          Errors are FP + FN at each model's point · {im.same} images unchanged · click a row to see both models' boxes
        </p>
        {rows.length === 0 ? (
          <p className="muted">None.</p>
        ) : (
          <table className="table table-click" data-testid="changed-images">
            <thead>
              <tr>
                <th>Image</th>
                <th>A: TP / FP / FN</th>
                <th>B: TP / FP / FN</th>
                <th className="num">errors B − A</th>
                <th>Open in</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.index} data-testid="changed-image" onClick={() => onOpen(r)}>
                  <td className="strong" title={r.file_name}>
                    {r.file_name || r.id}
                  </td>
                  <td>{counts(r.tp_a, r.fp_a, r.fn_a)}</td>
                  <td>{counts(r.tp_b, r.fp_b, r.fn_b)}</td>
                  <td className={`num ${r.errors_delta > 0 ? "bad-text" : r.errors_delta < 0 ? "good-text" : ""}`}>{r.errors_delta > 0 ? `+${r.errors_delta}` : r.errors_delta}</td>
                  <td className="nowrap" onClick={(e) => e.stopPropagation()}>
                    <a href={evaluationHref(data.a.id, { sample: r.index })}>A</a> · <a href={evaluationHref(data.b.id, { sample: r.index })}>B</a>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
