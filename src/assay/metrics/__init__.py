"""Pure metric kernels on arrays (numpy in, numpy or plain dicts out); no I/O.

Classification kernels are re-exported here; detection kernels live in their own modules.
"""

from assay.metrics.bootstrap import classification_replicates, replicate_auc_ap
from assay.metrics.calibration import (
    expected_calibration_error,
    reliability_bins,
    score_density,
)
from assay.metrics.classification import (
    accuracy_score,
    averages,
    averages_batch,
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
    pr_from_counts,
    precision_recall_curve,
    roc_auc_per_class,
    roc_curve,
    roc_from_counts,
    threshold_curves,
    threshold_from_counts,
)
from assay.metrics.stats import (
    bootstrap_indices,
    bootstrap_intervals,
    mean_std,
    percentile_intervals,
)

__all__ = [
    "accuracy_score",
    "average_precision_per_class",
    "averages",
    "averages_batch",
    "binary_clf_curve",
    "bootstrap_indices",
    "bootstrap_intervals",
    "brier_score_loss",
    "classification_replicates",
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
    "percentile_intervals",
    "pr_from_counts",
    "precision_recall_curve",
    "prf_from_counts",
    "reliability_bins",
    "replicate_auc_ap",
    "roc_auc_per_class",
    "roc_curve",
    "roc_from_counts",
    "row_statistics",
    "score_density",
    "threshold_curves",
    "threshold_from_counts",
    "top_k_accuracy_score",
]
