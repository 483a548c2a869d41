// TIDE's detection error types (Bolya et al., ECCV 2020) on the detection page: per type a bar of
// the AP it would give back (dAP) with its count, overall or for one class, and a per-class table
// on demand. A bar opens the feed's nearest filter (missed → undetected boxes, background → boxes
// that are not an object, …) at IoU 0.5 and confidence 0, where TIDE looks.
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { client, unwrap, type Num } from "../../api/client";
import type { components } from "../../api/schema";
import { fmt, truncateLabel } from "../../format";
import { NOT_AN_OBJECT, NOT_DETECTED } from "../../lib/vocabulary";
import { ErrorState, Panel, Spinner } from "../../components/common";
import type { FeedFilter } from "./SampleFeed";

type ErrorTypes = components["schemas"]["ErrorTypesPublic"];
type ErrorType = components["schemas"]["ErrorTypeRow"]["type"];

export const ERROR_TYPES_HELP =
  "The numbers follow TIDE's definitions (Bolya et al., ECCV 2020): detections are matched per class at IoU 0.5, most confident first, over every detection (up to 100 per image) whatever the sliders say; each unmatched detection gets one type and an unmatched box that nothing points at is missed. dAP is the AP .50 gained by fixing every error of the type (TIDE's oracle; TIDE prints it ×100).";

function useErrorTypes(evalId: number, label: string | undefined, perClass: boolean, enabled = true) {
  return useQuery({
    queryKey: ["evaluation", evalId, "error-types", label ?? null, perClass] as const,
    queryFn: ({ signal }) =>
      unwrap(
        client.GET("/api/evaluations/{evaluation_id}/error-types", {
          params: { path: { evaluation_id: evalId }, query: { label, per_class: perClass || undefined } },
          signal,
        }),
      ),
    staleTime: Infinity, // a stored evaluation's breakdown never changes
    enabled,
  });
}

/** The feed's nearest filter to the examples of a type: the feed matches class-agnostically at the page's point. */
function feedOf(type: ErrorType, label: string | undefined): Partial<FeedFilter> {
  if (type === "miss") return { actual: label, predicted: NOT_DETECTED };
  if (type === "cls") return label ? { label, outcome: "fn" } : { errors: true };
  return { actual: NOT_AN_OBJECT, predicted: label };
}

const FEED_WORDS: Record<ErrorType, string> = {
  cls: "the images with a box of this class not found as this class (all errors without a class)",
  loc: "the images with a detection that is not an object at IoU 0.5",
  both: "the images with a detection that is not an object at IoU 0.5",
  dupe: "the images with a detection that is not an object at IoU 0.5",
  bkg: "the images with a detection that is not an object at IoU 0.5",
  miss: "the images with a box that was not detected",
};

function Bar({ value, top, tone }: { value: Num; top: number; tone: string }) {
  const w = top > 0 && value ? Math.max(0, Math.min(1, value / top)) * 100 : 0;
  return (
    <span style={{ display: "inline-block", width: "100%", height: 14, background: "#f2f4f7", borderRadius: 3, overflow: "hidden", verticalAlign: "middle" }}>
      <span style={{ display: "block", width: `${w}%`, height: "100%", background: tone, opacity: 0.8 }} />
    </span>
  );
}

function Bars({
  data,
  label,
  onOpen,
  examples,
  setExamples,
}: {
  data: ErrorTypes;
  label: string | undefined;
  onOpen: (f: Partial<FeedFilter>) => void;
  examples: ErrorType | undefined;
  setExamples: (t: ErrorType | undefined) => void;
}) {
  const one = label ? data.classes?.[0] : undefined;
  const rows = data.types.map((t) => ({ ...t, count: one ? one.counts[t.type] : t.count, dap: one ? one.dap[t.type] : t.dap }));
  const special = data.special.map((s) => ({ ...s, dap: one ? one.special[s.type] : s.dap }));
  const top = Math.max(1e-9, ...rows.map((r) => r.dap ?? 0), ...special.map((s) => s.dap ?? 0));
  const grid = { display: "grid", gridTemplateColumns: "190px 70px minmax(120px, 1fr) 70px", gap: "4px 10px", alignItems: "center" } as const;
  const outer = { display: "grid", gridTemplateColumns: "minmax(0, 760px) 110px", gap: "0 10px", alignItems: "center" } as const;
  return (
    <div data-testid="error-type-bars">
      <div style={outer} className="small muted">
        <div style={grid}>
          <span>Type</span>
          <span className="num">Count</span>
          <span>dAP (AP .50 gained by fixing it)</span>
          <span className="num">dAP</span>
        </div>
        <span>Examples</span>
      </div>
      {rows.map((r) => (
        <div key={r.type} style={outer}>
          <button
            className="error-type-row"
            style={{ ...grid, width: "100%", background: "none", border: "1px solid transparent", borderRadius: 6, padding: "3px 0", font: "inherit", color: "inherit", cursor: "pointer", textAlign: "left" }}
            title={`${r.name}: ${r.description} Click: show ${FEED_WORDS[r.type]}, at IoU 0.5 and confidence 0.`}
            onClick={() => onOpen(feedOf(r.type, label))}
            data-testid="error-type"
            data-type={r.type}
            data-count={r.count}
            data-dap={r.dap ?? ""}
          >
            <span className="strong">{r.name}</span>
            <span className="num">{r.count}</span>
            <Bar value={r.dap} top={top} tone="var(--primary)" />
            <span className="num">{fmt(r.dap)}</span>
          </button>
          <button
            className={`btn btn-sm ${examples === r.type ? "btn-primary" : ""}`}
            disabled={r.count === 0}
            aria-pressed={examples === r.type}
            onClick={() => setExamples(examples === r.type ? undefined : r.type)}
            title={`The images with the most ${r.name.toLowerCase()} errors${label ? ` of ${label}` : ""}`}
            data-testid="error-type-examples"
            data-type={r.type}
          >
            {examples === r.type ? "Hide" : "Images"}
          </button>
        </div>
      ))}
      {special.map((s) => (
        <div key={s.type} style={outer}>
          <div style={{ ...grid, padding: "3px 0" }} title={`${s.name}: ${s.description}`} data-testid="error-special" data-type={s.type} data-dap={s.dap ?? ""}>
            <span className="muted">{s.name} (oracle)</span>
            <span className="num muted">—</span>
            <Bar value={s.dap} top={top} tone="#98a2b3" />
            <span className="num muted">{fmt(s.dap)}</span>
          </div>
        </div>
      ))}
    </div>
  );
}

const EXAMPLES = 24; // images listed per type

/** The images with the most errors of one type (of one class); a name opens the image. */
function Examples({ evalId, type, label, name, onSample }: { evalId: number; type: ErrorType; label: string | undefined; name: string; onSample: (index: number) => void }) {
  const q = useQuery({
    queryKey: ["evaluation", evalId, "error-images", type, label ?? null] as const,
    queryFn: ({ signal }) =>
      unwrap(
        client.GET("/api/evaluations/{evaluation_id}/error-types/{error_type}/images", {
          params: { path: { evaluation_id: evalId, error_type: type }, query: { label, limit: EXAMPLES } },
          signal,
        }),
      ),
    staleTime: Infinity,
  });
  if (q.error) return <ErrorState error={q.error} onRetry={() => void q.refetch()} />;
  if (!q.data) return <Spinner />;
  const d = q.data;
  return (
    <div data-testid="error-examples" data-type={type} data-total={d.total} style={{ margin: "8px 0" }}>
      <p className="small muted">
        {d.total} {d.total === 1 ? "image holds" : "images hold"} {name.toLowerCase()} errors{label ? ` of ${label}` : ""}
        {d.total > d.items.length ? `; the ${d.items.length} with the most` : ""} (× the errors in each). An image opens at IoU 0.5 and confidence 0.
      </p>
      <div style={{ display: "flex", flexWrap: "wrap", gap: 6 }}>
        {d.items.map((it) => (
          <button key={it.index} className="btn btn-sm" onClick={() => onSample(it.index)} title={it.file_name} data-testid="error-example" data-index={it.index}>
            {truncateLabel(it.file_name.split("/").pop() ?? it.file_name, 28)} ×{it.count}
          </button>
        ))}
      </div>
    </div>
  );
}

function PerClassTable({ data, pick }: { data: ErrorTypes; pick: (label: string) => void }) {
  const classes = data.classes ?? [];
  return (
    <div className="scroll" style={{ maxHeight: 360, overflow: "auto" }}>
      <table className="table table-dense" data-testid="error-types-per-class">
        <thead>
          <tr>
            <th>Class</th>
            <th className="num">AP .50</th>
            {data.types.map((t) => (
              <th key={t.type} className="num" title={t.description}>{t.name}</th>
            ))}
          </tr>
        </thead>
        <tbody>
          {classes.map((c) => (
            <tr key={c.label} data-testid="error-class-row">
              <td>
                <button className="count-link" onClick={() => pick(c.label)} title={`Show ${c.label}'s bars`}>
                  {truncateLabel(c.label, 32)}
                </button>
              </td>
              <td className="num">{fmt(c.ap)}</td>
              {data.types.map((t) => (
                <td key={t.type} className="num" title={`${c.counts[t.type]} ${t.name.toLowerCase()} errors; fixing them gives ${c.label} +${fmt(c.dap[t.type])} AP .50`}>
                  {c.counts[t.type]} <span className="muted small">+{fmt(c.dap[t.type])}</span>
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The error-types section of the detection page. ``onOpen``: show the feed with a filter; ``onSample``: open one image (both at IoU 0.5, confidence 0). */
export function ErrorTypesPanel({
  evalId,
  classes,
  onOpen,
  onSample,
}: {
  evalId: number;
  classes: string[];
  onOpen: (f: Partial<FeedFilter>) => void;
  onSample: (index: number) => void;
}) {
  const [label, setLabel] = useState<string | undefined>(undefined);
  const [examples, setExamples] = useState<ErrorType | undefined>(undefined);
  const [table, setTable] = useState(false);
  const shown = useErrorTypes(evalId, label, false);
  const perClass = useErrorTypes(evalId, undefined, true, table);
  const data = shown.data;
  return (
    <Panel
      title="Error types (TIDE)"
      testid="error-types"
      busy={shown.isFetching}
      actions={
        <>
          <select className="select" value={label ?? ""} onChange={(e) => setLabel(e.target.value || undefined)} aria-label="Class of the error types" data-testid="error-types-class">
            <option value="">All classes</option>
            {classes.map((c) => (
              <option key={c} value={c}>{truncateLabel(c, 40)}</option>
            ))}
          </select>
          <button className="btn" onClick={() => setTable((v) => !v)} aria-pressed={table} data-testid="error-types-table-toggle">
            {table ? "Hide per class" : "Per class"}
          </button>
        </>
      }
    >
      {shown.error && !data ? (
        <ErrorState error={shown.error} onRetry={() => void shown.refetch()} />
      ) : !data ? (
        <Spinner />
      ) : (
        <>
          <p className="muted small" data-testid="error-types-note">
            {label ? `${label}: AP .50 = ${fmt(data.classes?.[0]?.ap ?? null)}, and each dAP is this class's own AP .50 gained.` : `AP .50 = ${fmt(data.ap)} over all classes.`}{" "}
            {ERROR_TYPES_HELP}
          </p>
          <Bars data={data} label={label} onOpen={onOpen} examples={examples} setExamples={setExamples} />
          {examples && <Examples evalId={evalId} type={examples} label={label} name={data.types.find((t) => t.type === examples)?.name ?? examples} onSample={onSample} />}
          <details className="small muted" style={{ marginTop: 6 }}>
            <summary>What each type means</summary>
            <ul>
              {data.types.map((t) => (
                <li key={t.type}><strong>{t.name}</strong>: {t.description}</li>
              ))}
              {data.special.map((s) => (
                <li key={s.type}><strong>{s.name} (oracle)</strong>: {s.description}</li>
              ))}
            </ul>
          </details>
        </>
      )}
      {table &&
        (perClass.error ? (
          <ErrorState error={perClass.error} onRetry={() => void perClass.refetch()} />
        ) : perClass.data ? (
          <PerClassTable data={perClass.data} pick={setLabel} />
        ) : (
          <Spinner />
        ))}
    </Panel>
  );
}
