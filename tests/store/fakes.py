"""A tiny results class with the store's protocol, for store tests that need no evaluation code."""

from __future__ import annotations

from typing import Any

import numpy as np


class FakeResults:
    """Holds a score matrix and labels; ``summary`` reports their sizes and a mean."""

    def __init__(self, y_true: np.ndarray, y_score: np.ndarray, classes: list[str]) -> None:
        self.y_true = y_true
        self.y_score = y_score
        self.classes = classes

    @classmethod
    def random(cls, n: int = 50, c: int = 3, seed: int = 0) -> FakeResults:
        rng = np.random.default_rng(seed)
        return cls(rng.integers(0, c, n), rng.random((n, c)), [f"c{i}" for i in range(c)])

    def arrays(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        return {"y_true": self.y_true, "y_score": self.y_score}, {"classes": self.classes}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> FakeResults:
        return cls(arrays["y_true"], arrays["y_score"], list(meta["classes"]))

    def summary(self) -> dict[str, Any]:
        return {
            "n_samples": int(self.y_true.shape[0]),
            "n_classes": len(self.classes),
            "roc_auc_macro": float(self.y_score.mean()),
            "log_loss": float("nan"),
        }

    def to_json(self) -> dict[str, Any]:
        return {"summary": self.summary()}


FAKE_LOADERS = {"classification": FakeResults, "multilabel": FakeResults, "detection": FakeResults}
