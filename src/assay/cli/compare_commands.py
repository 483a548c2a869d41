"""``assay compare A B`` and ``assay leaderboard EVAL``: two evaluations (stored, or
predictions files) compared with paired statistics and a CI gate, and every evaluation of a
dataset version ranked. ``cli.main`` mounts the commands; :mod:`assay.cli.compare` prints them."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from assay.cli.errors import handle_errors
from assay.cli.inputs import stored_id
from assay.cli.mlflow_cli import MlflowFlag, MlflowRun, mlflow_target, say_logged
from assay.cli.shared import (
    EVALUATION_ID,
    JSON_HELP,
    check_out_path,
    to_stdout,
    workspace,
    write_json,
)


@handle_errors
def compare(
    a: Annotated[
        str,
        typer.Argument(
            help="A, the baseline: a stored evaluation id (see `assay list`), or a predictions "
            "file (with --gt, or alone for predictions without annotations).",
            metavar="A",
        ),
    ],
    b: Annotated[
        str,
        typer.Argument(help="B, the candidate, on the same data: an id or a file.", metavar="B"),
    ],
    gt: Annotated[
        Path | None,
        typer.Option(
            "--gt",
            help="Ground truth for A and B given as predictions files: both are evaluated on it "
            "and compared (nothing is stored).",
        ),
    ] = None,
    fail_if_worse: Annotated[
        str | None,
        typer.Option(
            "--fail-if-worse",
            metavar="<metrics>",
            help="Exit 1 when B is significantly worse than A on one of these metrics, e.g. "
            "accuracy,macro_f1 or AP,AP50 (a CI gate; exit 0 otherwise). The metrics are one "
            "family: Holm's correction across them. With --margin: exit 1 unless B is shown "
            "non-inferior on each.",
        ),
    ] = None,
    margin: Annotated[
        float | None,
        typer.Option(
            "--margin",
            help="Non-inferiority / equivalence margin, in percentage points for metrics shown "
            "in points (accuracy, F1, precision, recall: --margin 0.5 is half a point) and in "
            "the metric's own units otherwise (mAP, AUC, log loss: 0.005). With "
            "--fail-if-worse the gate fails only when the worst plausible drop (the interval's "
            "bad-side bound at the gate's Holm level) exceeds it; the answer also says whether "
            "B is equivalent to A within ±margin (TOST). Applies to the --fail-if-worse "
            "metrics, else the primary metric (accuracy; mAP for detection).",
            min=0.0,
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Files: the threshold of both (default: the argmax; multi-label 0.5; "
            "stored: each its own)."
        ),
    ] = None,
    iou: Annotated[
        float | None, typer.Option(help="Detection files: IoU of P/R/F1 and of box agreement.")
    ] = None,
    score: Annotated[
        float | None,
        typer.Option(
            help="Detection files: minimum confidence of a box (default: each side's "
            "F1-optimal confidence)."
        ),
    ] = None,
    resamples: Annotated[
        int | None,
        typer.Option(
            help="Paired bootstrap resamples (default 1000; 200 for detection).",
            min=50,
            max=10_000,
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the resamples.")] = 0,
    no_labels: Annotated[
        bool,
        typer.Option(
            "--no-labels",
            help="Two stored ids: agreement only, their labels ignored (top-1 agreement, kappa, "
            "flips; detection: box agreement at --iou).",
        ),
    ] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help=JSON_HELP)] = None,
    md_out: Annotated[
        Path | None,
        typer.Option(
            "--md",
            help="Write a Markdown summary (verdicts, metrics, the gate's outcome) to this file, "
            "e.g. for a pull-request comment ('-': stdout).",
        ),
    ] = None,
    mlflow: MlflowFlag = False,
    mlflow_run: MlflowRun = None,
) -> None:
    """Compare B with A on the same data: metric differences B − A, each with an interval and
    p-value from one procedure (Tango's score interval and McNemar's test for accuracy; for the
    other classification rows the delta method's SE from every sample, DeLong's for ROC AUC;
    for detection the paired bootstrap over images; each with its z-test), verdicts
    Holm-adjusted across the headline rows, per-class rows with Holm's correction, and the
    samples (images) B fixed or broke. A and B are stored evaluations, or predictions files
    with --gt. Two predictions files without --gt are compared without
    annotations: agreement, the flip matrix and the samples that changed most."""
    from assay.cli.compare import (
        compare_files,
        gate,
        parse_gate,
        print_agreement,
        print_comparison,
    )
    from assay.cli.report import make_console
    from assay.errors import ParameterError

    metrics = parse_gate(fail_if_worse)
    check_out_path(json_out)
    check_out_path(md_out, "--md")
    to_mlflow, mlflow_run = mlflow_target(mlflow, mlflow_run)
    ids = _evaluation_ids(a, b) if gt is None else None
    if no_labels and ids is None:
        raise ParameterError("--no-labels compares two stored evaluations: give two ids, no --gt")
    if ids is not None and no_labels:
        from assay.service.agreement import agreement_stored

        result = agreement_stored(
            workspace(), ids[0], ids[1], iou=0.5 if iou is None else iou,
            score=0.0 if score is None else score,
        )  # fmt: skip
    elif ids is not None:
        from assay.service.comparisons import compare_stored

        result = compare_stored(
            workspace(), ids[0], ids[1], n=resamples, seed=seed, margin=margin,
            margin_metrics=metrics or None,
        )  # fmt: skip
    else:
        result = compare_files(
            gt, Path(a), Path(b), threshold=threshold, iou=iou, score=score, n=resamples,
            seed=seed, margin=margin, margin_metrics=metrics or None,
        )  # fmt: skip
    if "metrics" not in result:  # no annotations: agreement only
        if metrics or md_out is not None or to_mlflow:
            option = "--fail-if-worse" if metrics else "--md" if md_out is not None else "--mlflow"
            raise ParameterError(f"{option} needs annotations: give --gt, or stored ids")
        if json_out is not None:
            write_json(result, json_out)
        if not to_stdout(json_out):
            print_agreement(result, make_console())
        return
    failures = gate(result, metrics)
    if json_out is not None:
        rule = (
            "non-inferiority at the margin, Holm across the gate's metrics"
            if margin is not None
            else "significantly worse, Holm across the gate's metrics"
        )
        write_json(
            {**result, "gate": {"metrics": list(metrics), "failed": failures, "margin": margin,
                                "rule": rule if metrics else None}},
            json_out,
        )  # fmt: skip
    if md_out is not None:
        _write_markdown(result, metrics, failures, md_out)
    if to_mlflow:
        from assay.integrations.mlflow_log import log_comparison

        outcome = {"metrics": list(metrics), "failed": failures}
        say_logged(log_comparison({**result, "gate": outcome}, run_id=mlflow_run))
    if not to_stdout(json_out) and not to_stdout(md_out):
        print_comparison(result, make_console())
    for line in failures:
        print(f"Gate failed: {line}", file=sys.stderr)
    if failures:
        raise typer.Exit(code=1)


@handle_errors
def leaderboard(
    evaluation: Annotated[
        int,
        typer.Argument(
            help="Any evaluation of the dataset version to rank (see `assay list`).",
            metavar="EVAL",
            parser=EVALUATION_ID,
        ),
    ],
    metric: Annotated[
        str | None,
        typer.Option(help="Rank by this metric (default accuracy; AP for detection)."),
    ] = None,
    resamples: Annotated[
        int | None,
        typer.Option(
            help="Bootstrap resamples (default 1000; 200 for detection).", min=50, max=10_000
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the resamples.")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help=JSON_HELP)] = None,
) -> None:
    """Rank every evaluation of EVAL's dataset version by a metric, each with its 95% interval
    and the ranks it may hold, marking which are significantly worse than the best: one max-T
    bootstrap over all pairs (simultaneous: simulated boards of equal models were called worse
    on 5-7% of boards), and the winner's interval that accounts for its selection."""
    from assay.cli.compare import print_leaderboard
    from assay.cli.report import make_console
    from assay.service.comparisons import leaderboard_stored

    check_out_path(json_out)
    ws = workspace()
    record = ws.get_evaluation(evaluation)
    board = leaderboard_stored(ws, record.dataset_version.id, metric, n=resamples, seed=seed)
    if json_out is not None:
        write_json(board, json_out)
    if not to_stdout(json_out):
        print_leaderboard(board, make_console())


def _write_markdown(
    result: dict[str, object], metrics: tuple[str, ...], failures: list[str], out: Path
) -> None:
    """The comparison's Markdown summary, with the gate's outcome, to ``out`` ('-': stdout)."""
    from assay.cli.shared import write_atomically
    from assay.reports import comparison_data, render_markdown

    gate = {"metrics": list(metrics), "failed": failures}
    text = render_markdown(comparison_data({**result, "gate": gate}))
    if to_stdout(out):
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_atomically(out, text.encode("utf-8"), "Markdown summary")


def _evaluation_ids(a: str, b: str) -> tuple[int, int] | None:
    """Both arguments as stored evaluation ids, or None when both name existing files; a mix,
    or a word that is neither, is a usage error."""
    from assay.errors import InputError, ParameterError

    def as_id(text: str) -> int | None:
        t = text.strip().lstrip("#")
        if not (t.isascii() and t.isdigit()) or Path(text).exists():
            return None
        return stored_id("evaluation", t)

    ia, ib = as_id(a), as_id(b)
    if ia is not None and ib is not None:
        return ia, ib
    for text, parsed in ((a, ia), (b, ib)):
        if parsed is None and not Path(text).exists():
            raise InputError("neither a stored evaluation id nor an existing file", file=text)
    if (ia is None) != (ib is None):
        raise ParameterError("give two evaluation ids or two predictions files, not one of each")
    return None
