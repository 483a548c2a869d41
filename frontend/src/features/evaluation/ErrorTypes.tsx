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

function Bars({ data, label, onOpen }: { data: ErrorTypes; label: string | undefined; onOpen: (f: Partial<FeedFilter>) => void }) {
  const one = label ? data.classes?.[0] : undefined;
  const rows = data.types.map((t) => ({ ...t, count: one ? one.counts[t.type] : t.count, dap: one ? one.dap[t.type] : t.dap }));
  const special = data.special.map((s) => ({ ...s, dap: one ? one.special[s.type] : s.dap }));
  const top = Math.max(1e-9, ...rows.map((r) => r.dap ?? 0), ...special.map((s) => s.dap ?? 0));
  const grid = { display: "grid", gridTemplateColumns: "190px 70px minmax(120px, 1fr) 70px", gap: "4px 10px", alignItems: "center", maxWidth: 760 } as const;
  return (
    <div data-testid="error-type-bars">
      <div style={grid} className="small muted">
        <span>Type</span>
        <span className="num">Count</span>
        <span>dAP (AP .50 gained by fixing it)</span>
        <span className="num">dAP</span>
      </div>
      {rows.map((r) => (
        <button
          key={r.type}
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
      ))}
      {special.map((s) => (
        <div key={s.type} style={{ ...grid, padding: "3px 0" }} title={`${s.name}: ${s.description}`} data-testid="error-special" data-type={s.type} data-dap={s.dap ?? ""}>
          <span className="muted">{s.name} (oracle)</span>
          <span className="num muted">—</span>
          <Bar value={s.dap} top={top} tone="#98a2b3" />
          <span className="num muted">{fmt(s.dap)}</span>
        </div>
      ))}
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

/** The error-types section of the detection page. ``onOpen``: show the feed with a filter (at IoU 0.5, confidence 0). */
export function ErrorTypesPanel({ evalId, classes, onOpen }: { evalId: number; classes: string[]; onOpen: (f: Partial<FeedFilter>) => void }) {
  const [label, setLabel] = useState<string | undefined>(undefined);
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
          <Bars data={data} label={label} onOpen={onOpen} />
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
