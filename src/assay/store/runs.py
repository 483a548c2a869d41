"""Store an evaluation of files: its dataset version, its model version and the evaluation itself.

The CLI, the server's jobs and the demo all record a :class:`~assay.evaluation.run.FileEvaluation`
the same way through :func:`save_run`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assay.evaluation.run import FileEvaluation
from assay.store.records import EvaluationRecord
from assay.store.workspace import Workspace


def _name_of(source: Path) -> str:
    return source.stem if source.is_file() else source.name


def save_run(
    ws: Workspace,
    run: FileEvaluation,
    *,
    dataset: str | None = None,
    model: str | None = None,
    name: str | None = None,
    parent_version_id: int | None = None,
    params: dict[str, Any] | None = None,
    model_version_id: int | None = None,
    predictions_file: Path | None = None,
) -> EvaluationRecord:
    """Register the ground truth as a dataset version (the same bytes, the same version), the
    predictions as a model version, and save the evaluation with ``gt`` / ``pred`` in its params:
    in one transaction, so a failure (an unknown ``parent_version_id``, a full disk) stores
    nothing at all.

    Names default to the files' names and "<model> on <dataset>". The dataset version records
    the run's media root (:attr:`FileEvaluation.media_root`).

    A model run names its registered ``model_version_id`` (no model version is made from the
    predictions; the params keep ``gt`` and ``model_version_id``) and passes the predictions it
    wrote as ``predictions_file``, stored with the evaluation.

    >>> record = save_run(Workspace(home), evaluate_files("gt.csv", "pred.csv"))  # doctest: +SKIP
    """
    if model_version_id is not None:
        run_params: dict[str, Any] = {
            "gt": str(run.gt_source),
            "model_version_id": model_version_id,
        }
    else:
        run_params = {"gt": str(run.gt_source), "pred": str(run.pred_source)}
    return ws.save_run(
        run.results,
        name=name,
        dataset=(
            dataset or _name_of(run.gt_source),
            run.task,
            run.gt_source,
            run.samples,
            run.media_root,
        ),
        model=None
        if model_version_id is not None
        else (model or _name_of(run.pred_source), parent_version_id, run.pred_source),
        params={**run_params, **(params or {})},
        model_version_id=model_version_id,
        predictions_file=predictions_file,
    )
