// What each headline metric means and how Assay computes it (shown on hover). Keys are the keys
// of the summary answer (and of the intervals), e.g. macro_precision.
import { numberField } from "../../lib/fields";
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
    what: "Share of samples whose predicted class is the annotated class. With no threshold (the default) the prediction is the argmax: scikit-learn's accuracy_score.",
    how: "Correct predictions / all samples. With a threshold t > 0 (selective prediction) a sample whose top score is below t has no prediction (Below threshold) and counts as wrong here; coverage and the accuracy on the kept samples are shown beside it. Top-1 (argmax) accuracy ignores the threshold.",
    higherIsBetter: true,
    thresholdDependent: true,
  },
  macro_precision: {
    label: "Precision (macro)",
    what: "When the model predicts a class, how often it is right — averaged over classes, each class weighing the same.",
    how: "Per class TP / (TP + FP), then the unweighted mean over the classes labeled or predicted, as scikit-learn's classification_report: a class never predicted counts as 0 (zero_division=0).",
    higherIsBetter: true,
    thresholdDependent: true,
  },
  macro_recall: {
    label: "Recall (macro)",
    what: "Of the samples of a class, how many the model finds — averaged over classes.",
    how: "Per class TP / (TP + FN), then the unweighted mean over the classes labeled or predicted, as scikit-learn's classification_report: a class predicted but never labeled counts as 0.",
    higherIsBetter: true,
    thresholdDependent: true,
  },
  macro_f1: {
    label: "F1 (macro)",
    what: "Balance of precision and recall per class, averaged over classes.",
    how: "Per class 2·P·R / (P + R), then the unweighted mean over the classes labeled or predicted (scikit-learn's macro average).",
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
  coverage: {
    label: "Coverage",
    what: "Share of samples the model answers at this threshold; the rest (top score below it) are abstentions.",
    how: "Samples whose top score ≥ t / all samples. Accuracy on the kept samples (selective accuracy) and its complement, the risk, are shown with it; the risk–coverage curve shows every threshold at once.",
    higherIsBetter: true,
    thresholdDependent: true,
  },
  ece: {
    label: "Calibration (ECE)",
    what: "Whether a confidence of 80 % means right 80 % of the time. 0 is perfectly calibrated. Lower is better.",
    how: "Top-class confidences in 15 equal-width bins; the count-weighted mean of |accuracy − mean confidence| per bin.",
    higherIsBetter: false,
    thresholdDependent: false,
  },
};

export const MULTILABEL_METRICS: Record<string, MetricHelp> = {
  accuracy: {
    label: "Subset accuracy",
    what: "Share of samples whose predicted set of classes is exactly the annotated set, at the threshold.",
    how: "A class is predicted when its score is at or above the threshold, independently per class; a sample counts when every class is right.",
    higherIsBetter: true,
    thresholdDependent: true,
  },
  hamming_loss: {
    label: "Hamming loss",
    what: "Share of (sample, class) decisions that are wrong, at the threshold. Lower is better.",
    how: "Wrong class decisions / (samples × classes), as scikit-learn's hamming_loss.",
    higherIsBetter: false,
    thresholdDependent: true,
  },
};

export const TOPK_HELP: MetricHelp = {
  label: "Top-k accuracy",
  what: "Share of samples whose annotated class is among the k highest scores. Independent of the threshold.",
  how: "Rank of the annotated class ≤ k. A tie in scores goes to the class that comes first in the class order (as numpy's argmax).",
  higherIsBetter: true,
  thresholdDependent: false,
};

/** The highlight cards, by summary key. */
export const HIGHLIGHTS = [
  "accuracy",
  "macro_precision",
  "macro_recall",
  "macro_f1",
  "roc_auc_macro",
  "average_precision_macro",
  "log_loss",
  "ece",
] as const;

export const MULTILABEL_HIGHLIGHTS = [
  "accuracy",
  "hamming_loss",
  "macro_precision",
  "macro_recall",
  "macro_f1",
  "roc_auc_macro",
  "average_precision_macro",
] as const;

/** Which entry of summary.macro_over a macro card is averaged over. */
export const MACRO_OF: Record<string, string> = {
  macro_precision: "precision",
  macro_recall: "recall",
  macro_f1: "f1",
  roc_auc_macro: "roc_auc",
  average_precision_macro: "average_precision",
  AP: "AP",
};

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

/** "macro over 4 of 5 classes": how many classes a macro average is taken over. */
export function macroOverText(
  summary: { macro_over?: object | null; n_classes: number; never_predicted?: number; never_labeled?: number; zero_division?: number | null },
  key: string,
): string | null {
  const of = MACRO_OF[key];
  const n = of ? numberField(summary.macro_over, of) : null;
  if (n === undefined || n === null) return null;
  const base = `macro over ${n} of ${summary.n_classes} classes`;
  if (summary.zero_division !== 0) return base;
  if (key === "macro_precision" && summary.never_predicted) return `${base} · ${summary.never_predicted} never predicted: precision 0 for them`;
  if (key === "macro_recall" && summary.never_labeled) return `${base} · ${summary.never_labeled} never labeled: recall 0 for them`;
  return base;
}

/** A classification threshold in words: single-label's 0 is the argmax (no threshold). */
export function thresholdText(t: number, multilabel: boolean): string {
  return !multilabel && t === 0 ? "argmax" : `t = ${t.toFixed(2)}`;
}
