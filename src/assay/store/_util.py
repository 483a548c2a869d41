"""Helpers of the workspace: JSON-safe values, the headline metric, samples tables."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa


def json_safe(value: Any) -> Any:
    """Plain JSON values: numpy scalars and arrays to Python, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def summarise(results: Any, task: str) -> dict[str, Any]:
    """The JSON summary kept in the catalog: ``results.summary()``, or for a detection results
    object without one, its COCO numbers (-1 = undefined -> None) with the sizes."""
    if hasattr(results, "summary"):
        summary: dict[str, Any] = json_safe(results.summary())
        return summary
    if task == "detection" and hasattr(results, "coco_stats"):
        stats = {k: (None if v == -1 else v) for k, v in json_safe(results.coco_stats()).items()}
        gt = getattr(results, "gt", None)
        stats["n_samples"] = int(getattr(gt, "n_images", 0) or 0)
        stats["n_classes"] = len(getattr(results, "classes", []))
        return stats
    raise TypeError(f"{type(results).__name__} has no summary()")


def _headline(task: str, summary: dict[str, Any]) -> tuple[str | None, float | None]:
    keys = ("AP", "map", "mAP") if task == "detection" else ("roc_auc_macro", "accuracy")
    for key in keys:
        value = json_safe(summary.get(key))
        if isinstance(value, int | float):
            return ("AP" if task == "detection" else key), float(value)
    return (keys[0] if task != "detection" else "AP"), None


def _normalise_samples(samples: pa.Table) -> pa.Table:
    """Samples with a string ``id`` (the row number if absent) and absolute ``path`` values."""
    if "id" not in samples.column_names:
        samples = samples.append_column("id", pa.array([str(i) for i in range(samples.num_rows)]))
    elif samples.schema.field("id").type != pa.string():
        ids = [None if v is None else str(v) for v in samples.column("id").to_pylist()]
        samples = samples.set_column(samples.schema.get_field_index("id"), "id", pa.array(ids))
    if "path" in samples.column_names:
        paths = [
            None if p is None else str(Path(p).expanduser().resolve())
            for p in samples.column("path").to_pylist()
        ]
        index = samples.schema.get_field_index("path")
        samples = samples.set_column(index, "path", pa.array(paths, pa.string()))
    return samples
