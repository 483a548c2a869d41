"""A tiny :class:`~assay.evaluation.results.Results` for store tests that need no evaluation code:
it answers what the store asks (arrays, summary, headline, sizes, task) and refuses the rest."""

from __future__ import annotations

from typing import Any

import numpy as np

from assay.evaluation.results import OperatingPoint, Results


class FakeResults(Results):
    """Holds a score matrix and labels; ``summary`` reports their sizes and a mean."""

    task = "classification"

    def __init__(self, y_true: np.ndarray, y_score: np.ndarray, classes: list[str]) -> None:
        self.y_true = y_true
        self.y_score = y_score
        self.classes = classes
        self.n_samples = int(y_true.shape[0])
        self.n_classes = len(classes)

    @classmethod
    def random(cls, n: int = 50, c: int = 3, seed: int = 0) -> FakeResults:
        rng = np.random.default_rng(seed)
        return cls(rng.integers(0, c, n), rng.random((n, c)), [f"c{i}" for i in range(c)])

    def arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {"y_true": self.y_true, "y_score": self.y_score}, {
            "task": self.task,
            "classes": self.classes,
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> FakeResults:
        return cls(arrays["y_true"], arrays["y_score"], list(meta["classes"]))

    threshold = 0.0

    def point(self, at: OperatingPoint | None = None) -> OperatingPoint:
        t = self.threshold if at is None or at.threshold is None else at.threshold
        return OperatingPoint(threshold=t)

    def default_point(self) -> dict[str, float | None]:
        return {"threshold": self.threshold}

    def set_default_point(self, at: OperatingPoint) -> None:
        if at.threshold is not None:
            self.threshold = at.threshold

    def point_rule(self, at: OperatingPoint | None = None) -> str:
        return "argmax" if self.point(at).threshold == 0 else "threshold"

    def summary(self, at: OperatingPoint | None = None) -> dict[str, Any]:
        return {
            "task": self.task,
            "n_samples": self.n_samples,
            "n_classes": self.n_classes,
            "roc_auc_macro": float(self.y_score.mean()),
            "log_loss": float("nan"),
        }

    def headline(self) -> dict[str, Any]:
        return {"metric": "roc_auc_macro", "label": "ROC AUC", "value": float(self.y_score.mean())}

    # what the store never asks
    def _unused(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("FakeResults answers only what the store asks")

    per_class = confusion = samples = sample = optimal = curve = _unused  # type: ignore[assignment]
    intervals = folds = report = _unused  # type: ignore[assignment]


def fake_loader(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> Results:
    """The store's loader for workspaces of fakes."""
    return FakeResults.from_arrays(arrays, meta)
