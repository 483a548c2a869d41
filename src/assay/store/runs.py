"""Store an evaluation of files: its dataset version, its model version and the evaluation itself.

The CLI, the server's jobs and the demo all record a :class:`~assay.evaluation.run.FileEvaluation`
the same way through :func:`save_run`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from assay.evaluation.run import FileEvaluation
from assay.store.artifacts import hash_path
from assay.store.datasets import (
    Kind,
    dataset_name,
    default_dataset_name,
    default_model_name,
    kind_of_samples,
    model_name,
    with_classes,
)
from assay.store.records import EvaluationRecord
from assay.store.workspace import Workspace


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
    request: dict[str, Any] | None = None,
) -> EvaluationRecord:
    """Register the ground truth as a dataset version (the same bytes, the same version), the
    predictions as a model version, and save the evaluation with ``gt`` / ``pred`` in its params:
    in one transaction, so a failure (an unknown ``parent_version_id``, a full disk) stores
    nothing at all.

    Names follow :mod:`assay.store.datasets`: a name given (``dataset``, ``model``) whose
    versions are of another kind (task, media, class set) is an :class:`InputError`; a default
    one is moved to ``name-2``... with a line added to ``run.notes``. The dataset version records
    the run's media root (:attr:`FileEvaluation.media_root`) and its class set.

    The params keep ``notes`` (the run's warnings, for the API and the UI) and, for
    :func:`find_stored`, ``request`` (the options that made the evaluation) and ``pred_hash``
    (the predictions file's sha256).

    A model run names its registered ``model_version_id`` (no model version is made from the
    predictions; the params keep ``gt`` and ``model_version_id``) and passes the predictions it
    wrote as ``predictions_file``, stored with the evaluation.

    >>> record = save_run(Workspace(home), evaluate_files("gt.csv", "pred.csv"))  # doctest: +SKIP
    """
    results = run.results
    gt_classes = _dataset_classes(run)
    samples = with_classes(run.samples, gt_classes) if gt_classes is not None else run.samples
    kind = kind_of_samples(samples, run.task)
    digest = hash_path(run.gt_source)
    dataset_name_, note = dataset_name(
        ws, dataset, default_dataset_name(run.gt_source), kind, digest=digest
    )
    notes = [note] if note else []
    run_params: dict[str, Any] = {"gt": str(run.gt_source)}
    model_tuple = None
    model_kind_ = Kind(run.task, kind.media, tuple(str(c) for c in results.classes))
    if model_version_id is not None:
        run_params["model_version_id"] = model_version_id
    else:
        run_params["pred"] = str(run.pred_source)
        run_params["pred_hash"] = hash_path(run.pred_source)
        chosen, model_note = model_name(ws, model, default_model_name(run.pred_source), model_kind_)
        if model_note:
            notes.append(model_note)
        model_tuple = (chosen, parent_version_id, run.pred_source)
    if request is not None:
        run_params["request"] = request
    run.notes.extend(notes)
    record = ws.save_run(
        results,
        name=name,
        dataset=(dataset_name_, run.task, run.gt_source, samples, run.media_root),
        model=model_tuple,
        params={**run_params, **(params or {}), "notes": list(run.notes)},
        model_version_id=model_version_id,
        predictions_file=predictions_file,
    )
    mv = record.model_version
    if model_version_id is None and mv is not None and mv.task is None and not mv.runnable:
        info = {"classes": list(model_kind_.classes or ()), "media": kind.media}
        with ws.catalog.write() as conn:  # what the predictions say the model is
            conn.execute(
                "UPDATE model_versions SET task = ?, info = ? WHERE id = ? AND task IS NULL",
                (run.task, json.dumps(info), mv.id),
            )
    return record


def _dataset_classes(run: FileEvaluation) -> list[str] | None:
    """The ground truth's class set: a detection set's categories; None for classification,
    whose label columns say it."""
    if run.task == "detection":
        return [str(c) for c in run.results.classes]
    return None


def find_stored(
    ws: Workspace,
    gt: Path,
    request: dict[str, Any],
    *,
    pred: Path | None = None,
    model_version_id: int | None = None,
) -> int | None:
    """The newest stored evaluation of the same ground truth (its bytes), the same predictions
    (the file's bytes) or model version, made with the same ``request``, or None."""
    gt = Path(gt).resolve()
    if not gt.exists() or (pred is not None and not Path(pred).is_file()):
        return None
    digest = hash_path(gt)
    pred_hash = hash_path(Path(pred)) if pred is not None else None
    rows = ws.catalog.query(
        "SELECT e.id, e.params, e.model_version_id FROM evaluations e "
        "JOIN dataset_versions dv ON dv.id = e.dataset_version_id "
        "WHERE dv.hash = ? AND e.status = 'done' ORDER BY e.id DESC",
        (digest,),
    )
    wanted = json.loads(json.dumps(request, default=str))
    for evaluation_id, params_json, mv in rows:
        params = json.loads(params_json or "{}")
        if params.get("request") != wanted:
            continue
        if pred_hash is not None and params.get("pred_hash") == pred_hash:
            return int(evaluation_id)
        if model_version_id is not None and mv == model_version_id and "pred" not in params:
            return int(evaluation_id)
    return None
