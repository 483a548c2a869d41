"""The words every screen, report and answer shares: special labels, outcomes, optimisable metrics,
curve kinds and sort keys. Defined once here; the REST schemas turn them into enums, so the web
client's generated types carry the same words.
"""

from __future__ import annotations

from typing import Final

# ---------------------------------------------------------------- special labels
# Single-label and multi-label classification: the column of "nothing predicted". Single-label: a
# sample whose top score is below the threshold. Multi-label (the multi-label confusion matrix of
# Heydarian et al., 2022): an annotated class missed by a sample with no wrong class predicted,
# so nothing to confuse it with.
BELOW_THRESHOLD: Final = "Below threshold"
# Multi-label: the row of "nothing annotated": a class wrongly predicted for a sample whose
# annotated classes are all predicted (a sample annotated with no class at all lands here).
NO_LABEL: Final = "No label"
# Detection: a ground-truth box no prediction matched (column) / a prediction matching no ground
# truth (row).
NOT_DETECTED: Final = "Not detected"
NOT_AN_OBJECT: Final = "Not an object"
SPECIAL_LABELS: Final = (BELOW_THRESHOLD, NO_LABEL, NOT_DETECTED, NOT_AN_OBJECT)

# ---------------------------------------------------------------- outcomes, in display order
OUTCOMES: Final = ("tp", "fp", "fn")

# ---------------------------------------------------------------- optimisable metrics
# The metric an "optimal" operating point maximises. f1 / precision / recall are macro averages
# for classification and overall (micro) values for detection.
CLASSIFICATION_OPTIMA: Final = ("f1", "accuracy", "precision", "recall", "micro_f1")
DETECTION_OPTIMA: Final = ("f1", "precision", "recall")
OPTIMA: Final = {
    "classification": CLASSIFICATION_OPTIMA,
    "multilabel": CLASSIFICATION_OPTIMA,
    "detection": DETECTION_OPTIMA,
}

# ---------------------------------------------------------------- curves
MULTILABEL_CURVES: Final = ("roc", "pr", "threshold", "calibration", "density")
# Single-label adds risk_coverage: the error rate among the kept samples (risk) against the share
# kept (coverage) as the threshold on the top score falls.
CLASSIFICATION_CURVES: Final = (*MULTILABEL_CURVES, "risk_coverage")
DETECTION_CURVES: Final = ("pr",)
CURVES: Final = {
    "classification": CLASSIFICATION_CURVES,
    "multilabel": MULTILABEL_CURVES,
    "detection": DETECTION_CURVES,
}

# ---------------------------------------------------------------- sample feed sort keys
CLASSIFICATION_SORTS: Final = ("confidence", "confusion", "index")
DETECTION_SORTS: Final = ("errors", "tp", "fp", "fn", "index")
SORTS: Final = {
    "classification": CLASSIFICATION_SORTS,
    "multilabel": CLASSIFICATION_SORTS,
    "detection": DETECTION_SORTS,
}

TASKS: Final = ("classification", "multilabel", "detection")

# Multi-label's default per-class threshold (single-label's default is the argmax: threshold 0).
DEFAULT_MULTILABEL_THRESHOLD: Final = 0.5

# ---------------------------------------------------------------- conventions, said where shown
# Top-k accuracy (single-label): how tied scores rank. One sentence, printed by the CLI's report.
TOP_K_TIE_RULE: Final = (
    "Top-k accuracy counts a sample when its annotated class is among its k highest scores; tied "
    "scores rank in class order (the first class ahead, as argmax breaks ties, so top-1 equals "
    "top-1 accuracy), where scikit-learn's top_k_accuracy_score puts the last class ahead."
)
# Default ks of top-k accuracy (those below the number of classes are kept).
DEFAULT_TOP_K: Final = (1, 3, 5)
