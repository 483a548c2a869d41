"""Pure metric kernels on arrays (numpy in, numpy or plain dicts out); no I/O.

Classification kernels are re-exported here; detection kernels live in their own modules.
"""

from assay.metrics.calibration import (
    expected_calibration_error,
    reliability_bins,
    score_density,
)
from assay.metrics.classification import (
    accuracy_score,
    averages,
    brier_score_loss,
    confusion_matrix,
    counts_at_threshold,
    log_loss,
    most_confused,
    multilabel_confusion_matrix,
    multilabel_counts,
    prf_from_counts,
    row_statistics,
    top_k_accuracy_score,
)
from assay.metrics.ranking import (
    average_precision_per_class,
    binary_clf_curve,
    group_positives,
    ovr_auc_ap,
    precision_recall_curve,
    roc_auc_per_class,
    roc_curve,
    threshold_curves,
)
from assay.metrics.stats import bootstrap_intervals, mean_std

__all__ = [
    "accuracy_score",
    "average_precision_per_class",
    "averages",
    "binary_clf_curve",
    "bootstrap_intervals",
    "brier_score_loss",
    "confusion_matrix",
    "counts_at_threshold",
    "expected_calibration_error",
    "group_positives",
    "log_loss",
    "mean_std",
    "most_confused",
    "multilabel_confusion_matrix",
    "multilabel_counts",
    "ovr_auc_ap",
    "precision_recall_curve",
    "prf_from_counts",
    "reliability_bins",
    "roc_auc_per_class",
    "roc_curve",
    "row_statistics",
    "score_density",
    "threshold_curves",
    "top_k_accuracy_score",
]
