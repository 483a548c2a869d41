// The sample feed: a virtualized grid of thumbnails (images) or list of rows (text), loaded page
// by page from /samples as the user scrolls, filtered by a confusion cell or a TP/FP/FN count.
import { useCallback, useEffect, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { api, type SampleQuery, type SliderParams, type SortKey } from "../api/client";
import type { Sample } from "../api/types";
import { useElementWidth } from "../hooks";
import { labelText, pct } from "../format";
import { ErrorState, Panel, Spinner } from "./common";

export interface FeedFilter {
  actual?: string;
  predicted?: string;
  outcome?: "tp" | "fp" | "fn";
  label?: string;
  errors_only?: boolean;
  sort: SortKey;
  descending: boolean;
}

export const DEFAULT_FILTER: FeedFilter = { sort: "confidence", descending: true };
export const DEFAULT_DET_FILTER: FeedFilter = { sort: "errors", descending: true };

const PAGE = 60;

function usePagedSamples(evalId: number, query: SampleQuery) {
  const key = JSON.stringify(query);
  const [items, setItems] = useState<Sample[]>([]);
  const [itemsKey, setItemsKey] = useState<string | null>(null);
  const [total, setTotal] = useState<number | null>(null);
  const [error, setError] = useState<Error | null>(null);
  const [loading, setLoading] = useState(false);
  const ctrl = useRef<AbortController | null>(null);
  const state = useRef({ key, loaded: 0, total: null as number | null, busy: false });

  const load = useCallback(
    (reset: boolean) => {
      const st = state.current;
      if (!reset && (st.busy || (st.total !== null && st.loaded >= st.total))) return;
      ctrl.current?.abort();
      const c = new AbortController();
      ctrl.current = c;
      st.busy = true;
      setLoading(true);
      const offset = reset ? 0 : st.loaded;
      api
        .samples(evalId, { ...(JSON.parse(key) as SampleQuery), offset, limit: PAGE }, c.signal)
        .then((r) => {
          if (c.signal.aborted) return;
          st.busy = false;
          st.total = r.total;
          st.loaded = offset + r.items.length;
          setTotal(r.total);
          setItems((prev) => (reset ? r.items : [...prev, ...r.items]));
          setItemsKey(key);
          setError(null);
          setLoading(false);
        })
        .catch((e: unknown) => {
          if (c.signal.aborted) return;
          st.busy = false;
          setError(e instanceof Error ? e : new Error(String(e)));
          setLoading(false);
        });
    },
    [evalId, key],
  );

  useEffect(() => {
    state.current = { key, loaded: 0, total: null, busy: false };
    load(true);
    return () => ctrl.current?.abort();
  }, [key, load]);

  return { items, total, error, loading, stale: loading && itemsKey !== key, more: () => load(false), retry: () => load(true) };
}

function outcomeClass(s: Sample) {
  if (s.tp !== undefined) return "";
  if (s.outcome === "tp" || (s.predicted !== null && s.predicted !== undefined && labelText(s.predicted) === labelText(s.actual))) return "ok";
  return "bad";
}

function SampleCard({ s, media, onOpen }: { s: Sample; media: string | null; onOpen: (s: Sample) => void }) {
  const isDet = s.tp !== undefined;
  const oc = outcomeClass(s);
  return (
    <button className={`sample-card ${oc}`} onClick={() => onOpen(s)} data-testid="feed-item" data-index={s.index}>
      <div className="thumb">
        {media === "image" || isDet ? (
          <img src={s.thumbnail_url ?? s.media_url ?? ""} alt={String(s.id)} loading="lazy" />
        ) : (
          <span className="muted">#{s.index}</span>
        )}
      </div>
      {isDet ? (
        <div className="sample-meta">
          <span className="truncate small" title={s.file_name}>{s.file_name ?? s.id}</span>
          <span className="chips">
            <span className="chip chip-tp" title="True positives">{s.tp}</span>
            <span className="chip chip-fp" title="False positives">{s.fp}</span>
            <span className="chip chip-fn" title="Missed (false negatives)">{s.fn}</span>
          </span>
        </div>
      ) : (
        <div className="sample-meta">
          <span className="truncate small" title={`Actual: ${labelText(s.actual)}`}>
            <span className="muted">actual</span> {labelText(s.actual)}
          </span>
          <span className={`truncate small pred-${oc}`} title={`Predicted: ${labelText(s.predicted)}`}>
            <span className="muted">pred</span> {labelText(s.predicted)} <span className="muted">{pct(s.confidence ?? null, 0)}</span>
          </span>
        </div>
      )}
    </button>
  );
}

function TextRow({ s, onOpen }: { s: Sample; onOpen: (s: Sample) => void }) {
  const oc = outcomeClass(s);
  return (
    <button className={`text-row ${oc}`} onClick={() => onOpen(s)} data-testid="feed-item" data-index={s.index}>
      <span className={`dot dot-${oc}`} aria-hidden />
      <span className="text-row-text">{s.text ?? `Sample ${s.id}`}</span>
      <span className="text-row-labels">
        <span className="label-pill">{labelText(s.actual)}</span>
        <span className="arrow">→</span>
        <span className={`label-pill pill-${oc}`}>{labelText(s.predicted)}</span>
        <span className="muted small conf">{pct(s.confidence ?? null, 0)}</span>
      </span>
    </button>
  );
}

export function SampleFeed({
  evalId,
  media,
  classes,
  sliders,
  filter,
  setFilter,
  onOpen,
  detection = false,
  extraColumns = [],
  extraRows = [],
}: {
  evalId: number;
  media: string | null;
  classes: string[];
  sliders: SliderParams;
  filter: FeedFilter;
  setFilter: (f: FeedFilter) => void;
  onOpen: (s: Sample) => void;
  detection?: boolean;
  extraColumns?: string[];
  extraRows?: string[];
}) {
  const query: SampleQuery = { ...sliders, ...filter, errors_only: filter.errors_only || undefined };
  const { items, total, error, loading, stale, more, retry } = usePagedSamples(evalId, query);
  const [wrapRef, width] = useElementWidth<HTMLDivElement>();
  const scroller = useRef<HTMLDivElement>(null);
  const isText = media === "text" && !detection;
  const cardW = 168;
  const cols = isText ? 1 : Math.max(1, Math.floor((width - 8) / cardW));
  const rowH = isText ? 52 : 196;
  const nRows = Math.ceil(items.length / cols);
  const virt = useVirtualizer({ count: nRows, getScrollElement: () => scroller.current, estimateSize: () => rowH, overscan: 4 });
  const vItems = virt.getVirtualItems();
  useEffect(() => {
    const last = vItems[vItems.length - 1];
    if (last && last.index >= nRows - 3 && total !== null && items.length < total) more();
  }, [vItems, nRows, items.length, total, more]);
  useEffect(() => {
    scroller.current?.scrollTo({ top: 0 });
  }, [JSON.stringify(query)]); // eslint-disable-line react-hooks/exhaustive-deps

  const set = (patch: Partial<FeedFilter>) => setFilter({ ...filter, ...patch });
  const hasFilter = !!(filter.actual || filter.predicted || filter.outcome || filter.errors_only);
  const actualOpts = [...classes, ...extraRows];
  const predOpts = [...classes, ...extraColumns];
  const sortValue = `${filter.sort}:${filter.descending ? "desc" : "asc"}`;

  return (
    <Panel
      busy={stale}
      title={detection ? "Images" : "Samples"}
      testid="sample-feed"
      actions={
        <span className="feed-count" data-testid="feed-count" data-total={total ?? ""}>
          {total === null ? "…" : `${total.toLocaleString()} ${detection ? "images" : "samples"}`}
        </span>
      }
    >
      <div className="feed-filters">
        <label>
          <span>Actual</span>
          <select className="select" value={filter.actual ?? ""} onChange={(e) => set({ actual: e.target.value || undefined })} data-testid="feed-actual">
            <option value="">Any</option>
            {actualOpts.map((c) => (
              <option key={c} value={c}>{c}</option>
            ))}
          </select>
        </label>
        <label>
          <span>Predicted</span>
          <select className="select" value={filter.predicted ?? ""} onChange={(e) => set({ predicted: e.target.value || undefined })} data-testid="feed-predicted">
            <option value="">Any</option>
            {predOpts.map((c) => (
              <option key={c} value={c}>{c}</option>
            ))}
          </select>
        </label>
        {!detection && (
        <label>
          <span>Outcome</span>
          <select className="select" value={filter.outcome ?? ""} onChange={(e) => set({ outcome: (e.target.value || undefined) as FeedFilter["outcome"] })} data-testid="feed-outcome">
            <option value="">Any</option>
            <option value="tp">True positive</option>
            <option value="fp">False positive</option>
            <option value="fn">False negative</option>
          </select>
        </label>
        )}
        <label className="check">
          <input type="checkbox" checked={!!filter.errors_only} onChange={(e) => set({ errors_only: e.target.checked || undefined })} data-testid="feed-errors-only" />
          <span>Only errors</span>
        </label>
        <label>
          <span>Sort</span>
          <select
            className="select"
            value={sortValue}
            onChange={(e) => {
              const [sort, dir] = e.target.value.split(":");
              set({ sort: sort as SortKey, descending: dir === "desc" });
            }}
            data-testid="feed-sort"
          >
            {detection ? (
              <>
                <option value="errors:desc">Most errors first</option>
                <option value="fp:desc">Most false positives</option>
                <option value="fn:desc">Most missed objects</option>
                <option value="tp:desc">Most true positives</option>
                <option value="index:asc">Dataset order</option>
              </>
            ) : (
              <>
                <option value="confidence:desc">Most confident first</option>
                <option value="confidence:asc">Least confident first</option>
                <option value="confusion:desc">Most confused first</option>
                <option value="index:asc">Dataset order</option>
              </>
            )}
          </select>
        </label>
        {hasFilter && (
          <button className="btn btn-ghost btn-sm" onClick={() => setFilter({ sort: filter.sort, descending: filter.descending })} data-testid="feed-clear">
            Clear filters
          </button>
        )}
      </div>
      {hasFilter && (
        <div className="filter-summary" data-testid="feed-filter-summary">
          {filter.actual && <span className="chip-filter">actual: {filter.actual}</span>}
          {filter.predicted && <span className="chip-filter">predicted: {filter.predicted}</span>}
          {filter.outcome && <span className="chip-filter">outcome: {filter.outcome.toUpperCase()}{filter.label ? ` of ${filter.label}` : ""}</span>}
          {filter.errors_only && <span className="chip-filter">only errors</span>}
        </div>
      )}
      <div ref={wrapRef} className="feed-wrap">
        {error && items.length === 0 ? (
          <ErrorState error={error} onRetry={retry} />
        ) : total === 0 ? (
          <div className="state state-empty" data-testid="feed-empty">
            <div className="state-title">No {detection ? "image" : "sample"} matches these filters</div>
          </div>
        ) : total === null ? (
          <Spinner label="Loading samples…" />
        ) : (
          <div className="feed-scroll" ref={scroller} data-testid="feed-scroll">
            <div style={{ height: virt.getTotalSize(), position: "relative" }}>
              {vItems.map((vr) => (
                <div
                  key={vr.key}
                  className={isText ? "feed-row-text" : "feed-row"}
                  style={{ position: "absolute", top: 0, left: 0, right: 0, transform: `translateY(${vr.start}px)`, height: rowH, gridTemplateColumns: isText ? undefined : `repeat(${cols}, minmax(0, 1fr))` }}
                >
                  {items.slice(vr.index * cols, vr.index * cols + cols).map((s) =>
                    isText ? <TextRow key={s.index} s={s} onOpen={onOpen} /> : <SampleCard key={s.index} s={s} media={media} onOpen={onOpen} />,
                  )}
                </div>
              ))}
            </div>
            {loading && <div className="feed-loading"><span className="spinner spinner-sm" /> Loading…</div>}
          </div>
        )}
      </div>
    </Panel>
  );
}
