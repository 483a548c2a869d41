// Typed client over the REST API: paths and parameters from the generated OpenAPI schema
// (schema.d.ts, written by `npm run generate-api`), answers named by the aliases below.
import createClient from "openapi-fetch";
import type { paths } from "./schema";

export const client = createClient<paths>({ baseUrl: "" });

// ---------------------------------------------------------------- answers
// The shapes of src/assay/evaluation/results.py (module docstring), passed through by the server.
// TODO(schemas): alias components["schemas"][...] once the server's exact schemas land.

export type Task = "classification" | "multilabel" | "detection";
export type Num = number | null;

export interface Headline {
  metric: string | null;
  label: string | null;
  value: Num;
}

export interface EvaluationPublic {
  id: number;
  name: string;
  task: Task;
  status: "done" | "running" | "failed";
  created_at: string;
  dataset: { id: number; name: string; version_id: number; version: string; hash: string };
  model: { id: number; name: string; version_id: number; version: string; parent_version_id: number | null } | null;
  headline: Headline;
  n_samples: number;
  n_classes: number;
  params: Record<string, unknown>;
}

export interface Point {
  threshold: Num;
  iou: Num;
  score: Num;
}

export interface Interval {
  low: Num;
  high: Num;
}

export interface MacroOver {
  precision?: number | null;
  recall?: number | null;
  f1?: number | null;
  roc_auc?: number | null;
  average_precision?: number | null;
  AP?: number | null;
}

export interface ClassificationSummary {
  task: "classification" | "multilabel";
  threshold: number;
  n_samples: number;
  n_classes: number;
  accuracy: Num;
  top1_accuracy: Num;
  top_k: { k: number; value: Num }[];
  hamming_loss: Num;
  macro_precision: Num;
  macro_recall: Num;
  macro_f1: Num;
  micro_precision: Num;
  micro_recall: Num;
  micro_f1: Num;
  weighted_precision: Num;
  weighted_recall: Num;
  weighted_f1: Num;
  roc_auc_macro: Num;
  average_precision_macro: Num;
  log_loss: Num;
  brier: Num;
  ece: Num;
  macro_over: MacroOver;
}

export interface DetectionSummary {
  task: "detection";
  iou: number;
  score: number;
  n_samples: number;
  n_classes: number;
  AP: Num;
  AP50: Num;
  AP75: Num;
  APs: Num;
  APm: Num;
  APl: Num;
  AR1: Num;
  AR10: Num;
  AR100: Num;
  ARs: Num;
  ARm: Num;
  ARl: Num;
  precision: Num;
  recall: Num;
  f1: Num;
  tp: number;
  fp: number;
  fn: number;
  macro_over: MacroOver;
}

export type Summary = ClassificationSummary | DetectionSummary;

export interface Optimal {
  task: Task;
  metric: string;
  value: Num;
  threshold?: Num;
  iou?: Num;
  score?: Num;
}

export interface EvaluationDetail extends EvaluationPublic {
  classes: string[];
  point: Point;
  summary: Summary;
  intervals: Record<string, Interval | null>;
  optimal: Optimal | null;
  folds: unknown;
  media: "image" | "text" | null;
  metadata_columns: string[];
  extra: Record<string, unknown> | null;
}

export interface ClassificationRow {
  label: string;
  total_labeled: number;
  total_predicted: number;
  tp: number;
  fp: number;
  fn: number;
  precision: Num;
  recall: Num;
  f1: Num;
  roc_auc: Num;
  average_precision: Num;
}

export interface DetectionRow {
  label: string;
  AP: Num;
  AP50: Num;
  AP75: Num;
  AR100: Num;
  APs: Num;
  APm: Num;
  APl: Num;
  total_labeled: number;
  total_predicted: number;
  tp: number;
  fp: number;
  fn: number;
  precision: Num;
  recall: Num;
  f1: Num;
}

export interface PerClass<Row> {
  task: Task;
  threshold?: Num;
  iou?: Num;
  score?: Num;
  items: Row[];
}

export interface Confusion {
  task: Task;
  threshold?: Num;
  iou?: Num;
  score?: Num;
  unit: "samples" | "boxes";
  rows: string[];
  columns: string[];
  counts: number[][];
  matrix: Num[][];
  normalize: string | null;
  top: number | null;
  n_classes: number;
  most_confused: { actual: string; predicted: string; count: number }[];
}

/** What the server adds to every sample item from the dataset. */
interface FromDataset {
  text?: string | null;
  media_url?: string | null;
  thumbnail_url?: string | null;
  metadata?: Record<string, unknown> | null;
}

export interface Box {
  kind: "gt" | "pred";
  label: string;
  bbox: number[];
  score: Num;
  status: "tp" | "fp" | "fn" | "misclassified" | "crowd";
  match: number | null;
  iou: Num;
}

export interface ClassificationItem extends FromDataset {
  index: number;
  id: string;
  actual: string | string[];
  predicted: string | string[] | null;
  confidence: Num;
  actual_confidence: Num;
  actual_rank: number | null;
  outcome: string | null;
}

export interface DetectionItem extends FromDataset {
  index: number;
  id: string;
  file_name: string;
  width: number;
  height: number;
  tp: number;
  fp: number;
  fn: number;
  boxes: Box[];
}

export type SampleItem = ClassificationItem | DetectionItem;

export interface Samples {
  task: Task;
  total: number;
  offset: number;
  limit: number;
  n_boxes: number | null;
  items: SampleItem[];
}

export type ClassificationSample = ClassificationItem & { scores: { label: string; score: number }[] };
export type DetectionSample = DetectionItem;

export const isDetectionItem = (s: SampleItem): s is DetectionItem => "boxes" in s || "file_name" in s;

export interface RocCurve { kind: "roc"; label: string; fpr: number[]; tpr: number[]; thresholds: Num[]; auc: Num }
export interface PrCurve { kind: "pr"; label: string; precision: number[]; recall: number[]; thresholds: Num[]; average_precision: Num }
export interface DetectionPrCurve { kind: "pr"; label: string; iou: number; precision: number[]; recall: number[]; scores: number[]; average_precision: Num }
export interface ThresholdCurves { kind: "threshold"; label: string; thresholds: number[]; precision: Num[]; recall: Num[]; tpr: Num[]; fpr: Num[] }
export interface CalibrationCurve {
  kind: "calibration";
  label: null;
  ece: Num;
  bins: { lower: number; upper: number; count: number; confidence: Num; accuracy: Num }[];
}
export interface DensityCurve { kind: "density"; label: string; edges: number[]; positives: number[]; negatives: number[] }
export type Curve = RocCurve | PrCurve | DetectionPrCurve | ThresholdCurves | CalibrationCurve | DensityCurve;
export type CurveKind = Curve["kind"];

// ---------------------------------------------------------------- calls

export class ApiError extends Error {
  constructor(
    message: string,
    public status: number | null,
  ) {
    super(message);
  }
}

type Answer = { data?: unknown; error?: unknown; response: Response };

async function unwrap<T>(call: Promise<Answer>): Promise<T> {
  let res: Answer;
  try {
    res = await call;
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError("Cannot reach the Assay server. Is `assay serve` running?", null);
  }
  if (res.error !== undefined || !res.response.ok) {
    const detail = (res.error as { detail?: unknown } | undefined)?.detail;
    const msg =
      typeof detail === "string"
        ? detail
        : Array.isArray(detail)
          ? detail.map((d) => (d as { msg?: string }).msg ?? String(d)).join("; ")
          : `${res.response.status} ${res.response.statusText}`;
    throw new ApiError(msg, res.response.status);
  }
  return res.data as T;
}

/** Drop undefined / empty values so the server sees only what was set. */
function q<T extends Record<string, unknown>>(params: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "" && v !== false) out[k] = v;
  }
  return out as T;
}

export interface SliderParams {
  threshold?: number;
  iou?: number;
  score?: number;
}

type QueryOf<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } } ? NonNullable<Q> : never;

/** The metrics GET /optimal accepts (detection: f1, precision, recall). */
export type OptimalMetric = NonNullable<QueryOf<"/api/evaluations/{evaluation_id}/optimal">["metric"]>;

/** The feed's query parameters, as the server's OpenAPI schema declares them. */
export type SampleQuery = QueryOf<"/api/evaluations/{evaluation_id}/samples">;

export const api = {
  health: (signal?: AbortSignal) => unwrap<{ status: string; version: string }>(client.GET("/api/health", { signal })),

  evaluations: (signal?: AbortSignal) => unwrap<{ items: EvaluationPublic[] }>(client.GET("/api/evaluations", { signal })),

  evaluation: (id: number, signal?: AbortSignal) =>
    unwrap<EvaluationDetail>(client.GET("/api/evaluations/{evaluation_id}", { params: { path: { evaluation_id: id } }, signal })),

  deleteEvaluation: (id: number) =>
    unwrap<unknown>(client.DELETE("/api/evaluations/{evaluation_id}", { params: { path: { evaluation_id: id } } })),

  summary: (id: number, p: SliderParams, signal?: AbortSignal) =>
    unwrap<Summary>(client.GET("/api/evaluations/{evaluation_id}/summary", { params: { path: { evaluation_id: id }, query: q({ ...p }) }, signal })),

  optimal: (id: number, p: { metric: OptimalMetric; iou?: number }, signal?: AbortSignal) =>
    unwrap<Optimal>(client.GET("/api/evaluations/{evaluation_id}/optimal", { params: { path: { evaluation_id: id }, query: q({ ...p }) }, signal })),

  labels: <Row = ClassificationRow | DetectionRow>(id: number, p: SliderParams, signal?: AbortSignal) =>
    unwrap<PerClass<Row>>(client.GET("/api/evaluations/{evaluation_id}/labels", { params: { path: { evaluation_id: id }, query: q({ ...p }) }, signal })),

  confusion: (id: number, p: SliderParams & { normalize?: "true" | "probability"; top?: number }, signal?: AbortSignal) =>
    unwrap<Confusion>(client.GET("/api/evaluations/{evaluation_id}/confusion", { params: { path: { evaluation_id: id }, query: q({ ...p }) }, signal })),

  curve: <T extends Curve = Curve>(id: number, kind: CurveKind, p: { label?: string; iou?: number; bins?: number }, signal?: AbortSignal) =>
    unwrap<T>(
      client.GET("/api/evaluations/{evaluation_id}/curves/{kind}", { params: { path: { evaluation_id: id, kind }, query: q({ ...p }) }, signal }),
    ),

  samples: (id: number, p: SampleQuery, signal?: AbortSignal) =>
    unwrap<Samples>(client.GET("/api/evaluations/{evaluation_id}/samples", { params: { path: { evaluation_id: id }, query: q({ ...p }) }, signal })),

  sample: <T extends ClassificationSample | DetectionSample>(id: number, index: number, p: SliderParams, signal?: AbortSignal) =>
    unwrap<T>(
      client.GET("/api/evaluations/{evaluation_id}/samples/{index}", { params: { path: { evaluation_id: id, index }, query: q({ ...p }) }, signal }),
    ),
};
