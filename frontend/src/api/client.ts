// Typed client over the REST API: paths and parameters from the generated OpenAPI schema
// (schema.d.ts, written by `npm run generate-api`), answers named by the aliases below.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";
import { authMiddleware, tokens } from "./auth";
import { detailText } from "./detail";

export { detailText };

export const client = createClient<paths>({ baseUrl: "" });

// Every call carries the stored token; a 401 (outside /api/session) forgets it and asks again.
client.use(authMiddleware(tokens));

// ---------------------------------------------------------------- answers
// The shapes of src/assay/evaluation/results.py, passed through by the server and described
// exactly by its response models: short names for the generated components.

type Schemas = components["schemas"];

export type Task = EvaluationPublic["task"];
export type Num = number | null;

export type EvaluationPublic = Schemas["EvaluationPublic"];
export type EvaluationDetail = Schemas["EvaluationDetail"];
export type Headline = Schemas["Headline"];
export type Point = Schemas["PointPublic"];
export type Interval = Schemas["Interval"];
export type ProtocolsTable = Schemas["ProtocolsTable"];

export type ClassificationSummary = Schemas["ClassificationSummary"];
export type DetectionSummary = Schemas["DetectionSummary"];
export type Summary = ClassificationSummary | DetectionSummary;

export type ClassificationOptimal = Schemas["ClassificationOptimal"];
export type DetectionOptimal = Schemas["DetectionOptimal"];
export type Optimal = ClassificationOptimal | DetectionOptimal;

export type ClassificationRow = Schemas["ClassificationLabelRow"];
export type DetectionRow = Schemas["DetectionLabelRow"];
export type ClassificationLabels = Schemas["ClassificationLabels"];
export type DetectionLabels = Schemas["DetectionLabels"];

export type Confusion = Schemas["ClassificationConfusion"] | Schemas["DetectionConfusion"];

export type Box = Schemas["Box"];
/** A single-label or multi-label feed item. */
export type ClassificationItem = Schemas["ClassificationItem"] | Schemas["MultilabelItem"];
export type DetectionItem = Schemas["DetectionItem"];
export type SampleItem = ClassificationItem | DetectionItem;
export type Samples = Schemas["ClassificationSamples"] | Schemas["MultilabelSamples"] | Schemas["DetectionSamples"];
export type ClassificationSample = Schemas["ClassificationSampleDetail"] | Schemas["MultilabelSampleDetail"];
export type DetectionSample = Schemas["DetectionSampleDetail"];

export const isDetectionItem = (s: SampleItem): s is DetectionItem => "boxes" in s;

export type RocCurve = Schemas["RocCurve"];
export type PrCurve = Schemas["PrCurve"];
export type DetectionPrCurve = Schemas["DetectionPrCurve"];
export type ThresholdCurves = Schemas["ThresholdCurve"];
export type CalibrationCurve = Schemas["CalibrationCurve"];
export type DensityCurve = Schemas["DensityCurve"];
export type RiskCoverageCurve = Schemas["RiskCoverageCurve"];
export type Curve = RocCurve | PrCurve | DetectionPrCurve | ThresholdCurves | CalibrationCurve | DensityCurve | RiskCoverageCurve;
export type CurveKind = Schemas["CurveKind"];

// ---------------------------------------------------------------- calls

export class ApiError extends Error {
  constructor(
    message: string,
    public status: number | null,
  ) {
    super(message);
  }
}

/** What openapi-fetch answers: the typed body of a 2xx, or the error body with the response. */
type Fetched<D> = { data: D; error?: never; response: Response } | { data?: never; error: unknown; response: Response };

async function fetched<D>(call: Promise<Fetched<D>>): Promise<Fetched<D>> {
  try {
    return await call;
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError("Cannot reach the Assay server. Is `assay serve` running?", null);
  }
}

function failure(error: unknown, response: Response): ApiError {
  return new ApiError(detailText(error) ?? `${response.status} ${response.statusText}`, response.status);
}

/** The body of a 2xx answer, typed by the schema's response model for that path and method. */
export async function unwrap<D>(call: Promise<Fetched<D>>): Promise<NonNullable<D>> {
  const res = await fetched(call);
  if (res.error !== undefined || !res.response.ok) throw failure(res.error, res.response);
  const data = res.data;
  if (data === undefined || data === null) throw new ApiError(`${res.response.status}: the server answered without a body`, res.response.status);
  return data;
}

/** A 2xx answer without a body (204 No Content). */
async function done<D>(call: Promise<Fetched<D>>): Promise<void> {
  const res = await fetched(call);
  if (res.error !== undefined || !res.response.ok) throw failure(res.error, res.response);
}

/** Drop empty values so the server sees only what was set (`false` too: send an explicit false beside it). */
function q<T extends Record<string, unknown>>(params: T): Partial<T> {
  const out: Partial<T> = { ...params };
  for (const k in out) {
    const v = out[k];
    if (v === undefined || v === null || v === "" || v === false) delete out[k];
  }
  return out;
}

export interface SliderParams {
  threshold?: number;
  iou?: number;
  score?: number;
}

export type QueryOf<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } } ? NonNullable<Q> : never;

/** The metrics GET /optimal accepts (detection: f1, precision, recall). */
export type OptimalMetric = NonNullable<QueryOf<"/api/evaluations/{evaluation_id}/optimal">["metric"]>;

/** The feed's query parameters, as the server's OpenAPI schema declares them. */
export type SampleQuery = QueryOf<"/api/evaluations/{evaluation_id}/samples">;

export type Session = Schemas["SessionPublic"];

export type ModelPublic = Schemas["ModelPublic"];
export type ModelVersionPublic = Schemas["ModelVersionPublic"];
export type DatasetPublic = Schemas["DatasetPublic"];
export type DatasetVersionPublic = Schemas["DatasetVersionPublic"];
export type DatasetCreated = Schemas["DatasetCreated"];
/** Register a ground truth on the server's disk (POST /api/datasets). */
export type DatasetCreate = Schemas["DatasetCreate"];
export type JobPublic = Schemas["JobPublic"];
export type ClassificationCompare = Schemas["ClassificationComparePublic"];
export type DetectionCompare = Schemas["DetectionComparePublic"];
export type ComparePublic = ClassificationCompare | DetectionCompare;
export type CompareSample = Schemas["CompareSample"];
export type CompareImage = Schemas["CompareImage"];
export type CompareMetric = Schemas["CompareMetric"];
export type LeaderboardPublic = Schemas["LeaderboardPublic"];
/** Where a comparison takes each evaluation (absent: its stored point), and whether to bootstrap. */
export type CompareQuery = Omit<QueryOf<"/api/compare">, "a" | "b">;
/** The confusion matrix's parameters: the point, and how cells are shown. */
export type ConfusionQuery = QueryOf<"/api/evaluations/{evaluation_id}/confusion">;

export const api = {
  /** Whether this server requires a token, and whether this request carries a valid one. */
  session: (signal?: AbortSignal) => unwrap(client.GET("/api/session", { signal })),
  /** Exchange the token for the session cookie that <img> media and thumbnails need (401: wrong). */
  signIn: (token: string) => unwrap(client.POST("/api/session", { body: { token } })),
  signOut: () => done(client.DELETE("/api/session")),

  health: (signal?: AbortSignal) => unwrap(client.GET("/api/health", { signal })),

  models: (signal?: AbortSignal) => unwrap(client.GET("/api/models", { signal })),
  datasets: (signal?: AbortSignal) => unwrap(client.GET("/api/datasets", { signal })),
  /** Register a file or folder under the server's data roots as a dataset version (read as `assay datasets add` reads it). */
  addDataset: (body: DatasetCreate) => unwrap(client.POST("/api/datasets", { body: { ...q({ ...body }), path: body.path } })),
  /** The folders a path given to the server must lie under. */
  dataRoots: (signal?: AbortSignal) => unwrap(client.GET("/api/datasets/roots", { signal })),
  jobs: (signal?: AbortSignal) => unwrap(client.GET("/api/jobs", { params: { query: { limit: 200 } }, signal })),
  /** Run a model version over a dataset version in a background job ("Calculate"). */
  calculate: (modelVersionId: number, datasetVersionId: number) =>
    unwrap(client.POST("/api/evaluations", { body: { model_version_id: modelVersionId, dataset_version_id: datasetVersionId, batch_size: 32 } })),
  cancelJob: (id: number) => unwrap(client.DELETE("/api/jobs/{job_id}", { params: { path: { job_id: id } } })),

  compare: (a: number, b: number, p: CompareQuery = {}, signal?: AbortSignal) =>
    unwrap(client.GET("/api/compare", { params: { query: { ...q({ ...p }), a, b, ...(p.intervals === false ? { intervals: false } : {}) } }, signal })),
  leaderboard: (datasetVersion: number, metric: string | undefined, signal?: AbortSignal) =>
    unwrap(client.GET("/api/leaderboard", { params: { query: { ...q({ metric }), dataset_version: datasetVersion } }, signal })),

  evaluations: (signal?: AbortSignal) => unwrap(client.GET("/api/evaluations", { signal })),

  evaluation: (id: number, signal?: AbortSignal) => unwrap(client.GET("/api/evaluations/{evaluation_id}", { params: { path: { evaluation_id: id } }, signal })),

  deleteEvaluation: (id: number) => done(client.DELETE("/api/evaluations/{evaluation_id}", { params: { path: { evaluation_id: id } } })),

  summary: (id: number, p: SliderParams, signal?: AbortSignal) =>
    unwrap(client.GET("/api/evaluations/{evaluation_id}/summary", { params: { path: { evaluation_id: id }, query: q({ ...p }) }, signal })),

  optimal: (id: number, p: { metric: OptimalMetric; iou?: number }, signal?: AbortSignal) =>
    unwrap(client.GET("/api/evaluations/{evaluation_id}/optimal", { params: { path: { evaluation_id: id }, query: q({ ...p }) }, signal })),

  labels: (id: number, p: SliderParams, signal?: AbortSignal) =>
    unwrap(client.GET("/api/evaluations/{evaluation_id}/labels", { params: { path: { evaluation_id: id }, query: q({ ...p }) }, signal })),

  confusion: (id: number, p: ConfusionQuery, signal?: AbortSignal) =>
    unwrap(client.GET("/api/evaluations/{evaluation_id}/confusion", { params: { path: { evaluation_id: id }, query: q({ ...p }) }, signal })),

  curve: (id: number, kind: CurveKind, p: { label?: string; iou?: number; bins?: number }, signal?: AbortSignal) =>
    unwrap(client.GET("/api/evaluations/{evaluation_id}/curves/{kind}", { params: { path: { evaluation_id: id, kind }, query: q({ ...p }) }, signal })),

  samples: (id: number, p: SampleQuery, signal?: AbortSignal) =>
    // descending=false is sent (q drops false values; the server's default is descending)
    unwrap(client.GET("/api/evaluations/{evaluation_id}/samples", { params: { path: { evaluation_id: id }, query: { ...q({ ...p }), ...(p.descending === false ? { descending: false } : {}) } }, signal })),

  sample: (id: number, index: number, p: SliderParams, signal?: AbortSignal) =>
    unwrap(client.GET("/api/evaluations/{evaluation_id}/samples/{index}", { params: { path: { evaluation_id: id, index }, query: q({ ...p }) }, signal })),

  // ---- data quality (short names in features/quality/types.ts): the analysis runs in the background, 202 until ready
  quality: (id: number, p: { train?: number; retry?: boolean }, signal?: AbortSignal) =>
    unwrap(client.GET("/api/evaluations/{evaluation_id}/quality", { params: { path: { evaluation_id: id }, query: q({ ...p }) }, signal })),
  qualityBins: (id: number, p: QueryOf<"/api/evaluations/{evaluation_id}/quality/bins">, signal?: AbortSignal) =>
    unwrap(client.GET("/api/evaluations/{evaluation_id}/quality/bins", { params: { path: { evaluation_id: id }, query: { ...q({ ...p }), property: p.property } }, signal })),
  // `descending` is sent as it is (q() would drop a false)
  qualityExplore: (id: number, p: QueryOf<"/api/evaluations/{evaluation_id}/quality/explore">, signal?: AbortSignal) =>
    unwrap(
      client.GET("/api/evaluations/{evaluation_id}/quality/explore", {
        params: { path: { evaluation_id: id }, query: { ...q({ ...p }), property: p.property, descending: p.descending ?? true } },
        signal,
      }),
    ),
  qualityLabelIssues: (id: number, p: { offset?: number; limit?: number }, signal?: AbortSignal) =>
    unwrap(client.GET("/api/evaluations/{evaluation_id}/quality/label-issues", { params: { path: { evaluation_id: id }, query: q({ ...p }) }, signal })),
};
