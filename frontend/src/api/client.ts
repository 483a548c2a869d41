// Typed client over the REST API (paths and parameters from the generated OpenAPI schema).
import createClient from "openapi-fetch";
import type { paths } from "./schema";
import type {
  ConfusionAnswer,
  CurveKind,
  EvaluationDetail,
  EvaluationPublic,
  LabelsAnswer,
  OptimalAnswer,
  SampleDetail,
  SamplesAnswer,
  SummaryAnswer,
} from "./types";

export const client = createClient<paths>({ baseUrl: "" });

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
    if (v !== undefined && v !== null && v !== "") out[k] = v;
  }
  return out as T;
}

export interface SliderParams {
  threshold?: number;
  iou?: number;
  score?: number;
}

/** The metrics GET /optimal accepts (detection: f1, precision, recall). */
export type OptimalMetric = NonNullable<
  NonNullable<paths["/api/evaluations/{evaluation_id}/optimal"]["get"]["parameters"]["query"]>["metric"]
>;

/** The feed's query parameters, as the server's OpenAPI schema declares them. */
export type SampleQuery = NonNullable<paths["/api/evaluations/{evaluation_id}/samples"]["get"]["parameters"]["query"]>;
export type SortKey = NonNullable<SampleQuery["sort"]>;

export const api = {
  health: (signal?: AbortSignal) =>
    unwrap<{ status: string; version: string }>(client.GET("/api/health", { signal })),

  evaluations: (signal?: AbortSignal) =>
    unwrap<{ items: EvaluationPublic[] }>(client.GET("/api/evaluations", { signal })),

  evaluation: (id: number, signal?: AbortSignal) =>
    unwrap<EvaluationDetail>(
      client.GET("/api/evaluations/{evaluation_id}", { params: { path: { evaluation_id: id } }, signal }),
    ),

  deleteEvaluation: (id: number) =>
    unwrap<unknown>(
      client.DELETE("/api/evaluations/{evaluation_id}", { params: { path: { evaluation_id: id } } }),
    ),

  summary: (id: number, p: SliderParams, signal?: AbortSignal) =>
    unwrap<SummaryAnswer>(
      client.GET("/api/evaluations/{evaluation_id}/summary", {
        params: { path: { evaluation_id: id }, query: q({ ...p }) },
        signal,
      }),
    ),

  optimal: (id: number, p: { metric: OptimalMetric; iou?: number }, signal?: AbortSignal) =>
    unwrap<OptimalAnswer>(
      client.GET("/api/evaluations/{evaluation_id}/optimal", {
        params: { path: { evaluation_id: id }, query: q({ ...p }) },
        signal,
      }),
    ),

  labels: (id: number, p: SliderParams, signal?: AbortSignal) =>
    unwrap<LabelsAnswer>(
      client.GET("/api/evaluations/{evaluation_id}/labels", {
        params: { path: { evaluation_id: id }, query: q({ ...p }) },
        signal,
      }),
    ),

  confusion: (
    id: number,
    p: SliderParams & { normalize?: "true" | "probability"; top?: number },
    signal?: AbortSignal,
  ) =>
    unwrap<ConfusionAnswer>(
      client.GET("/api/evaluations/{evaluation_id}/confusion", {
        params: { path: { evaluation_id: id }, query: q({ ...p }) },
        signal,
      }),
    ),

  curve: <T>(id: number, kind: CurveKind, p: { label?: string; iou?: number; bins?: number }, signal?: AbortSignal) =>
    unwrap<T>(
      client.GET("/api/evaluations/{evaluation_id}/curves/{kind}", {
        params: { path: { evaluation_id: id, kind }, query: q({ ...p }) },
        signal,
      }),
    ),

  samples: (id: number, p: SampleQuery, signal?: AbortSignal) =>
    unwrap<SamplesAnswer>(
      client.GET("/api/evaluations/{evaluation_id}/samples", {
        params: { path: { evaluation_id: id }, query: q({ ...p }) },
        signal,
      }),
    ),

  sample: (id: number, index: number, p: SliderParams, signal?: AbortSignal) =>
    unwrap<SampleDetail>(
      client.GET("/api/evaluations/{evaluation_id}/samples/{index}", {
        params: { path: { evaluation_id: id, index }, query: q({ ...p }) },
        signal,
      }),
    ),
};
