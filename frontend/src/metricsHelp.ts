// What each headline metric means and how Assay computes it (shown on hover).
export interface MetricHelp {
  label: string;
  what: string;
  how: string;
  higherIsBetter: boolean;
  thresholdDependent: boolean;
}

export const METRICS: Record<string, MetricHelp> = {
  accuracy: {
    label: "Accuracy",
    what: "Share of samples whose predicted class is the annotated class.",
    how: "Correct predictions / all samples. A sample whose top score is below the threshold has no prediction and counts as wrong.",
    higherIsBetter: true,
    thresholdDependent: true,
  },
  precision_macro: {
    label: "Precision (macro)",
    what: "When the model predicts a class, how often it is right — averaged over classes, each class weighing the same.",
    how: "Per class TP / (TP + FP), then the unweighted mean over classes.",
    higherIsBetter: true,
    thresholdDependent: true,
  },
  recall_macro: {
    label: "Recall (macro)",
    what: "Of the samples of a class, how many the model finds — averaged over classes.",
    how: "Per class TP / (TP + FN), then the unweighted mean over classes.",
    higherIsBetter: true,
    thresholdDependent: true,
  },
  f1_macro: {
    label: "F1 (macro)",
    what: "Balance of precision and recall per class, averaged over classes.",
    how: "Per class 2·P·R / (P + R), then the unweighted mean over classes.",
    higherIsBetter: true,
    thresholdDependent: true,
  },
  roc_auc_macro: {
    label: "ROC AUC",
    what: "How well the scores rank the samples of a class above the others; 0.5 is chance, 1 is perfect. Independent of the threshold.",
    how: "One-vs-rest area under the ROC curve (TPR against FPR) per class from the raw scores, then the mean over classes.",
    higherIsBetter: true,
    thresholdDependent: false,
  },
  average_precision_macro: {
    label: "AuPRC",
    what: "Area under the precision–recall curve: precision averaged over every recall level. Sensitive to rare classes. Independent of the threshold.",
    how: "Average precision Σ (Rₙ − Rₙ₋₁)·Pₙ per class (one-vs-rest), then the mean over classes.",
    higherIsBetter: true,
    thresholdDependent: false,
  },
  log_loss: {
    label: "Log loss",
    what: "How much probability the model puts on the annotated class; punishes confident mistakes. Lower is better.",
    how: "Mean over samples of −log p(annotated class), probabilities clipped away from 0.",
    higherIsBetter: false,
    thresholdDependent: false,
  },
  ece: {
    label: "Calibration error (ECE)",
    what: "Whether a confidence of 80 % means right 80 % of the time. 0 is perfectly calibrated. Lower is better.",
    how: "Top-class confidences in 15 equal-width bins; the count-weighted mean of |accuracy − mean confidence| per bin.",
    higherIsBetter: false,
    thresholdDependent: false,
  },
};

export const HIGHLIGHTS = [
  "accuracy",
  "precision_macro",
  "recall_macro",
  "f1_macro",
  "roc_auc_macro",
  "average_precision_macro",
  "log_loss",
  "ece",
] as const;

export const COCO_HELP: Record<string, string> = {
  AP: "AP averaged over IoU 0.50:0.05:0.95 and over classes (COCO mAP).",
  AP50: "AP at IoU ≥ 0.50 (Pascal VOC style).",
  AP75: "AP at IoU ≥ 0.75 (strict localisation).",
  APs: "AP for small objects (area < 32²).",
  APm: "AP for medium objects (32² ≤ area < 96²).",
  APl: "AP for large objects (area ≥ 96²).",
  AR1: "Recall with 1 detection per image, averaged over IoU 0.50:0.95.",
  AR10: "Recall with 10 detections per image.",
  AR100: "Recall with 100 detections per image.",
  ARs: "AR100 for small objects.",
  ARm: "AR100 for medium objects.",
  ARl: "AR100 for large objects.",
};
