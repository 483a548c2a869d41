"""Assay: evaluate classifiers and object detectors against a labeled test set.

>>> import assay
>>> res = assay.evaluate_classification([0, 1, 1], [[0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
>>> round(res.summary()["accuracy"], 3)
0.667
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "evaluate_classification", "evaluate_detections", "evaluate_files"]


def __getattr__(name: str) -> Any:  # lazy: `import assay` stays cheap for the CLI
    if name == "evaluate_classification":
        from assay.evaluation.classification import evaluate_classification

        return evaluate_classification
    if name == "evaluate_detections":
        from assay.evaluation.detection import evaluate_detections

        return evaluate_detections
    if name == "evaluate_files":
        from assay.evaluation.run import evaluate_files

        return evaluate_files
    raise AttributeError(f"module 'assay' has no attribute {name!r}")
