"""Store a run and run a model: the one way the CLI, the server's jobs and the demo do both.

:func:`save_run` records an evaluation of files (a :class:`~assay.evaluation.run.FileEvaluation`):
its dataset version, its model version and the evaluation, in one transaction.
:func:`run_model` runs a registered model over a dataset and :func:`store_model_run` stores it
(``assay evaluate --model``, the server's Calculate jobs, the demo).

A run streams its predictions batch by batch into a work folder under ``<home>/work/``. The
folder's name is a function of what determines the predictions (:func:`work_folder`): the model
version (its id and the hash of its files), the ground truth (its resolved path and its
content), the task it is read as, the media root, whether media may lie outside it, and the batch
size, and the device it runs on when that is not the CPU (a GPU's floating-point results can
differ from the CPU's in the last bits, so a run on one device never resumes another's
predictions; a CPU run names the folder it always named). So a run interrupted on one side (a server stopped mid-job, a Ctrl-C in the terminal)
resumes on the other from the batches already written: the server's job and
``assay evaluate --gt SOURCE --model NAME`` over a dataset version's source name the same folder.

>>> run = run_model(ws, 3, Path("gt.csv"))  # doctest: +SKIP
>>> record = store_model_run(ws, run, 3, name="baseline")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from assay.evaluation.model_run import Progress, evaluate_model
from assay.evaluation.run import FileEvaluation, infer_task
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

DEFAULT_BATCH = 32  # samples per batch of a model run, on every side


def work_folder(
    ws: Workspace,
    model_version_id: int,
    gt: Path,
    *,
    batch: int = DEFAULT_BATCH,
    task: str | None = None,
    images_root: Path | None = None,
    allow_outside: bool = False,
    content: str | None = None,
    device: str | None = None,
) -> Path:
    """``<home>/work/<key>``: where a model run streams its predictions. The key is a hash of
    what makes them, so the same inputs name the same folder whichever side (CLI, server job,
    demo) starts the run: the model version (id and files), the ground truth (resolved path and
    ``content``, its sha256 as :func:`~assay.store.artifacts.hash_path` gives it, hashed here
    when not given), the task it is read as (``task`` None: as
    :func:`~assay.evaluation.run.infer_task` reads it), the media root, ``allow_outside``, the
    batch size and ``device``, the resolved device name the model runs on
    (:attr:`assay.runners.devices.Device.name`; None or ``cpu``: left out of the key)."""
    from assay.runners.devices import device_key

    mv = ws.get_model_version(model_version_id)
    resolved = gt.resolve()
    if content is None:
        content = hash_path(resolved) if resolved.exists() else "missing"
    if task is None and resolved.exists():
        task = infer_task(resolved)
    root = str(images_root.resolve()) if images_root is not None else None
    digest = hashlib.sha256()
    parts: list[Any] = [mv.id, mv.hash, str(resolved), content, task, root, allow_outside, batch]
    key = device_key(device)
    if key is not None:
        parts.append(f"device={key}")
    for part in parts:
        digest.update(f"{part}\0".encode())
    return ws.home / "work" / digest.hexdigest()[:32]


def run_model(
    ws: Workspace,
    model_version_id: int,
    gt: Path,
    *,
    task: str | None = None,
    threshold: float | None = None,
    images_root: Path | None = None,
    allow_outside: bool = False,
    batch: int = DEFAULT_BATCH,
    progress: Progress | None = None,
    sandbox: Any = None,
    runner: Any = None,
    work: Path | None = None,
    device: str | None = None,
    ray: Any = None,
) -> FileEvaluation:
    """Run model version ``model_version_id`` over ground truth ``gt`` and evaluate it, resuming
    from the batches an interrupted run of the same inputs left in its :func:`work_folder`.

    ``runner``: the loaded runner when the caller has one (else it is loaded from the store,
    in a sandboxed worker where ``sandbox`` limits are given). The predictions file is
    ``pred_source`` of the answer; :func:`store_model_run` stores it and removes the folder.
    ``work``: the caller's :func:`work_folder` of the same inputs, when it has it already.
    ``device``: what the model runs on (:mod:`assay.runners.devices`; None: the CPU), when
    ``runner`` is not given. ``ray``: a :class:`~assay.runners.ray_run.RayOptions` to predict on
    a Ray cluster instead (its actors load the model on ``device``; the driver's ``runner``
    only describes the model and checks the inputs); the predictions and the answer are the
    same."""
    if runner is None:
        runner = ws.load_model_runner(
            model_version_id, sandbox=sandbox, device=None if ray is not None else device
        )
    if work is None:
        work = work_folder(
            ws,
            model_version_id,
            gt,
            batch=batch,
            task=task,
            images_root=images_root,
            allow_outside=allow_outside,
            device=run_device(runner, ray),
        )
    if ray is not None:
        from assay.runners.ray_run import ray_predictor

        runner = ray_predictor(runner, ray, work, progress=progress)
    return evaluate_model(
        gt,
        runner,
        task=task,
        threshold=threshold,
        images_root=images_root,
        allow_outside=allow_outside,
        batch_size=batch,
        work_dir=work,
        progress=progress,
    )


def run_device(runner: Any, ray: Any = None) -> str:
    """The device name a run's predictions are made on: the runner's, or with ``ray`` (a
    :class:`~assay.runners.ray_run.RayOptions`) the one its actors resolve."""
    if ray is not None:
        return str(ray.device_name)
    return str(getattr(runner.describe(), "device", "cpu"))


def store_model_run(
    ws: Workspace,
    run: FileEvaluation,
    model_version_id: int,
    *,
    batch: int = DEFAULT_BATCH,
    dataset: str | None = None,
    name: str | None = None,
    params: dict[str, Any] | None = None,
    request: dict[str, Any] | None = None,
    keep_work: bool = False,
) -> EvaluationRecord:
    """Store a :func:`run_model` answer as an evaluation of ``model_version_id`` (its
    predictions file kept with it) and remove its work folder unless ``keep_work`` (a caller that
    may still drop the evaluation removes the folder itself, :func:`remove_work`)."""
    record = save_run(
        ws,
        run,
        dataset=dataset,
        name=name,
        params={"batch": batch, **(params or {})},
        model_version_id=model_version_id,
        predictions_file=run.pred_source,
        request=request,
    )
    if not keep_work:
        remove_work(run)
    return record


def remove_work(run: FileEvaluation) -> None:
    """Remove the work folder a :func:`run_model` answer's predictions were written to."""
    shutil.rmtree(Path(run.pred_source).parent, ignore_errors=True)


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
