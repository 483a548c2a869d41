"""``assay list / show / delete / export``: the stored evaluations, listed, shown at their own
operating point or another, deleted, and a model run's predictions handed back. ``cli.main``
mounts the commands."""

from __future__ import annotations

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from assay.cli.errors import handle_errors
from assay.cli.shared import (
    EVALUATION_ID,
    INTERVALS_HELP,
    JSON_HELP,
    TOP_K_HELP,
    check_out_path,
    operating_point,
    parse_top_k,
    report_of,
    to_stdout,
    with_top_k,
    workspace,
    write_atomically,
    write_json,
)


@handle_errors
def list_evaluations(
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Write the list as a JSON array to this file ('-': stdout)."),
    ] = None,
) -> None:
    """List the stored evaluations, newest first."""
    from assay.cli.datasets import with_version_ids
    from assay.cli.report import print_evaluations
    from assay.store import evaluation_public

    check_out_path(json_out)
    rows = [evaluation_public(r) for r in workspace().list_evaluations()]
    if json_out is not None:
        write_json(rows, json_out)
    if not to_stdout(json_out):
        print_evaluations(with_version_ids(rows))  # "pets v1 (#3)"


@handle_errors
def show(
    evaluation_id: Annotated[
        int,
        typer.Argument(help="The evaluation's id (see `assay list`).", parser=EVALUATION_ID),
    ],
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
    top_k: Annotated[str | None, typer.Option("--top-k", help=TOP_K_HELP, metavar="<ks>")] = None,
    errors: Annotated[
        bool,
        typer.Option(
            "--errors",
            help="Detection: TIDE's error types (count and dAP of each, overall and per class).",
        ),
    ] = False,
    label: Annotated[
        str | None,
        typer.Option(
            "--label",
            metavar="<name>",
            help="One label at the point: its precision, recall, F1, TP / FN / FP and the first "
            "samples (detection: images) behind each, as the web UI's label page shows it.",
        ),
    ] = None,
) -> None:
    """Show a stored evaluation, at its own operating point or another one."""
    from assay.cli.report import make_console, print_report, say
    from assay.service.comparisons import stored_point

    ks = parse_top_k(top_k)
    check_out_path(json_out)
    ws = workspace()
    record = ws.get_evaluation(evaluation_id)
    for note in (record.params or {}).get("notes") or []:  # the run's warnings, on stderr
        print(note, file=sys.stderr)
    given = operating_point(threshold, iou, score)  # the rest: the evaluation's stored point
    at = stored_point(ws, evaluation_id, asdict(given))
    results = ws.load_results(evaluation_id)
    if ks is not None:
        results = with_top_k(results, ks)
    report = report_of(results, at, intervals=intervals)
    if errors:
        report["error_types"] = error_types_of(results)
    if label is not None:
        from assay.cli.label_cli import label_of

        report["label"] = label_of(results, at, label)
    if json_out is not None:
        write_json({"id": evaluation_id, **report}, json_out)
    if not to_stdout(json_out):
        out = make_console()
        say([f"Evaluation {evaluation_id}", record.name], console=out, style="bold")
        print_report(report, console=out)
        if errors:
            from assay.cli.error_types_cli import print_error_types

            print_error_types(report["error_types"], out)
        if label is not None:
            from assay.cli.label_cli import print_label

            print_label(report["label"], out, detection=results.task == "detection")


def error_types_of(results: Any) -> dict[str, Any]:
    """TIDE's error types of a detection evaluation, per class; a ParameterError otherwise."""
    from assay.errors import ParameterError

    if results.task != "detection" or not hasattr(results, "error_types"):
        raise ParameterError(
            f"--errors: error types are for detection evaluations with their boxes, not this "
            f"{results.task} evaluation"
        )
    answer: dict[str, Any] = results.error_types(per_class=True)
    return answer


@handle_errors
def delete(
    evaluation_id: Annotated[
        int, typer.Argument(help="The evaluation's id.", parser=EVALUATION_ID)
    ],
) -> None:
    """Delete a stored evaluation and its arrays."""
    from rich.console import Console

    workspace().delete_evaluation(evaluation_id)
    Console().print(f"Deleted evaluation {evaluation_id}.")


@handle_errors
def export(
    evaluation_id: Annotated[
        int,
        typer.Argument(help="The evaluation's id (see `assay list`).", parser=EVALUATION_ID),
    ],
    predictions: Annotated[
        Path,
        typer.Option(
            "--predictions",
            help="Write the model run's predictions file here ('-': stdout).",
        ),
    ],
) -> None:
    """Hand back the predictions file a model run stored with its evaluation."""
    from assay.errors import InputError

    ws = workspace()
    record = ws.get_evaluation(evaluation_id)
    source = ws.predictions_file(evaluation_id)
    if source is None:
        given = (record.params or {}).get("pred")
        if given:
            raise InputError(
                f"evaluation {evaluation_id} was made from a predictions file you gave "
                "(Assay keeps no copy of it)",
                file=str(given),
            )
        raise InputError(f"evaluation {evaluation_id} has no stored predictions")
    if str(predictions) == "-":
        sys.stdout.buffer.write(source.read_bytes())
        sys.stdout.flush()
        return
    check_out_path(predictions, "--predictions")
    write_atomically(predictions, source.read_bytes(), "predictions")
    typer.echo(f"Wrote the predictions of evaluation {evaluation_id} to {predictions}")
