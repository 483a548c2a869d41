// The embedding map of an evaluation: every sample a point on a canvas (100k points draw in one
// pass per colour), laid out by PCA (at once) or UMAP (a background job with progress), coloured by
// outcome, actual or predicted class, confidence, a data-quality property or the likely-label-error
// mark. A lasso or a box selects points and opens them in a feed below; a click shows the sample and
// its nearest neighbours in the embedding space. The view (method, colouring, tool) lives in the URL.
import { useEffect, useMemo, useRef, useState, type PointerEvent as ReactPointerEvent } from "react";
import { ApiError } from "../../api/client";
import { Empty, ErrorState, Panel, Segmented, Spinner } from "../../components/common";
import { Media } from "../../components/Media";
import { useElementWidth } from "../../lib/hooks";
import { evaluationHref, navigate, type Crumb } from "../../routes";
import { useEvaluation } from "../evaluation/hooks";
import { startMap, useEmbeddingMap, useNeighbours, useSelection, type MapMethod, type MapPublic, type MapStatus } from "./api";
import { OUTCOME_COLOURS, categoryColour, extent, fitFrame, insideBox, insideLasso, nearestPoint, project, rampColour } from "./geometry";
import "./EmbeddingsPage.css";

const HEIGHT = 540;
const PAGE = 24;
const MAX_SELECTION = 100_000;
type Tool = "lasso" | "box";

/** `#/evaluations/3/embeddings` -> 3, else null. */
export function matchEmbeddings(path: string): number | null {
  const m = path.match(/^\/evaluations\/(\d+)\/embeddings\/?$/);
  return m ? Number(m[1]) : null;
}

export const embeddingsHref = (id: number) => `#/evaluations/${id}/embeddings`;

interface View {
  method: MapMethod;
  colour: string;
  tool: Tool;
}

function readView(params: URLSearchParams): View {
  const method = params.get("method") === "umap" ? "umap" : "pca";
  const tool = params.get("tool") === "box" ? "box" : "lasso";
  return { method, colour: params.get("colour") || "outcome", tool };
}

function viewHash(id: number, v: View): string {
  const p = new URLSearchParams();
  if (v.method !== "pca") p.set("method", v.method);
  if (v.colour !== "outcome") p.set("colour", v.colour);
  if (v.tool !== "lasso") p.set("tool", v.tool);
  const s = p.toString();
  return `#/evaluations/${id}/embeddings${s ? `?${s}` : ""}`;
}

export function EmbeddingsPage({ id, params, setCrumbs }: { id: number; params: URLSearchParams; setCrumbs: (c: Crumb[]) => void }) {
  const ev = useEvaluation(id);
  const name = ev.data?.name;
  useEffect(() => {
    setCrumbs([{ label: name ?? `Evaluation ${id}`, href: evaluationHref(id) }, { label: "Embedding map" }]);
  }, [name, id, setCrumbs]);
  const view = readView(params);
  const setView = (change: Partial<View>) => navigate(viewHash(id, { ...view, ...change }), { replace: true });
  const property = view.colour.startsWith("property:") ? view.colour.slice("property:".length) : undefined;
  const q = useEmbeddingMap(id, { method: view.method, property, label_errors: view.colour === "label_error" });
  const [selected, setSelected] = useState<number[]>([]);
  const [focus, setFocus] = useState<number | null>(null);
  const [starting, setStarting] = useState<string | null>(null);

  const head = (
    <div className="page-head">
      <div>
        <h1 data-testid="embeddings-title">Embedding map</h1>
        <p className="muted">
          <a href={evaluationHref(id)}>{name ?? `Evaluation ${id}`}</a>
          {" · every sample a point; similar samples lie close together. Drag a lasso or a box to open samples; click a point for its nearest neighbours."}
        </p>
      </div>
      <div className="page-head-side">
        <Segmented<MapMethod>
          value={view.method}
          options={[
            { value: "pca", label: "PCA" },
            { value: "umap", label: "UMAP" },
          ]}
          onChange={(m) => {
            setSelected([]);
            setFocus(null);
            setView({ method: m });
          }}
          testid="map-method"
        />
      </div>
    </div>
  );

  if (q.error) {
    if (q.error instanceof ApiError && q.error.status === 404)
      return (
        <Empty title="Evaluation not found">
          There is no evaluation {id} in this workspace. <a href="#/">Back to evaluations</a>
        </Empty>
      );
    return (
      <div className="page embeddings-page">
        {head}
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      </div>
    );
  }
  if (!q.data) return <Spinner label="Asking for the embedding map…" />;
  const data = q.data;
  if (data.status !== "ready") {
    const status = data as MapStatus;
    const start = async (retry: boolean) => {
      setStarting(null);
      try {
        await startMap(id, view.method, retry);
        void q.refetch();
      } catch (e) {
        setStarting(e instanceof Error ? e.message : String(e));
      }
    };
    return (
      <div className="page embeddings-page" data-testid="embeddings-page" data-status={status.status}>
        {head}
        <MapProgress status={status} onStart={() => void start(false)} onRetry={() => void start(true)} />
        {starting && <p className="error-text">{starting}</p>}
      </div>
    );
  }
  const map = data as MapPublic;
  return (
    <div className="page embeddings-page" data-testid="embeddings-page" data-status="ready">
      {head}
      <MapPanel
        map={map}
        view={view}
        setView={setView}
        busy={q.isFetching}
        selected={selected}
        setSelected={(s) => {
          setSelected(s);
          setFocus(null);
        }}
        focus={focus}
        setFocus={setFocus}
      />
      {focus !== null && <FocusPanel id={id} map={map} index={focus} setFocus={setFocus} />}
      {selected.length > 0 && <SelectionFeed id={id} indices={selected} clear={() => setSelected([])} />}
    </div>
  );
}

function MapProgress({ status, onStart, onRetry }: { status: MapStatus; onStart: () => void; onRetry: () => void }) {
  if (status.status === "failed")
    return (
      <Panel title="The map could not be computed">
        <p className="error-text" data-testid="map-error">
          {status.error}
        </p>
        <button className="btn" onClick={onRetry}>
          Try again
        </button>
      </Panel>
    );
  if (status.status === "missing" && status.method === "umap")
    return (
      <Panel title="UMAP">
        <p className="muted">
          UMAP keeps neighbourhoods: clusters read better than on PCA, at the cost of a background computation (about a minute for 100k samples, longer the
          first time in a server).
        </p>
        <button className="btn btn-primary" onClick={onStart} data-testid="start-umap">
          Compute the UMAP map
        </button>
      </Panel>
    );
  const stage = status.stage ?? "queued";
  const total = status.total ?? 0;
  const done = status.done ?? 0;
  return (
    <Panel title="Laying out the map…" testid="map-progress">
      <p className="muted">
        {stage === "embedding" ? "Running the model for its embedding output" : stage[0].toUpperCase() + stage.slice(1)}
        {total > 1 ? ` · ${done.toLocaleString()} of ${total.toLocaleString()}` : "…"}
      </p>
      <div className="map-progress-bar">
        <div style={{ width: `${total > 1 ? Math.round((100 * done) / total) : 15}%` }} />
      </div>
    </Panel>
  );
}

/** The colour of each point and the legend's entries, for one colouring. */
function colouring(map: MapPublic, colour: string): { colours: string[]; legend: { label: string; colour: string }[]; note?: string } {
  const n = map.n;
  if (colour === "actual" || colour === "predicted") {
    const idx = colour === "actual" ? map.actual : map.predicted;
    const colours = idx.map((k) => categoryColour(k));
    const legend = map.classes.slice(0, 20).map((c, k) => ({ label: c, colour: categoryColour(k) }));
    legend.push({ label: colour === "actual" ? "no label" : "no prediction", colour: categoryColour(-1) });
    return { colours, legend, note: map.classes.length > 20 ? `${map.classes.length - 20} more classes` : undefined };
  }
  if (colour === "confidence") {
    return {
      colours: map.confidence.map((c) => rampColour(c)),
      legend: [
        { label: "0", colour: rampColour(0) },
        { label: "0.5", colour: rampColour(0.5) },
        { label: "1", colour: rampColour(1) },
      ],
    };
  }
  if (colour === "label_error") {
    if (!map.label_error) return { colours: new Array<string>(n).fill(categoryColour(-1)), legend: [], note: "Likely label errors are found for single-label classification only." };
    return {
      colours: map.label_error.map((m) => (m ? "#d64545" : "#c4c9d2")),
      legend: [
        { label: "likely label error", colour: "#d64545" },
        { label: "not flagged", colour: "#c4c9d2" },
      ],
    };
  }
  if (colour.startsWith("property:") && map.property_values) {
    const [lo, hi] = extent(map.property_values);
    return {
      colours: map.property_values.map((v) => (v === null ? rampColour(null) : rampColour((v - lo) / (hi - lo)))),
      legend: [
        { label: lo.toPrecision(3), colour: rampColour(0) },
        { label: hi.toPrecision(3), colour: rampColour(1) },
        { label: "missing", colour: rampColour(null) },
      ],
    };
  }
  return {
    colours: map.outcome.map((o) => OUTCOME_COLOURS[o] ?? "#c4c9d2"),
    legend: map.outcome_names.map((label, k) => ({ label, colour: OUTCOME_COLOURS[k] })),
  };
}

function MapPanel({
  map,
  view,
  setView,
  busy,
  selected,
  setSelected,
  focus,
  setFocus,
}: {
  map: MapPublic;
  view: View;
  setView: (v: Partial<View>) => void;
  busy: boolean;
  selected: number[];
  setSelected: (s: number[]) => void;
  focus: number | null;
  setFocus: (i: number | null) => void;
}) {
  const [wrap, width] = useElementWidth<HTMLDivElement>();
  const canvas = useRef<HTMLCanvasElement>(null);
  const overlay = useRef<HTMLCanvasElement>(null);
  const drag = useRef<{ points: [number, number][]; start: [number, number] } | null>(null);
  const [tooBig, setTooBig] = useState(false);
  const w = Math.max(320, width || 800);
  const { colours, legend, note } = useMemo(() => colouring(map, view.colour), [map, view.colour]);
  const [px, py] = useMemo(() => project(map.x, map.y, fitFrame(map.x, map.y, w, HEIGHT), HEIGHT), [map.x, map.y, w]);
  const selectedSet = useMemo(() => new Set(selected), [selected]);

  // draw every point, grouped by colour (one fillStyle per group); the unselected dimmed when a selection exists
  useEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const dpr = window.devicePixelRatio || 1;
    c.width = w * dpr;
    c.height = HEIGHT * dpr;
    const ctx = c.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, HEIGHT);
    const size = map.n > 20000 ? 2 : map.n > 3000 ? 3 : 5;
    const half = size / 2;
    const groups = new Map<string, number[]>();
    for (let i = 0; i < map.n; i++) {
      const key = colours[i];
      let g = groups.get(key);
      if (!g) groups.set(key, (g = []));
      g.push(i);
    }
    const passes: [boolean, number][] = selected.length ? [[false, 0.18], [true, 1]] : [[true, 0.85]];
    for (const [inSelection, alpha] of passes) {
      ctx.globalAlpha = alpha;
      for (const [fill, idx] of groups) {
        ctx.fillStyle = fill;
        for (const i of idx) {
          if (selected.length && selectedSet.has(i) !== inSelection) continue;
          ctx.fillRect(px[i] - half, py[i] - half, size, size);
        }
      }
    }
    ctx.globalAlpha = 1;
    if (focus !== null && focus < map.n) {
      ctx.strokeStyle = "#1c2230";
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.arc(px[focus], py[focus], 7, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }, [map.n, colours, px, py, w, selected, selectedSet, focus]);

  const pos = (e: ReactPointerEvent<HTMLCanvasElement>): [number, number] => {
    const r = e.currentTarget.getBoundingClientRect();
    return [e.clientX - r.left, e.clientY - r.top];
  };
  const drawOverlay = () => {
    const o = overlay.current;
    const d = drag.current;
    if (!o) return;
    const dpr = window.devicePixelRatio || 1;
    o.width = w * dpr;
    o.height = HEIGHT * dpr;
    const ctx = o.getContext("2d");
    if (!ctx || !d) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.strokeStyle = "#2f5bea";
    ctx.fillStyle = "rgba(47, 91, 234, 0.08)";
    ctx.lineWidth = 1.5;
    ctx.setLineDash([5, 4]);
    ctx.beginPath();
    if (view.tool === "box") {
      const [x0, y0] = d.start;
      const [x1, y1] = d.points[d.points.length - 1] ?? d.start;
      ctx.rect(Math.min(x0, x1), Math.min(y0, y1), Math.abs(x1 - x0), Math.abs(y1 - y0));
    } else {
      d.points.forEach(([x, y], k) => (k === 0 ? ctx.moveTo(x, y) : ctx.lineTo(x, y)));
      ctx.closePath();
    }
    ctx.fill();
    ctx.stroke();
  };
  const onDown = (e: ReactPointerEvent<HTMLCanvasElement>) => {
    e.currentTarget.setPointerCapture(e.pointerId);
    const p = pos(e);
    drag.current = { points: [p], start: p };
  };
  const onMove = (e: ReactPointerEvent<HTMLCanvasElement>) => {
    if (!drag.current) return;
    const p = pos(e);
    if (view.tool === "box") drag.current.points = [p];
    else drag.current.points.push(p);
    drawOverlay();
  };
  const onUp = (e: ReactPointerEvent<HTMLCanvasElement>) => {
    const d = drag.current;
    drag.current = null;
    drawOverlay();
    if (!d) return;
    const end = pos(e);
    const moved = Math.hypot(end[0] - d.start[0], end[1] - d.start[1]);
    if (moved < 4 && d.points.length < 4) {
      setFocus(nearestPoint(px, py, end[0], end[1]));
      return;
    }
    const found = view.tool === "box" ? insideBox(px, py, d.start, end) : insideLasso(px, py, [...d.points, end]);
    setTooBig(found.length > MAX_SELECTION);
    // the feed shows the model's errors first (then by index): what a selected cluster is about
    const kept = found.slice(0, MAX_SELECTION);
    kept.sort((a, b) => (map.outcome[a] === 0 ? 1 : 0) - (map.outcome[b] === 0 ? 1 : 0) || a - b);
    setSelected(kept);
  };

  const properties = map.properties;
  return (
    <Panel
      title={`${map.method.toUpperCase()} map · ${map.n.toLocaleString()} ${map.task === "detection" ? "images" : "samples"}`}
      busy={busy}
      testid="map-panel"
      actions={
        <>
          <label className="map-control">
            Colour by{" "}
            <select value={view.colour} onChange={(e) => setView({ colour: e.target.value })} data-testid="map-colour">
              <option value="outcome">outcome</option>
              <option value="actual">actual class</option>
              <option value="predicted">predicted class</option>
              <option value="confidence">confidence</option>
              {map.task === "classification" && <option value="label_error">likely label error</option>}
              {properties.map((p) => (
                <option key={p} value={`property:${p}`}>
                  {p}
                </option>
              ))}
            </select>
          </label>
          <Segmented<Tool>
            value={view.tool}
            options={[
              { value: "lasso", label: "Lasso" },
              { value: "box", label: "Box" },
            ]}
            onChange={(t) => setView({ tool: t })}
            testid="map-tool"
          />
        </>
      }
    >
      <p className="muted map-source" data-testid="map-source" title="What each point's position is computed from">
        Embedding: {map.source_text} · {map.dims} dimensions
        {map.source === "scores" && " — give the model an embedding output ('embedding' in its spec) for a map of what it sees"}
        {properties.length === 0 && " · data-quality properties colour the map once Data quality has run"}
      </p>
      <div className="map-wrap" ref={wrap}>
        <canvas ref={canvas} className="map-canvas" style={{ width: w, height: HEIGHT }} data-testid="map-canvas" data-points={map.n} />
        <canvas
          ref={overlay}
          className="map-overlay"
          style={{ width: w, height: HEIGHT }}
          onPointerDown={onDown}
          onPointerMove={onMove}
          onPointerUp={onUp}
          data-testid="map-overlay"
        />
      </div>
      <div className="map-legend" data-testid="map-legend">
        {legend.map((l) => (
          <span key={l.label} className="map-legend-item">
            <i style={{ background: l.colour }} />
            {l.label}
          </span>
        ))}
        {note && <span className="muted">{note}</span>}
      </div>
      {tooBig && <p className="error-text">The selection holds more than {MAX_SELECTION.toLocaleString()} samples: the first ones are kept. Draw a smaller one.</p>}
    </Panel>
  );
}

type Item = Record<string, unknown>;

function labelOf(v: unknown): string {
  if (Array.isArray(v)) return v.length ? v.join(", ") : "—";
  if (v === null || v === undefined) return "—";
  return String(v);
}

function SampleCard({ id, item, extra, onClick, testid }: { id: number; item: Item; extra?: string; onClick?: () => void; testid: string }) {
  const index = Number(item.index);
  const media = (item.thumbnail_url ?? item.media_url) as string | null | undefined;
  const wrong = "outcome" in item ? !["correct", "tp", "tn"].includes(String(item.outcome)) : Number(item.fp ?? 0) + Number(item.fn ?? 0) > 0;
  return (
    <div className={`map-card ${wrong ? "is-wrong" : ""}`} data-testid={testid} data-index={index}>
      <button className="map-card-media" onClick={onClick} title={onClick ? "Show this sample and its neighbours" : undefined} disabled={!onClick}>
        {typeof item.text === "string" ? <span className="map-card-text">{item.text}</span> : <Media src={media} alt={String(item.id)} fallback={String(item.id)} />}
      </button>
      <div className="map-card-meta">
        {"tp" in item ? (
          <span>
            TP {String(item.tp)} · FP {String(item.fp)} · FN {String(item.fn)}
          </span>
        ) : (
          <span>
            {labelOf(item.actual)} → <b>{labelOf(item.predicted)}</b>
          </span>
        )}
        {extra && <span className="muted">{extra}</span>}
        <a href={evaluationHref(id, { sample: index })} title="Open the sample on the evaluation page">
          #{index}
        </a>
      </div>
    </div>
  );
}

function FocusPanel({ id, map, index, setFocus }: { id: number; map: MapPublic; index: number; setFocus: (i: number | null) => void }) {
  const q = useNeighbours(id, index, {});
  const conf = map.confidence[index];
  return (
    <Panel
      title={`Sample #${index} and its nearest neighbours`}
      testid="focus-panel"
      actions={
        <button className="btn btn-sm" onClick={() => setFocus(null)}>
          Close
        </button>
      }
    >
      {q.error ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : !q.data ? (
        <Spinner label="Finding its neighbours…" />
      ) : (
        <div className="map-focus">
          <div className="map-focus-self">
            <p className="muted">
              {map.outcome_names[map.outcome[index]]} · confidence {conf.toFixed(3)}
            </p>
            {q.data.items[0] && <FocusSelf id={id} index={index} />}
          </div>
          <div className="map-grid" data-testid="neighbours">
            {q.data.items.map((n) => (
              <SampleCard key={n.index} id={id} item={n.sample} extra={`cosine distance ${n.distance.toFixed(3)}`} onClick={() => setFocus(n.index)} testid="neighbour" />
            ))}
          </div>
        </div>
      )}
    </Panel>
  );
}

function FocusSelf({ id, index }: { id: number; index: number }) {
  const q = useSelection(id, [index], 0, 1, {});
  const item = q.data?.items[0];
  return item ? <SampleCard id={id} item={item} testid="focus-sample" /> : null;
}

function SelectionFeed({ id, indices, clear }: { id: number; indices: number[]; clear: () => void }) {
  const [offset, setOffset] = useState(0);
  useEffect(() => setOffset(0), [indices]);
  const q = useSelection(id, indices, offset, PAGE, {});
  const total = indices.length;
  return (
    <Panel
      title={`${total.toLocaleString()} selected`}
      testid="selection-feed"
      busy={q.isFetching}
      actions={
        <>
          <button className="btn btn-sm" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
            Previous
          </button>
          <span className="muted">
            {offset + 1}–{Math.min(total, offset + PAGE)} of {total.toLocaleString()}
          </span>
          <button className="btn btn-sm" disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)} data-testid="selection-next">
            Next
          </button>
          <button className="btn btn-sm" onClick={clear} data-testid="selection-clear">
            Clear
          </button>
        </>
      }
    >
      {q.error ? (
        <ErrorState error={q.error} onRetry={() => void q.refetch()} />
      ) : !q.data ? (
        <Spinner />
      ) : (
        <div className="map-grid">
          {q.data.items.map((item) => (
            <SampleCard key={String(item.index)} id={id} item={item} testid="selection-item" />
          ))}
        </div>
      )}
    </Panel>
  );
}
