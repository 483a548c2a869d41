"""The ``assay`` command: thin shells over evaluation and store.

Heavy modules (numpy, numba, the store, the server) are imported inside the commands, so
``assay --help`` and ``assay list`` answer at once.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from assay.cli.errors import handle_errors


class _FlagsShowNoType:
    """Flags (``--intervals``, ``--help``) take no value: show no ``<bool>`` placeholder for them."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


class Command(_FlagsShowNoType, TyperCommand):
    pass


class Group(_FlagsShowNoType, TyperGroup):
    pass


app = typer.Typer(
    name="assay",
    cls=Group,
    help="Evaluate classifiers and object detectors against a labeled test set.",
    rich_markup_mode="rich",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from assay import __version__

        typer.echo(f"assay {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Evaluate classifiers and object detectors against a labeled test set."""


def _workspace():  # noqa: ANN202 - lazy import keeps start-up fast
    from assay.store import Workspace

    return Workspace()


JSON_HELP = "Write the JSON report to this file ('-': stdout, which then carries only the JSON)."


def _write_json(payload: Any, out: Path) -> None:
    import orjson

    data = orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    if str(out) == "-":
        sys.stdout.buffer.write(data + b"\n")
        sys.stdout.flush()
    else:
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_bytes(data + b"\n")
        tmp.replace(out)


def _to_stdout(json_out: Path | None) -> bool:
    return json_out is not None and str(json_out) == "-"


@app.command(cls=Command)
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
        float, typer.Option(help="Classification: the confidence threshold.")
    ] = 0.5,
    iou: Annotated[
        float, typer.Option(help="Detection: IoU for the confusion matrix and P/R/F1.")
    ] = 0.5,
    score: Annotated[
        float,
        typer.Option(help="Detection: minimum score for the confusion matrix and P/R/F1."),
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
    json_out: Annotated[Path | None, typer.Option("--json", help=JSON_HELP)] = None,
    intervals: Annotated[bool, typer.Option("--intervals", help=INTERVALS_HELP)] = False,
) -> None:
    """Evaluate predictions against ground truth, print the report and store it in the workspace."""
    from assay.cli.report import make_console, print_report, progress
    from assay.evaluation.run import evaluate_files
    from assay.store.runs import save_run

    _point(threshold, iou, score)
    with progress() as step:
        step("Reading and evaluating")
        run = evaluate_files(
            gt, pred, task=task, threshold=threshold, logits=logits, images_root=images
        )
        step("Storing in the workspace")
        params: dict[str, Any] = {"logits": logits}
        if run.task == "detection":
            params.update(iou=iou, score=score)
        else:
            params.update(threshold=threshold)
        record = save_run(
            _workspace(), run, model=model, name=name, parent_version_id=parent, params=params
        )
    out = make_console(stderr=_to_stdout(json_out))
    report = _report(
        run.results, run.task, threshold=threshold, iou=iou, score=score, intervals=intervals
    )
    if json_out is not None:
        _write_json({"id": record.id, **report}, json_out)
    if not _to_stdout(json_out):
        print_report(report, console=out)
        out.print(f"\nStored as evaluation [bold]{record.id}[/]  (assay show {record.id})")


INTERVALS_HELP = "Add 95 % bootstrap confidence intervals to the metrics."


def _point(threshold: float | None, iou: float | None, score: float | None) -> Any:
    """The operating point of the options; a bad value is a usage error naming its option."""
    from assay.errors import ParameterError
    from assay.evaluation.results import OperatingPoint

    try:
        return OperatingPoint(threshold=threshold, iou=iou, score=score)
    except ParameterError as exc:
        option, _, message = str(exc).partition(": ")
        raise typer.BadParameter(message, param_hint=f"--{option}") from None


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


@app.command("list", cls=Command)
@handle_errors
def list_(
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Write the list as a JSON array to this file ('-': stdout)."),
    ] = None,
) -> None:
    """List the stored evaluations, newest first."""
    from assay.cli.report import print_evaluations
    from assay.store import evaluation_public

    rows = [evaluation_public(r) for r in _workspace().list_evaluations()]
    if json_out is not None:
        _write_json(rows, json_out)
    if not _to_stdout(json_out):
        print_evaluations(rows)


@app.command(cls=Command)
@handle_errors
def show(
    evaluation_id: Annotated[int, typer.Argument(help="The evaluation's id (see `assay list`).")],
    threshold: Annotated[
        float | None,
        typer.Option(help="Classification: the threshold (default: the evaluation's)."),
    ] = None,
    iou: Annotated[
        float | None,
        typer.Option(help="Detection: IoU for the confusion matrix and P/R/F1."),
    ] = None,
    score: Annotated[
        float | None,
        typer.Option(help="Detection: minimum score for the confusion matrix and P/R/F1."),
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help=JSON_HELP)] = None,
    intervals: Annotated[bool, typer.Option("--intervals", help=INTERVALS_HELP)] = False,
) -> None:
    """Show a stored evaluation, at its own operating point or another one."""
    from assay.cli.report import make_console, print_report, say

    ws = _workspace()
    record = ws.get_evaluation(evaluation_id)
    stored = record.params or {}
    _point(threshold, iou, score)
    results = ws.load_results(evaluation_id)
    report = _report(
        results,
        record.task,
        threshold=threshold if threshold is not None else stored.get("threshold", 0.5),
        iou=iou if iou is not None else stored.get("iou", 0.5),
        score=score if score is not None else stored.get("score", 0.0),
        intervals=intervals,
    )
    if json_out is not None:
        _write_json({"id": evaluation_id, **report}, json_out)
    if not _to_stdout(json_out):
        out = make_console()
        say([f"Evaluation {evaluation_id}", record.name], console=out, style="bold")
        print_report(report, console=out)


@app.command(cls=Command)
@handle_errors
def delete(
    evaluation_id: Annotated[int, typer.Argument(help="The evaluation's id.")],
) -> None:
    """Delete a stored evaluation and its arrays."""
    from rich.console import Console

    _workspace().delete_evaluation(evaluation_id)
    Console().print(f"Deleted evaluation {evaluation_id}.")


@app.command(cls=Command)
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
