// What-if: the calls of GET / POST /api/models/{version_id}/predict and the pure helpers of the
// page (which boxes and classes pass the slider, client-side size checks, error lines), testable
// without a browser.
import { ApiError, client, unwrap } from "../../api/client";
import type { components } from "../../api/schema";

type Schemas = components["schemas"];
export type PredictInfo = Schemas["PredictInfo"];
export type PredictAnswer = Schemas["PredictAnswer"];
export type PredictionItem = Schemas["PredictionItem"];
export type PredictedBox = Schemas["PredictedBox"];
export type PredictedClass = Schemas["PredictedClass"];
export type PredictLimits = Schemas["PredictLimits"];
export type PredictTask = PredictAnswer["task"];

/** A box that passes the slider, with its position in the answer (hover keys on it). */
export interface ShownBox {
  box: PredictedBox;
  index: number;
}

/** The boxes whose score is at least `threshold`, highest score first. */
export function boxesAbove(boxes: readonly PredictedBox[] | null | undefined, threshold: number): ShownBox[] {
  return (boxes ?? [])
    .map((box, index) => ({ box, index }))
    .filter((b) => b.box.score >= threshold)
    .sort((a, b) => b.box.score - a.box.score || a.index - b.index);
}

/**
 * The labels predicted at `threshold`: single-label, the top class when its score is at least the
 * threshold (else none: "Below threshold"); multi-label, every class at or above it.
 */
export function predictedLabels(classes: readonly PredictedClass[] | null | undefined, task: PredictTask, threshold: number): string[] {
  const list = classes ?? [];
  if (task === "multilabel") return list.filter((c) => c.score >= threshold).map((c) => c.label);
  const top = list.reduce<PredictedClass | null>((best, c) => (best === null || c.score > best.score ? c : best), null);
  return top && top.score >= threshold ? [top.label] : [];
}

/** Bytes in words: 512 bytes, 1.5 MB. */
export function fmtBytes(n: number): string {
  if (n < 1024) return `${n} bytes`;
  if (n < 1 << 20) return `${Number((n / 1024).toFixed(1))} KB`;
  return `${Number((n / (1 << 20)).toFixed(1))} MB`;
}

/** What the page can tell before uploading a file (its size); its type is the server's to judge, by content. */
export function precheck(file: { size: number }, limits: Pick<PredictLimits, "file_bytes">): string | null {
  if (file.size === 0) return "empty file";
  if (file.size > limits.file_bytes) return `larger than ${fmtBytes(limits.file_bytes)} (${fmtBytes(file.size)})`;
  return null;
}

/** Pasted text: one text per non-blank line. */
export function textLines(text: string): string[] {
  return text
    .split(/\r\n|\r|\n/)
    .map((l) => l.trim())
    .filter(Boolean);
}

/** Split a list into runs of at most `size`. */
export function chunks<T>(list: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += Math.max(1, size)) out.push(list.slice(i, i + Math.max(1, size)));
  return out;
}

/** A request-level error shown on one file's card: without "nothing to predict: <its name>: ". */
export function cardError(detail: string, name: string): string {
  let s = detail.replace(/^nothing to predict: /, "");
  if (s.startsWith(`${name}: `)) s = s.slice(name.length + 2);
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** Seconds to wait from a Retry-After header (1 to 30; 2 when absent or unreadable). */
export function retryAfter(header: string | null): number {
  const n = Number(header);
  return Number.isFinite(n) && n > 0 ? Math.min(30, Math.max(1, n)) : 2;
}

// ---------------------------------------------------------------- calls

export async function fetchPredictInfo(versionId: number, signal?: AbortSignal): Promise<PredictInfo> {
  return unwrap(client.GET("/api/models/{version_id}/predict", { params: { path: { version_id: versionId } }, signal }));
}

export type PredictBody = { files: File[] } | { texts: string[] };

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(new DOMException("aborted", "AbortError"));
    });
  });

/**
 * POST the files (multipart `files`) or texts (`text`, one per line) to the model version; a busy
 * server (503) is asked again after its Retry-After, up to `tries` times. Errors are `ApiError`s
 * carrying the server's one-line detail.
 */
export async function postPredict(versionId: number, body: PredictBody, signal?: AbortSignal, tries = 5): Promise<PredictAnswer> {
  for (let attempt = 1; ; attempt++) {
    const form = new FormData();
    if ("files" in body) for (const f of body.files) form.append("files", f, f.name);
    else form.append("text", body.texts.join("\n"));
    // multipart as the form holds it; the client's middleware adds the token (and forgets it on a 401)
    const call = client.POST("/api/models/{version_id}/predict", { params: { path: { version_id: versionId } }, body: {}, bodySerializer: () => form, signal });
    let res;
    try {
      res = await call;
    } catch (e) {
      if (e instanceof DOMException && e.name === "AbortError") throw e;
      throw new ApiError("Cannot reach the Assay server. Is `assay serve` running?", null);
    }
    if (res.response.status === 503 && attempt < tries) {
      await sleep(retryAfter(res.response.headers.get("Retry-After")) * 1000, signal);
      continue;
    }
    return unwrap(Promise.resolve(res));
  }
}

const PALETTE = ["#2f5bea", "#d64545", "#1e9e63", "#e8a33b", "#8b3fd9", "#0f9bb0", "#c2418c", "#6b7a16", "#a35a1f", "#475467"];

/** A class's colour: its position among the model's classes picks one of ten (unknown names: the last). */
export function classColor(label: string, classes: readonly string[]): string {
  const i = classes.indexOf(label);
  return i < 0 ? PALETTE[PALETTE.length - 1] : PALETTE[i % PALETTE.length];
}

/** One uploaded image or pasted text on the page, from its drop to its answer. */
export interface Entry {
  key: number;
  kind: "image" | "text";
  name: string;
  /** the dropped file (images), shown from `url`, a local object URL: never uploaded twice */
  file?: File;
  url?: string;
  text?: string;
  state: "waiting" | "running" | "done" | "failed";
  item?: PredictionItem;
  error?: string;
}

/** A model version in words: "pets v2", "pets fp32" (a version label that is not a number keeps its own name). */
export function modelLabel(m: { name: string; version: string }): string {
  const v = String(m.version ?? "");
  return `${m.name} ${/^\d/.test(v) ? `v${v}` : v}`.trim();
}
