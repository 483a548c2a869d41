"""Log an evaluation, a comparison or a data-quality analysis to MLflow: parameters, metrics with
their 95 % intervals, per-class metrics, and artifacts (the standalone HTML report, the JSON, the
predictions file). The tracking server is ``MLFLOW_TRACKING_URI`` (MLflow's own default when
unset); a new run goes to the experiment ``MLFLOW_EXPERIMENT_NAME`` (default "assay").

Metric names (MLflow allows letters, digits and ``_ - . / space``; anything else in a class
name becomes ``_``):

- ``accuracy``, ``macro_f1``, ``AP`` ...: the summary at the evaluation's operating point;
- ``accuracy_ci_low`` / ``accuracy_ci_high``: its 95 % bootstrap interval;
- ``per_class/<class>/f1`` (and precision, recall, roc_auc, average_precision, AP ...);
- comparisons: ``a/<metric>``, ``b/<metric>``, ``delta/<metric>`` with ``delta/<metric>_ci_low``
  / ``_ci_high`` and ``p_holm/<metric>``;
- analyses: ``importance/<property>``, ``label_issues``, ``duplicate_groups``.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from assay.errors import InputError

EXPERIMENT_ENV = "MLFLOW_EXPERIMENT_NAME"
DEFAULT_EXPERIMENT = "assay"
PER_CLASS_KEYS = ("precision", "recall", "f1", "roc_auc", "average_precision", "AP", "AP50",
                  "AP75", "AR100", "tp", "fp", "fn", "total_labeled")  # fmt: skip
# summary numbers that are parameters (sizes, the operating point), not metrics
NOT_METRICS = frozenset({"threshold", "iou", "score", "n_samples", "n_classes", "zero_division"})
_BAD = re.compile(r"[^A-Za-z0-9_\-. /]")


def client() -> Any:
    """An ``MlflowClient`` on ``MLFLOW_TRACKING_URI``; one InputError line when MLflow is absent."""
    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise InputError("MLflow is not installed: pip install 'assay[mlflow]'") from None
    return MlflowClient()


def metric_name(*parts: str) -> str:
    """A metric name MLflow accepts, its parts joined by "/".

    >>> metric_name("per_class", "cat:tabby", "f1")
    'per_class/cat_tabby/f1'
    """
    return "/".join(_BAD.sub("_", p) for p in parts)


def check_run(run_id: str | None) -> None:
    """Before any work: ``run_id`` names a run of the tracking server (None passes), else one
    InputError line."""
    if run_id is None:
        return
    from mlflow.exceptions import MlflowException

    try:
        client().get_run(run_id)
    except MlflowException as exc:
        raise InputError(f"MLflow run {run_id!r}: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _numbers(prefix: tuple[str, ...], values: dict[str, Any]) -> dict[str, float]:
    """The finite numbers of ``values`` (bools and None left out) under ``prefix``."""
    out = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            out[metric_name(*prefix, key)] = float(value)
    return out


def evaluation_metrics(report: dict[str, Any]) -> dict[str, float]:
    """The metrics an evaluation logs (names in the module docstring) from its JSON report."""
    summary = report["summary"]
    metrics = _numbers((), {k: v for k, v in summary.items() if k not in NOT_METRICS})
    for item in summary.get("top_k") or []:
        metrics[f"top{item['k']}_accuracy"] = (
            float(item["value"]) if item["value"] is not None else math.nan
        )
    for key, ci in (report.get("intervals") or {}).items():
        if ci:
            metrics.update(_numbers((), {f"{key}_ci_low": ci["low"], f"{key}_ci_high": ci["high"]}))
    for row in report["per_class"]["items"]:
        picked = {k: row.get(k) for k in PER_CLASS_KEYS}
        metrics.update(_numbers(("per_class", str(row["label"])), picked))
    return {k: v for k, v in metrics.items() if math.isfinite(v)}


def evaluation_params(report: dict[str, Any], record: Any = None) -> dict[str, str]:
    """The parameters an evaluation logs: task, sizes, operating point, and with a stored
    ``record`` its id, name, dataset and model versions."""
    from assay import __version__

    summary = report["summary"]
    params: dict[str, Any] = {
        "assay_version": __version__,
        "task": summary["task"],
        "n_samples": summary["n_samples"],
        "n_classes": summary["n_classes"],
        "point_rule": summary.get("point_rule"),
    }
    for key in ("threshold", "iou", "score"):
        if report.get(key) is not None:
            params[key] = report[key]
    if record is not None:
        dv = record.dataset_version
        params.update(evaluation_id=record.id, evaluation_name=record.name,
                      dataset=f"{dv.dataset_name} {dv.version}")  # fmt: skip
        mv = getattr(record, "model_version", None)
        if mv is not None:
            params["model"] = (
                f"{getattr(mv, 'model_name', '')} {getattr(mv, 'version', '')}".strip()
            )
    return {k: str(v)[:500] for k, v in params.items() if v is not None}


def _start(run_id: str | None, name: str) -> tuple[Any, str, bool]:
    """(client, run id, whether this call created the run)."""
    c = client()
    if run_id is not None:
        return c, run_id, False
    experiment = os.environ.get(EXPERIMENT_ENV) or DEFAULT_EXPERIMENT
    found = c.get_experiment_by_name(experiment)
    experiment_id = found.experiment_id if found is not None else c.create_experiment(experiment)
    run = c.create_run(experiment_id, run_name=name[:250], tags={"assay": "true"})
    return c, run.info.run_id, True


def _log(
    run_id: str | None,
    name: str,
    *,
    params: dict[str, str],
    metrics: dict[str, float],
    files: dict[str, str | bytes | Path],
    tags: dict[str, str],
) -> str:
    """Log to ``run_id`` (None: a new run named ``name``, ended after); ``files``: artifact
    name -> text, bytes or a file to copy. The run id logged to."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.exceptions import MlflowException

    try:
        c, rid, created = _start(run_id, name)
        try:
            items = list(metrics.items())
            for i in range(0, max(len(items), 1), 900):  # MLflow takes 1000 entries per batch
                batch = [Metric(k, v, 0, 0) for k, v in items[i : i + 900]]
                c.log_batch(
                    rid,
                    metrics=batch,
                    params=[Param(k, v) for k, v in params.items()] if i == 0 else [],
                    tags=[RunTag(k, v) for k, v in tags.items()] if i == 0 else [],
                )
            with tempfile.TemporaryDirectory(prefix="assay-mlflow-") as tmp:
                for artifact, content in files.items():
                    if isinstance(content, Path):
                        c.log_artifact(rid, str(content))
                        continue
                    path = Path(tmp) / artifact
                    if isinstance(content, bytes):
                        path.write_bytes(content)
                    else:
                        path.write_text(content, encoding="utf-8")
                    c.log_artifact(rid, str(path))
        finally:
            if created:
                c.set_terminated(rid)
    except MlflowException as exc:
        raise InputError(f"MLflow: {_first_line(exc)}") from None
    return str(rid)


def log_evaluation(
    ws: Any,
    evaluation_id: int,
    *,
    run_id: str | None = None,
    report: dict[str, Any] | None = None,
) -> str:
    """Log stored evaluation ``evaluation_id`` to MLflow (``run_id``, or a new run named after
    it): params, metrics (with intervals when ``report`` carries them), per-class metrics, and
    the artifacts report.html, report.json and the predictions file Assay keeps (if any).
    ``report``: its JSON report as the caller printed it (default: at its stored point, with
    intervals). The run id."""
    from assay.service.reports import render, stored_report_data

    record = ws.get_evaluation(evaluation_id)
    data = stored_report_data(
        ws, evaluation_id, intervals=report is None or bool(report.get("intervals"))
    )
    if report is not None:
        data["report"]["intervals"] = report.get("intervals")
    else:
        report = data["report"]
    files: dict[str, str | bytes | Path] = {
        "report.html": render(data, "html"),
        "report.json": json.dumps({"id": evaluation_id, **report}, indent=2),
    }
    predictions = ws.predictions_file(evaluation_id)
    if predictions is not None:
        files["predictions"] = Path(predictions)
    elif (given := (record.params or {}).get("pred")) and Path(given).is_file():
        files["predictions"] = Path(given)
    return _log(
        run_id,
        record.name or f"evaluation {evaluation_id}",
        params=evaluation_params(report, record),
        metrics=evaluation_metrics(report),
        files=files,
        tags={"assay.evaluation_id": str(evaluation_id), "assay.kind": "evaluation"},
    )


def comparison_metrics(result: dict[str, Any]) -> dict[str, float]:
    """The metrics a comparison logs: A's, B's, the difference B − A with its interval, and
    the Holm-adjusted p-value of each headline row."""
    metrics: dict[str, float] = {}
    for m in result["metrics"]:
        key = m["metric"]
        metrics.update(_numbers(("a",), {key: m.get("a")}))
        metrics.update(_numbers(("b",), {key: m.get("b")}))
        metrics.update(_numbers(("delta",), {key: m.get("delta"), f"{key}_ci_low": m.get("low"),
                                             f"{key}_ci_high": m.get("high")}))  # fmt: skip
        metrics.update(_numbers(("p_holm",), {key: m.get("p_holm")}))
    return metrics


def log_comparison(result: dict[str, Any], *, run_id: str | None = None) -> str:
    """Log a comparison (the JSON answer of ``assay compare``, with annotations) to MLflow:
    metrics (names in the module docstring), the verdicts as a tag, and the artifacts
    comparison.json, comparison.html and comparison.md. The run id."""
    from assay.reports import comparison_data, render_html, render_markdown

    data = comparison_data(result)
    a, b = result.get("a") or {}, result.get("b") or {}
    params = {"task": result["task"], "n_samples": str(result.get("n_samples")),
              "a": str(a.get("id", a.get("name", "A"))), "b": str(b.get("id", b.get("name", "B"))),
              "n_resamples": str(result.get("n_resamples"))}  # fmt: skip
    gate = result.get("gate") or {}
    tags = {
        "assay.kind": "comparison",
        "assay.verdicts": " | ".join(result.get("verdicts") or [])[:4900],
    }
    if gate.get("metrics"):
        tags["assay.gate"] = "failed" if gate.get("failed") else "passed"
    return _log(
        run_id,
        data["name"],
        params=params,
        metrics=comparison_metrics(result),
        files={
            "comparison.json": json.dumps(result, indent=2, default=str),
            "comparison.html": render_html(data),
            "comparison.md": render_markdown(data),
        },  # fmt: skip
        tags=tags,
    )


def log_analysis(result: dict[str, Any], evaluation_id: int, *, run_id: str | None = None) -> str:
    """Log a data-quality analysis (the JSON answer of ``assay analyze``) to MLflow: each
    property's importance, the counts of likely label errors and near-duplicate groups, and the
    artifact analysis.json. The run id."""
    metrics = {metric_name("importance", str(r["property"])): float(r["importance"])
               for r in result.get("importance") or [] if isinstance(r.get("importance"), float)}  # fmt: skip
    metrics.update(_numbers((), {"label_issues": result.get("n_label_issues"),
                                 "duplicate_groups": (result.get("duplicates") or {}).get("n_groups")}))  # fmt: skip
    return _log(
        run_id,
        f"analysis of evaluation {evaluation_id}",
        params={"evaluation_id": str(evaluation_id), "task": str(result.get("task"))},
        metrics=metrics,
        files={"analysis.json": json.dumps(result, indent=2, default=str)},
        tags={"assay.kind": "analysis", "assay.evaluation_id": str(evaluation_id)},
    )
