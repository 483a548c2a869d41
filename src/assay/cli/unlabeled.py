"""``assay evaluate --model M --gt UNLABELED``: a model run on a dataset without labels, stored
as a prediction run (its scores kept, no metrics; see :mod:`assay.service.unlabeled`).
``assay evaluate`` hands over here when ``--gt`` is ``dataset:ID`` of an unlabeled version or a
source without labels (a flat folder of images, a table without a ``label`` column, COCO
images without annotations)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assay.cli.shared import to_stdout, workspace, write_json


def unlabeled_target(gt: Path) -> Any:
    """The unlabeled dataset version ``gt`` names (registered when new), or None for a
    labeled one."""
    from assay.service.unlabeled import unlabeled_version_for

    if not str(gt).startswith("dataset:") and not Path(gt).exists():
        return None  # the labeled path says what is missing
    return unlabeled_version_for(workspace(), gt)


def evaluate_unlabeled(
    version: Any,
    model: str,
    *,
    batch: int,
    name: str | None,
    model_name: str | None,
    parent: int | None,
    options: Any,
    device: str | None,
    json_out: Path | None,
    refused: dict[str, bool],
    force: bool = False,
) -> None:
    """Run ``model`` over unlabeled dataset ``version`` with a progress bar, store the
    prediction run and say so in one line (with ``--json``: its id, dataset version and
    ``predictions_only``). Options that need labels (``refused``: flag -> given) are a
    one-line :class:`ParameterError` before anything runs. A prediction run of the same model
    version on the same dataset version already stored is shown, not run again (as a labeled
    evaluation of the same inputs is), unless ``force``; an interrupted run resumes from the
    batches it wrote."""
    from assay.cli.models import register, resolve_model
    from assay.cli.report import InferenceProgress, make_console
    from assay.errors import ParameterError
    from assay.service.unlabeled import run_predictions, stored_prediction_run

    for flag, given in refused.items():
        if given:
            raise ParameterError(
                f"{flag} needs labels; dataset version {version.id} has none "
                "(a prediction run stores scores only)"
            )
    ws = workspace()
    if Path(model).exists():
        record, _ = register(
            ws, Path(model), name=model_name, version=None, parent=parent, options=options
        )
    else:
        record = resolve_model(ws, model)
    found = None if force else stored_prediction_run(ws, record.id, version.id)
    if found is not None:
        stored = ws.get_evaluation(found)
    else:
        bar = InferenceProgress("Predicting (no labels)")
        with bar:
            stored = run_predictions(ws, record.id, version.id, batch=batch, name=name,
                                     progress=bar, device=device, force=force)  # fmt: skip
    if json_out is not None:
        write_json(
            {
                "id": stored.id,
                "predictions_only": True,
                "dataset_version": version.id,
                "model_version": record.id,
                "n_samples": stored.n_samples,
            },
            json_out,
        )
    if not to_stdout(json_out) and found is not None:
        make_console().print(
            f"Already stored as prediction run [bold]{stored.id}[/] (model version {record.id} on "
            f"dataset version {version.id}; --force runs it again)",
            soft_wrap=True,
        )
    elif not to_stdout(json_out):
        make_console().print(
            f"Stored as prediction run [bold]{stored.id}[/] (predictions only: dataset version "
            f"{version.id} has no labels, so no metrics; compare two runs with assay compare "
            f"A B --no-labels)",
            soft_wrap=True,
        )
