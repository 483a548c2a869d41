"""Run a registered model over a dataset and store the evaluation: the one way the CLI
(``assay evaluate --model``), the server's Calculate jobs and the demo do it.

A run streams its predictions batch by batch into a work folder under ``<home>/work/``. The
folder's name is a function of what determines the predictions (:func:`work_key`): the model
version (its id and the hash of its files), the ground truth (its resolved path and its
content), the task it is read as, the media root, whether media may lie outside it, and the batch
size. So a run interrupted on one side (a server stopped mid-job, a Ctrl-C in the terminal)
resumes on the other from the batches already written: the server's job and
``assay evaluate --gt SOURCE --model NAME`` over a dataset version's source name the same folder.

>>> run = run_model(ws, 3, Path("gt.csv"))  # doctest: +SKIP
>>> record = store_model_run(ws, run, 3, name="baseline")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any

from assay.evaluation.model_run import Progress, evaluate_model
from assay.evaluation.run import FileEvaluation, infer_task
from assay.store.artifacts import hash_path
from assay.store.records import EvaluationRecord
from assay.store.runs import save_run
from assay.store.workspace import Workspace

DEFAULT_BATCH = 32  # samples per batch of a model run, on every side


def work_key(
    ws: Workspace,
    model_version_id: int,
    gt: Path,
    *,
    batch: int,
    task: str | None,
    images_root: Path | None,
    allow_outside: bool,
) -> str:
    """The name of a model run's work folder: the same inputs give the same name, whichever
    side (CLI, server job, demo) starts the run. ``task`` None is the task the ground truth is
    read as (:func:`~assay.evaluation.run.infer_task`)."""
    mv = ws.get_model_version(model_version_id)
    resolved = gt.resolve()
    content = hash_path(resolved) if resolved.exists() else "missing"
    if task is None and resolved.exists():
        task = infer_task(resolved)
    root = str(images_root.resolve()) if images_root is not None else None
    digest = hashlib.sha256()
    for part in (mv.id, mv.hash, str(resolved), content, task, root, allow_outside, batch):
        digest.update(f"{part}\0".encode())
    return digest.hexdigest()[:32]


def work_folder(
    ws: Workspace,
    model_version_id: int,
    gt: Path,
    *,
    batch: int = DEFAULT_BATCH,
    task: str | None = None,
    images_root: Path | None = None,
    allow_outside: bool = False,
) -> Path:
    """``<home>/work/<work_key>``: where a model run streams its predictions."""
    key = work_key(
        ws,
        model_version_id,
        gt,
        batch=batch,
        task=task,
        images_root=images_root,
        allow_outside=allow_outside,
    )
    return ws.home / "work" / key


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
) -> FileEvaluation:
    """Run model version ``model_version_id`` over ground truth ``gt`` and evaluate it, resuming
    from the batches an interrupted run of the same inputs left in its :func:`work_folder`.

    ``runner``: the loaded runner when the caller has one (else it is loaded from the store,
    in a sandboxed worker where ``sandbox`` limits are given). The predictions file is
    ``pred_source`` of the answer; :func:`store_model_run` stores it and removes the folder."""
    work = work_folder(
        ws,
        model_version_id,
        gt,
        batch=batch,
        task=task,
        images_root=images_root,
        allow_outside=allow_outside,
    )
    if runner is None:
        runner = ws.load_model_runner(model_version_id, sandbox=sandbox)
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
