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
) -> EvaluationRecord:
    """Register the ground truth as a dataset version (the same bytes, the same version), the
    predictions as a model version, and save the evaluation with ``gt`` / ``pred`` in its params.

    Names default to the files' names and "<model> on <dataset>".

    >>> record = save_run(Workspace(home), evaluate_files("gt.csv", "pred.csv"))  # doctest: +SKIP
    """
    dv = ws.add_dataset_version(
        dataset or _name_of(run.gt_source),
        task=run.task,
        source=run.gt_source,
        samples=run.samples,
    )
    mv = ws.add_model_version(
        model or _name_of(run.pred_source),
        parent_version_id=parent_version_id,
        path=run.pred_source,
    )
    return ws.save_evaluation(
        run.results,
        task=run.task,
        name=name or f"{mv.model_name} on {dv.dataset_name}",
        dataset_version_id=dv.id,
        model_version_id=mv.id,
        params={"gt": str(run.gt_source), "pred": str(run.pred_source), **(params or {})},
    )
