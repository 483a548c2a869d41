"""The ``assay`` command: thin shells over evaluation and store.

Heavy modules (numpy, numba, the store, the server) are imported inside the commands, so
``assay --help`` and ``assay list`` answer at once.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from assay.cli.errors import handle_errors

app = typer.Typer(
    name="assay",
    help="Evaluate classifiers and object detectors against a labeled test set.",
    rich_markup_mode="rich",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _workspace():  # noqa: ANN202 - lazy import keeps start-up fast
    from assay.store import Workspace

    return Workspace()


def _write_json(payload: dict[str, Any], out: Path) -> None:
    import orjson

    data = orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    if str(out) == "-":
        sys.stdout.buffer.write(data + b"\n")
        sys.stdout.flush()
    else:
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_bytes(data + b"\n")
        tmp.replace(out)


@app.command()
@handle_errors
def evaluate(
    gt: Annotated[
        Path,
        typer.Option(
            "--gt", help="Ground truth: CSV/JSONL/Parquet, ImageFolder, COCO, YOLO or VOC."
        ),
    ],
    pred: Annotated[
        Path, typer.Option("--pred", help="Predictions: a score table or COCO results JSON.")
    ],
    task: Annotated[
        str | None,
        typer.Option(help="classification, multilabel or detection (inferred when omitted)."),
    ] = None,
    threshold: Annotated[
        float, typer.Option(help="Confidence threshold for classification.")
    ] = 0.5,
    iou: Annotated[
        float, typer.Option(help="IoU for the detection confusion matrix and P/R/F1.")
    ] = 0.5,
    score: Annotated[
        float, typer.Option(help="Minimum detection score for the confusion matrix.")
    ] = 0.0,
    logits: Annotated[
        bool, typer.Option("--logits", help="Scores are raw logits: apply softmax / sigmoid.")
    ] = False,
    name: Annotated[str | None, typer.Option(help="A name for this evaluation.")] = None,
    model: Annotated[
        str | None, typer.Option(help="The model's name (default: the predictions file's name).")
    ] = None,
    parent: Annotated[
        int | None,
        typer.Option(
            help="Id of the parent model version (e.g. the FP32 parent of an INT8 model)."
        ),
    ] = None,
    images: Annotated[Path | None, typer.Option(help="Folder of the images (detection).")] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the JSON report here ('-' for stdout).")
    ] = None,
    intervals: Annotated[
        bool,
        typer.Option(
            "--intervals", help="Add 95 % bootstrap confidence intervals (a few seconds)."
        ),
    ] = False,
) -> None:
    """Evaluate predictions against ground truth, print the report and store it in the workspace."""
    from assay.cli.report import print_report, progress
    from assay.evaluation.run import evaluate_files

    if not 0.0 <= threshold <= 1.0:
        raise typer.BadParameter(f"{threshold} is outside [0, 1]", param_hint="--threshold")
    if not 0.0 < iou <= 1.0:
        raise typer.BadParameter(f"{iou} is outside (0, 1]", param_hint="--iou")
    with progress() as step:
        step("Reading and evaluating")
        run = evaluate_files(
            gt, pred, task=task, threshold=threshold, logits=logits, images_root=images
        )
        step("Storing in the workspace")
        from assay.store.runs import save_run

        params: dict[str, Any] = {"logits": logits}
        if run.task == "detection":
            params.update(iou=iou, score=score)
        else:
            params.update(threshold=threshold)
        record = save_run(
            _workspace(), run, model=model, name=name, parent_version_id=parent, params=params
        )
    report = _report(
        run.results, run.task, threshold=threshold, iou=iou, score=score, intervals=intervals
    )
    if json_out is not None:
        _write_json({"id": record.id, **report}, json_out)
    if json_out is None or str(json_out) != "-":
        print_report(report, evaluation_id=record.id)


def _report(
    results: Any, task: str, *, threshold: float, iou: float, score: float, intervals: bool = False
) -> dict[str, Any]:
    if task == "detection":
        report = results.to_json(iou=iou, score=score)
        if intervals:
            report["intervals"] = results.bootstrap()
        return report
    if intervals:
        results.bootstrap(threshold=threshold)  # kept by the results and added to its report
    return results.to_json(threshold=threshold)


@app.command("list")
@handle_errors
def list_(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False,
) -> None:
    """List the stored evaluations, newest first."""
    from assay.cli.report import print_evaluations
    from assay.store import evaluation_public

    rows = [evaluation_public(r) for r in _workspace().list_evaluations()]
    if as_json:
        _write_json(rows, Path("-"))  # type: ignore[arg-type]
    else:
        print_evaluations(rows)


@app.command()
@handle_errors
def show(
    evaluation_id: Annotated[int, typer.Argument(help="The evaluation's id (see `assay list`).")],
    threshold: Annotated[
        float | None, typer.Option(help="Show the report at this threshold.")
    ] = None,
    iou: Annotated[
        float | None, typer.Option(help="Detection: IoU for the confusion matrix.")
    ] = None,
    score: Annotated[float | None, typer.Option(help="Detection: minimum score.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON report.")] = False,
    intervals: Annotated[
        bool,
        typer.Option(
            "--intervals", help="Add 95 % bootstrap confidence intervals (a few seconds)."
        ),
    ] = False,
) -> None:
    """Show a stored evaluation, optionally at another threshold."""
    from assay.cli.report import print_report

    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise typer.BadParameter(f"{threshold} is outside [0, 1]", param_hint="--threshold")
    ws = _workspace()
    record = ws.get_evaluation(evaluation_id)
    results = ws.load_results(evaluation_id)
    params = record.params or {}
    report = _report(
        results,
        record.task,
        threshold=threshold if threshold is not None else params.get("threshold", 0.5),
        iou=iou if iou is not None else params.get("iou", 0.5),
        score=score if score is not None else params.get("score", 0.0),
        intervals=intervals,
    )
    if as_json:
        _write_json({"id": evaluation_id, **report}, Path("-"))
    else:
        print_report(report, evaluation_id=evaluation_id)


@app.command()
@handle_errors
def delete(
    evaluation_id: Annotated[int, typer.Argument(help="The evaluation's id.")],
) -> None:
    """Delete a stored evaluation and its arrays."""
    from rich.console import Console

    _workspace().delete_evaluation(evaluation_id)
    Console().print(f"Deleted evaluation {evaluation_id}.")


@app.command()
@handle_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Serve the REST API and the web UI."""
    import uvicorn

    from assay.server.app import create_app

    typer.echo(f"Assay is serving on http://{host}:{port}  (workspace: {_workspace().home})")
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")


def main() -> None:  # pragma: no cover - console entry point
    app()
