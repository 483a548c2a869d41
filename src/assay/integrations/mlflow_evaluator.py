"""The MLflow evaluator plugin "assay" (entry point ``mlflow.model_evaluator``):

    mlflow.models.evaluate(model, data, targets="label", model_type="classifier",
                           evaluators=["assay"])

gives Assay's metrics (the summary at the operating point, 95 % bootstrap intervals as
``<metric>_ci_low`` / ``_ci_high``, ``per_class/<class>/<metric>``) and logs them with the
artifacts ``assay_report.html`` (the standalone report) and ``assay_report.json`` to the run.

What the model (``model.predict(features)``) or the static ``predictions`` column gives:

- classification: a DataFrame of class scores (its columns are the classes), a 2-D array of
  scores (classes from ``evaluator_config["classes"]``, else 0..k-1), a column whose cells are
  score lists, or one label per row (hard labels: no ranking metrics);
- detection (``evaluator_config={"assay": {"task": "detection"}}``; MLflow wants a model_type,
  "classifier" does): one list of boxes per row (an image):
  ``{"bbox": [x, y, w, h], "label": str, "score": float}``; the targets column holds the
  ground truth boxes the same way (no score; ``"iscrowd": 1`` for a crowd region).

``evaluator_config`` (``{"assay": {...}}`` with a list of evaluators): ``classes``, ``task`` ("classification" default, "multilabel",
"detection"), ``threshold`` (classification), ``iou`` / ``score`` (detection), ``intervals``
(bootstrap resamples, default 200; 0 for none), ``report`` (False: no HTML artifact).

This module is the plugin MLflow loads, so it imports MLflow at its top; nothing else in Assay
imports it.
"""

from __future__ import annotations

import json
import os
import tempfile
from typing import Any

import numpy as np
from mlflow.entities import Metric
from mlflow.models.evaluation.artifacts import JsonEvaluationArtifact, TextEvaluationArtifact
from mlflow.models.evaluation.base import EvaluationResult, ModelEvaluator
from mlflow.tracking import MlflowClient

from assay.errors import InputError
from assay.evaluation.classification import evaluate_classification
from assay.evaluation.detection import evaluate_detections
from assay.evaluation.results import OperatingPoint, Results
from assay.integrations.mlflow_log import evaluation_metrics
from assay.reports import evaluation_data, render_html

TASKS = ("classification", "multilabel", "detection")


def _rows(values: Any) -> list[Any]:
    if hasattr(values, "tolist"):
        return list(values.tolist())
    return list(values)


def classification_results(targets: Any, output: Any, config: dict[str, Any]) -> Results:
    """Assay's results for labels ``targets`` and a classifier's ``output`` (see the module
    docstring for the shapes taken)."""
    classes = config.get("classes")
    multilabel = config.get("task") == "multilabel"
    threshold = config.get("threshold")
    y = _rows(targets)
    if hasattr(output, "columns") and getattr(output, "ndim", 1) == 2:  # a DataFrame of scores
        names = [str(c) for c in output.columns]
        return evaluate_classification(y, output.to_numpy(dtype=float), classes=classes or names,
                                       multilabel=multilabel, threshold=threshold)  # fmt: skip
    cells = _rows(output)
    if cells and isinstance(cells[0], list | tuple | np.ndarray):  # a score list per row
        scores = np.asarray([np.asarray(c, dtype=float) for c in cells])
        names = classes or [str(i) for i in range(scores.shape[1])]
        return evaluate_classification(y, scores, classes=names, multilabel=multilabel,
                                       threshold=threshold)  # fmt: skip
    # one label per row: hard labels, one-hot
    labels = [str(v) for v in cells]
    truth = [str(v) for v in y]
    names = classes or sorted(set(truth) | set(labels))
    index = {c: i for i, c in enumerate(names)}
    unknown = sorted({v for v in labels if v not in index})
    if unknown:
        raise InputError(f"predicted labels not among the classes: {', '.join(unknown[:5])}")
    onehot = np.zeros((len(labels), len(names)))
    onehot[np.arange(len(labels)), [index[v] for v in labels]] = 1.0
    return evaluate_classification(truth, onehot, classes=names, hard_labels=True)


def detection_results(targets: Any, output: Any, config: dict[str, Any]) -> Results:
    """Assay's results for per-image ground truth boxes ``targets`` and per-image predicted
    boxes ``output`` (lists of {bbox, label, score}), as COCO."""
    truth, found = _rows(targets), _rows(output)
    if len(truth) != len(found):
        raise InputError(f"{len(truth)} images of targets but {len(found)} of predictions")
    names = list(config.get("classes") or sorted(
        {str(b["label"]) for boxes in (*truth, *found) for b in boxes or []}))  # fmt: skip
    category = {c: i + 1 for i, c in enumerate(names)}
    images: list[dict[str, Any]] = []
    annotations: list[dict[str, Any]] = []
    detections: list[dict[str, Any]] = []
    for image_id, (gt_boxes, dt_boxes) in enumerate(zip(truth, found, strict=True), start=1):
        boxes = [*(gt_boxes or []), *(dt_boxes or [])]
        right = max((b["bbox"][0] + b["bbox"][2] for b in boxes), default=1)
        bottom = max((b["bbox"][1] + b["bbox"][3] for b in boxes), default=1)
        images.append({"id": image_id, "file_name": f"{image_id}", "width": int(np.ceil(right)) or 1,
                       "height": int(np.ceil(bottom)) or 1})  # fmt: skip
        for b in gt_boxes or []:
            x, y0, w, h = (float(v) for v in b["bbox"])
            annotations.append({"id": len(annotations) + 1, "image_id": image_id,
                                "category_id": category[str(b["label"])], "bbox": [x, y0, w, h],
                                "area": w * h, "iscrowd": int(b.get("iscrowd", 0))})  # fmt: skip
        for b in dt_boxes or []:
            detections.append({"image_id": image_id, "category_id": category[str(b["label"])],
                               "bbox": [float(v) for v in b["bbox"]], "score": float(b["score"])})  # fmt: skip
    gt = {"images": images, "annotations": annotations,
          "categories": [{"id": i, "name": c} for c, i in category.items()]}  # fmt: skip
    return evaluate_detections(gt, detections, iou=config.get("iou"), score=config.get("score"))


class AssayEvaluator(ModelEvaluator):  # type: ignore[misc]
    """Assay's metrics and report inside ``mlflow.models.evaluate``."""

    name = "assay"

    @classmethod
    def can_evaluate(cls, *, model_type: str | None, evaluator_config: dict[str, Any] | None,
                     **kwargs: Any) -> bool:  # fmt: skip
        config = evaluator_config or {}
        return model_type == "classifier" or config.get("task") in TASKS

    def evaluate(
        self,
        *,
        model_type: str | None,
        dataset: Any,
        run_id: str,
        evaluator_config: dict[str, Any] | None,
        model: Any = None,
        extra_metrics: Any = None,
        custom_artifacts: Any = None,
        predictions: Any = None,
        **kwargs: Any,
    ) -> EvaluationResult:
        config = dict(evaluator_config or {})
        task = config.get("task", "classification")
        if task not in TASKS:
            raise InputError(f"evaluator_config task: {task!r} is not one of {', '.join(TASKS)}")
        if model is not None:
            output = model.predict(dataset.features_data)
        elif dataset.predictions_data is not None:
            output = dataset.predictions_data
        else:
            raise InputError("give a model, or a dataset with a predictions column")
        targets = dataset.labels_data
        if task == "detection":
            results = detection_results(targets, output, config)
        else:
            results = classification_results(targets, output, config)
        at = results.point(OperatingPoint())
        n = int(config.get("intervals", 200))
        intervals = results.intervals(n=n, seed=0, at=at) if n > 0 else None
        data = evaluation_data(results, at, name=f"MLflow run {run_id}", intervals=intervals)
        metrics = evaluation_metrics(data["report"])
        client = MlflowClient()
        items = list(metrics.items())
        for i in range(0, len(items), 900):
            client.log_batch(run_id, metrics=[Metric(k, v, 0, 0) for k, v in items[i : i + 900]])
        artifacts: dict[str, Any] = {}
        run_uri = client.get_run(run_id).info.artifact_uri
        with tempfile.TemporaryDirectory(prefix="assay-mlflow-") as tmp:
            report_json = json.dumps(data["report"], indent=2)
            path = os.path.join(tmp, "assay_report.json")
            with open(path, "w", encoding="utf-8") as f:
                f.write(report_json)
            client.log_artifact(run_id, path)
            artifacts["assay_report_json"] = JsonEvaluationArtifact(
                uri=f"{run_uri}/assay_report.json", content=data["report"]
            )
            if config.get("report", True):
                html = render_html(data)
                path = os.path.join(tmp, "assay_report.html")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(html)
                client.log_artifact(run_id, path)
                artifacts["assay_report_html"] = TextEvaluationArtifact(
                    uri=f"{run_uri}/assay_report.html", content=html
                )
        return EvaluationResult(metrics=metrics, artifacts=artifacts, run_id=run_id)
