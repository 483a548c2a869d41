// Query keys of the evaluation pages (list, classification, detection): one factory per answer.
// Everything about evaluation `id` lies under ["evaluation", id], so removing that prefix drops it all.
import type { ConfusionQuery, CurveKind, OptimalMetric, SampleQuery, SliderParams } from "../../api/client";

export const evaluationKeys = {
  list: () => ["evaluations"] as const,
  detail: (id: number) => ["evaluation", id] as const,
  summary: (id: number, p: SliderParams) => ["evaluation", id, "summary", p] as const,
  /** the point maximising ``metric`` (detection: the confidence at IoU ``iou``) */
  optimal: (id: number, metric: OptimalMetric, iou?: number) => ["evaluation", id, "optimal", metric, iou ?? null] as const,
  labels: (id: number, p: SliderParams) => ["evaluation", id, "labels", p] as const,
  confusion: (id: number, p: ConfusionQuery) => ["evaluation", id, "confusion", p] as const,
  curve: (id: number, kind: CurveKind, p: { label?: string; iou?: number }) => ["evaluation", id, "curve", kind, p] as const,
  samples: (id: number, p: SampleQuery) => ["evaluation", id, "samples", p] as const,
  /** one sample's detail; its index is the key's 4th element (placeholder data keeps the same sample's) */
  sample: (id: number, index: number, p: SliderParams) => ["evaluation", id, "sample", index, p] as const,
};
