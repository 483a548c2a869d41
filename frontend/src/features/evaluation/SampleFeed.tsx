// The sample feed: a virtualized grid of thumbnails (images) or list of rows (text, plain score
// tables), loaded page by page from /samples as the user scrolls, filtered by a confusion cell or
// a TP / FP / FN count. The filters live in the URL (see routes.ts).
import { useEffect, useMemo, useRef } from "react";
import { useQualityReadyInCache } from "../quality/hooks";
import { useVirtualizer } from "@tanstack/react-virtual";
import { isDetectionItem, type ClassificationItem, type DetectionItem, type SampleItem, type SampleQuery, type SliderParams } from "../../api/client";
import { useSamples } from "./hooks";
import { useElementWidth } from "../../lib/hooks";
import { feedCountText, labelText, metadataLine, pctBeside, truncateLabel } from "../../format";
import { CLASSIFICATION_SORTS, DETECTION_SORTS, OUTCOME_SHORT, OUTCOMES, type Outcome, type SortKey } from "../../lib/vocabulary";
import { BoxOverlay } from "../../components/Boxes";
import { Media } from "../../components/Media";
import { ErrorState, Panel, Spinner } from "../../components/common";

export interface FeedFilter {
  actual?: string;
  predicted?: string;
  outcome?: Outcome;
  label?: string;
  errors?: boolean;
  sort: SortKey;
  desc: boolean;
}

/** A label (or, multi-label, the list of labels: left whole, the pill cuts it) in little room. */
const shortText = (v: string | string[] | null | undefined, max: number, kind: "actual" | "predicted" = "predicted") =>
  Array.isArray(v) ? labelText(v, kind) : truncateLabel(labelText(v, kind), max);

export const LABEL_ERROR_HELP =
  "Possible label error: the model is confident in another class; the annotation may be wrong — see Data quality";

/** Whether confident learning flags the sample: true / false for a single-label item once the
 * evaluation's data-quality analysis is ready, null before (and for other tasks). */
export function labelErrorMark(s: object | null | undefined): boolean | null {
  return s && "possible_label_error" in s && typeof s.possible_label_error === "boolean" ? s.possible_label_error : null;
}

/** The pill of a likely label error, with why in its title. */
export function LabelErrorPill({ testid }: { testid: string }) {
  return (
    <span className="label-pill pill-label-error" title={LABEL_ERROR_HELP} data-testid={testid}>
      possible label error
    </span>
  );
}

/** Ask again, once per answer, for samples loaded before the data-quality analysis was ready
 * (marks null) when it now is: the marks then arrive without a reload. */
export function useMarksOnceReady(evalId: number, key: string, unmarked: boolean, refetch: () => unknown, fetching: boolean) {
  // read from the cache the data-quality page fills, never fetched here (the feed never starts an
  // analysis); answers loaded before it was ready carry no marks (null) and are asked again once
  const ready = useQualityReadyInCache(evalId);
  const asked = useRef(new Set<string>());
  useEffect(() => {
    if (ready && unmarked && !fetching && !asked.current.has(key)) {
      asked.current.add(key);
      void refetch();
    }
  }, [ready, unmarked, fetching, key, refetch]);
}

export function outcomeClass(s: ClassificationItem): "ok" | "bad" | "none" {
  if (s.outcome === "correct" || s.outcome === "tp" || s.outcome === "tn") return "ok";
  if (s.outcome === "below_threshold") return "none";
  return "bad";
}

export function SampleCard({ s, onOpen, t }: { s: ClassificationItem; onOpen: (s: SampleItem) => void; t?: number }) {
  const oc = outcomeClass(s);
  return (
    <button className={`sample-card ${oc}`} onClick={() => onOpen(s)} data-testid="feed-item" data-index={s.index}>
      <div className="thumb thumb-flagged">
        <Media src={s.thumbnail_url ?? s.media_url} alt={s.id} fallback={s.id} />
        {labelErrorMark(s) && <LabelErrorPill testid="feed-label-error" />}
      </div>
      <div className="sample-meta">
        <span className="truncate small sample-id" title={s.id} data-testid="feed-item-id">{s.id}</span>
        <span className="truncate small" title={`Actual: ${labelText(s.actual, "actual")}`}>
          <span className="muted">actual</span> {shortText(s.actual, 22, "actual")}
        </span>
        <span className={`truncate small pred-${oc}`} title={`Predicted: ${labelText(s.predicted)}`}>
          <span className="muted">pred</span> {shortText(s.predicted, 18)} <span className="muted">{pctBeside(s.confidence, t, 0)}</span>
        </span>
      </div>
    </button>
  );
}

export function DetectionCard({ s, onOpen }: { s: DetectionItem; onOpen: (s: SampleItem) => void }) {
  return (
    <button className="sample-card" onClick={() => onOpen(s)} data-testid="feed-item" data-index={s.index}>
      <div className="thumb thumb-boxes">
        <Media src={s.thumbnail_url ?? s.media_url} alt={s.file_name || s.id} fallback={s.file_name || s.id} />
        {(s.thumbnail_url || s.media_url) && s.boxes?.length > 0 && <BoxOverlay boxes={s.boxes} width={s.width ?? 0} height={s.height ?? 0} thumbnail />}
      </div>
      <div className="sample-meta">
        <span className="truncate small" title={s.file_name}>{truncateLabel(s.file_name || s.id, 18)}</span>
        <span className="chips">
          {OUTCOMES.map((o) => (
            <span key={o} className={`chip chip-${o}`} title={o === "tp" ? "True positives" : o === "fp" ? "False positives" : "Missed objects (false negatives)"}>
              {OUTCOME_SHORT[o]} <b className={`chip-n-${o}`} data-testid={`chip-${o}`}>{s[o]}</b>
            </span>
          ))}
        </span>
      </div>
    </button>
  );
}

/** A row for text samples and for plain score tables (no text, no image: the id and metadata). */
export function TextRow({ s, onOpen, t }: { s: ClassificationItem; onOpen: (s: SampleItem) => void; t?: number }) {
  const oc = outcomeClass(s);
  const meta = metadataLine(s.metadata);
  return (
    <button className={`text-row ${oc}`} onClick={() => onOpen(s)} data-testid="feed-item" data-index={s.index}>
      <span className={`dot dot-${oc}`} aria-hidden />
      {s.text ? (
        <span className="text-row-text">{s.text}</span>
      ) : (
        <span className="text-row-text">
          <span className="strong sample-id" data-testid="feed-item-id">{s.id}</span>
          {meta && <span className="muted small"> · {meta}</span>}
        </span>
      )}
      <span className="text-row-labels">
        {labelErrorMark(s) && <LabelErrorPill testid="feed-label-error" />}
        <span className="label-pill" title={labelText(s.actual, "actual")}>{shortText(s.actual, 30, "actual")}</span>
        <span className="arrow">→</span>
        <span className={`label-pill pill-${oc}`} title={labelText(s.predicted)}>{shortText(s.predicted, 30)}</span>
        <span className="muted small conf">{pctBeside(s.confidence, t, 0)}</span>
      </span>
    </button>
  );
}

export function SampleFeed({
  evalId,
  media,
  actualOptions,
  predictedOptions,
  sliders,
  filter,
  setFilter,
  onOpen,
  detection = false,
}: {
  evalId: number;
  media: string | null;
  actualOptions: string[];
  predictedOptions: string[];
  sliders: SliderParams;
  filter: FeedFilter;
  setFilter: (patch: Partial<FeedFilter>) => void;
  onOpen: (s: SampleItem) => void;
  detection?: boolean;
}) {
  const query: SampleQuery = {
    ...sliders,
    actual: filter.actual,
    predicted: filter.predicted,
    label: filter.label,
    outcome: filter.outcome,
    errors_only: filter.errors || undefined,
    sort: filter.sort,
    descending: filter.desc,
  };
  const q = useSamples(evalId, query);
  const items = useMemo(() => q.data?.pages.flatMap((p): SampleItem[] => p.items) ?? [], [q.data]);
  const first = q.data?.pages[0];
  const total = first?.total ?? null;
  const stale = q.isPlaceholderData;
  const [wrapRef, width] = useElementWidth<HTMLDivElement>();
  const scroller = useRef<HTMLDivElement>(null);
  const asRows = !detection && media !== "image";
  const cardW = 168;
  const cols = asRows ? 1 : Math.max(1, Math.floor((width - 8) / cardW));
  const rowH = asRows ? 52 : 206;
  const nRows = Math.ceil(items.length / cols);
  const virt = useVirtualizer({ count: nRows, getScrollElement: () => scroller.current, estimateSize: () => rowH, overscan: 4 });
  const vItems = virt.getVirtualItems();
  const lastRow = vItems.length ? vItems[vItems.length - 1].index : -1;
  const { hasNextPage, isFetchingNextPage, fetchNextPage } = q;
  const queryKey = JSON.stringify(query);
  const unmarked = !detection && items.some((s) => "possible_label_error" in s && s.possible_label_error === null);
  useMarksOnceReady(evalId, queryKey, unmarked, q.refetch, q.isFetching);
  useEffect(() => {
    if (lastRow >= nRows - 3 && hasNextPage && !isFetchingNextPage) void fetchNextPage();
  }, [lastRow, nRows, hasNextPage, isFetchingNextPage, fetchNextPage]);
  useEffect(() => {
    scroller.current?.scrollTo({ top: 0 });
  }, [queryKey]);

  const hasFilter = !!(filter.actual || filter.predicted || filter.outcome || filter.errors);
  const sortValue = `${filter.sort}:${filter.desc ? "desc" : "asc"}`;
  const countText = total === null ? "…" : feedCountText(total, detection, first?.n_boxes);

  return (
    <Panel
      busy={stale}
      title={detection ? "Images" : "Samples"}
      testid="sample-feed"
      actions={
        <span className="feed-count" data-testid="feed-count" data-total={total ?? ""} data-boxes={first?.n_boxes ?? ""}>
          {countText}
        </span>
      }
    >
      <div className="feed-filters">
        <label>
          <span>Actual</span>
          <select className="select" value={filter.actual ?? ""} onChange={(e) => setFilter({ actual: e.target.value || undefined })} data-testid="feed-actual">
            <option value="">Any</option>
            {actualOptions.map((c) => (
              <option key={c} value={c}>{c}</option>
            ))}
          </select>
        </label>
        <label>
          <span>Predicted</span>
          <select className="select" value={filter.predicted ?? ""} onChange={(e) => setFilter({ predicted: e.target.value || undefined })} data-testid="feed-predicted">
            <option value="">Any</option>
            {predictedOptions.map((c) => (
              <option key={c} value={c}>{c}</option>
            ))}
          </select>
        </label>
        <label>
          <span>Outcome</span>
          <select
            className="select"
            value={filter.outcome ?? ""}
            onChange={(e) => {
              const outcome = OUTCOMES.find((o) => o === e.target.value);
              setFilter({ outcome, label: outcome ? (filter.label ?? actualOptions[0]) : undefined });
            }}
            data-testid="feed-outcome"
          >
            <option value="">Any</option>
            {OUTCOMES.map((o) => (
              <option key={o} value={o}>{OUTCOME_SHORT[o]} ({o === "tp" ? "true positive" : o === "fp" ? "false positive" : "false negative"})</option>
            ))}
          </select>
        </label>
        {filter.outcome && (
          <label>
            <span>of</span>
            <select className="select" value={filter.label ?? ""} onChange={(e) => setFilter({ label: e.target.value || undefined })} data-testid="feed-label">
              {actualOptions.filter((c) => !c.includes("Not ") && c !== "No label").map((c) => (
                <option key={c} value={c}>{c}</option>
              ))}
            </select>
          </label>
        )}
        <label className="check">
          <input type="checkbox" checked={!!filter.errors} onChange={(e) => setFilter({ errors: e.target.checked || undefined })} data-testid="feed-errors-only" />
          <span>Only errors</span>
        </label>
        <label>
          <span>Sort</span>
          <select
            className="select"
            value={sortValue}
            onChange={(e) => {
              const [sort, dir] = e.target.value.split(":");
              const key = [...CLASSIFICATION_SORTS, ...DETECTION_SORTS].find((k) => k === sort);
              if (key) setFilter({ sort: key, desc: dir === "desc" });
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
          <button
            className="btn btn-ghost btn-sm"
            onClick={() => setFilter({ actual: undefined, predicted: undefined, outcome: undefined, label: undefined, errors: undefined })}
            data-testid="feed-clear"
          >
            Clear filters
          </button>
        )}
      </div>
      {hasFilter && (
        <div className="filter-summary" data-testid="feed-filter-summary">
          {filter.actual && <span className="chip-filter" title={filter.actual}>actual: {filter.actual}</span>}
          {filter.predicted && <span className="chip-filter" title={filter.predicted}>predicted: {filter.predicted}</span>}
          {filter.outcome && (
            <span className="chip-filter">
              outcome: {OUTCOME_SHORT[filter.outcome]}
              {filter.label ? ` of ${filter.label}` : ""}
            </span>
          )}
          {filter.errors && <span className="chip-filter">only errors</span>}
        </div>
      )}
      <div ref={wrapRef} className="feed-wrap">
        {q.error && items.length === 0 ? (
          <ErrorState error={q.error} onRetry={() => void q.refetch()} />
        ) : total === 0 ? (
          <div className="state state-empty" data-testid="feed-empty">
            <div className="state-title">No {detection ? "image" : "sample"} matches these filters</div>
          </div>
        ) : total === null ? (
          <Spinner label="Loading samples…" />
        ) : (
          <div className="feed-scroll" ref={scroller} data-testid="feed-scroll" style={{ height: Math.max(120, Math.min(560, virt.getTotalSize() + 16)) }}>
            <div style={{ height: virt.getTotalSize(), position: "relative" }}>
              {vItems.map((vr) => (
                <div
                  key={vr.key}
                  className={asRows ? "feed-row-text" : "feed-row"}
                  style={{ position: "absolute", top: 0, left: 0, right: 0, transform: `translateY(${vr.start}px)`, height: rowH, gridTemplateColumns: asRows ? undefined : `repeat(${cols}, minmax(0, 1fr))` }}
                >
                  {items.slice(vr.index * cols, vr.index * cols + cols).map((s) =>
                    isDetectionItem(s) ? (
                      <DetectionCard key={s.index} s={s} onOpen={onOpen} />
                    ) : asRows ? (
                      <TextRow key={s.index} s={s} onOpen={onOpen} t={sliders.threshold} />
                    ) : (
                      <SampleCard key={s.index} s={s} onOpen={onOpen} t={sliders.threshold} />
                    ),
                  )}
                </div>
              ))}
            </div>
            {q.isFetchingNextPage && (
              <div className="feed-loading">
                <span className="spinner spinner-sm" /> Loading…
              </div>
            )}
          </div>
        )}
      </div>
    </Panel>
  );
}
