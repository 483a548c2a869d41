// Shapes of the REST answers, as documented in docs/internals.md (REST table).
// The generated schema (schema.d.ts) types the paths and parameters; these types give the
// answers names the components can share, whatever response models the server declares.

export type Task = "classification" | "multilabel" | "detection";
export type Num = number | null;

export interface Headline {
  metric: string;
  label: string;
  value: Num;
}

export interface EvaluationPublic {
  id: number;
  name: string;
  task: Task;
  status: "done" | "running" | "failed" | string;
  created_at: string;
  dataset: { id: number; name: string; version_id: number; version: number | string; hash?: string } | null;
  model: { id: number; name: string; version_id: number; version: number | string; parent_version_id?: number | null } | null;
  headline: Headline | null;
  n_samples: number;
  n_classes: number;
  params?: Record<string, unknown>;
}

export interface Interval {
  low: Num;
  high: Num;
}

export interface EvaluationDetail extends EvaluationPublic {
  classes: string[];
  summary: Record<string, Num>;
  intervals: Record<string, Interval> | null;
  /** "pending" while the bootstrap intervals are computed in the background. */
  intervals_status?: string;
  optimal: { metric: string; threshold?: number; iou?: number; score?: number; value: Num } | null;
  threshold: number | null;
  media: "image" | "text" | null;
  per_fold?: unknown;
  coco?: Record<string, Num>;
  protocols?: Record<string, unknown>;
}

export interface LabelRow {
  label: string;
  total_labeled?: number;
  total_predicted?: number;
  tp: number;
  fp: number;
  fn: number;
  precision: Num;
  recall: Num;
  f1: Num;
  roc_auc?: Num;
  average_precision?: Num;
  // detection
  AP?: Num;
  AP50?: Num;
  AP75?: Num;
  AR100?: Num;
  APs?: Num;
  APm?: Num;
  APl?: Num;
}

export interface LabelsAnswer {
  threshold?: number;
  iou?: number;
  score?: number;
  items: LabelRow[];
}

/** GET /summary: classification summary(threshold); detection overall P / R / F1, TP / FP / FN. */
export interface SummaryAnswer {
  threshold?: number | null;
  iou?: number | null;
  score?: number | null;
  summary: Record<string, Num>;
}

/** GET /optimal: the threshold (detection: the confidence at `iou`) maximising `metric`. */
export interface OptimalAnswer {
  metric: string;
  value: Num;
  threshold?: number | null;
  iou?: number | null;
  score?: number | null;
}

export interface ConfusionAnswer {
  rows: string[];
  columns: string[];
  matrix: Num[][];
  normalize: string | null;
  top: number | null;
  n_classes: number;
  most_confused: { actual: string; predicted: string; count: number }[];
}

export interface Sample {
  index: number;
  id: string | number;
  actual?: string | string[] | null;
  predicted?: string | string[] | null;
  confidence?: Num;
  actual_confidence?: Num;
  actual_rank?: number | null;
  outcome?: string | null;
  text?: string | null;
  media_url?: string | null;
  thumbnail_url?: string | null;
  // detection image
  file_name?: string;
  width?: number;
  height?: number;
  tp?: number;
  fp?: number;
  fn?: number;
}

export interface SamplesAnswer {
  total: number;
  offset: number;
  limit: number;
  items: Sample[];
}

export interface Box {
  kind: "gt" | "pred";
  label: string;
  bbox: [number, number, number, number];
  score?: Num;
  status: "tp" | "fp" | "fn" | "crowd" | "misclassified" | string;
  match?: number | null;
  iou?: Num;
}

export interface SampleDetail extends Sample {
  scores?: { label: string; score: number }[];
  boxes?: Box[];
}

export interface RocCurve { label: string; fpr: number[]; tpr: number[]; thresholds: number[]; auc: Num }
export interface PrCurve {
  label: string;
  precision: number[];
  recall: number[];
  thresholds?: number[];
  scores?: number[];
  average_precision?: Num;
  ap?: Num;
  iou?: number;
}
export interface ThresholdCurves { label: string; thresholds: number[]; precision: Num[]; recall: Num[]; tpr: Num[]; fpr: Num[] }
export interface CalibrationCurve {
  ece: Num;
  bins: { lower: number; upper: number; count: number; confidence: Num; accuracy: Num }[];
}
export interface DensityCurve { label: string; edges: number[]; positives: number[]; negatives: number[] }
export type CurveKind = "roc" | "pr" | "threshold" | "calibration" | "density";
