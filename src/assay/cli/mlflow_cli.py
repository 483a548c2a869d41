"""``--mlflow [RUN_ID]`` of evaluate, compare and analyze: where the result is logged
(:mod:`assay.integrations.mlflow_log`), checked before any work, and the line that says where it
went. ``--mlflow`` is a flag (a new run); ``--mlflow RUN_ID`` (an MLflow run id: 32 hex digits)
is read as ``--mlflow-run RUN_ID`` (that run), by :func:`mlflow_run_argument`."""

from __future__ import annotations

import re
import sys
from typing import Annotated, Any

import typer

MlflowFlag = Annotated[
    bool,
    typer.Option(
        "--mlflow",
        help="Log the result to MLflow (MLFLOW_TRACKING_URI; a new run in the experiment "
        "MLFLOW_EXPERIMENT_NAME, default 'assay'): parameters, metrics with their intervals, "
        "per-class metrics, the HTML report and the JSON. Needs assay[mlflow].",
    ),
]
MlflowRun = Annotated[
    str | None,
    typer.Option(
        "--mlflow-run",
        metavar="<run id>",
        help="Log into this existing MLflow run instead of a new one (implies --mlflow; "
        "`--mlflow RUN_ID` says the same).",
    ),
]


_RUN_ID = re.compile(r"[0-9a-f]{32}")


def mlflow_run_argument(base: type) -> type:
    """``base`` (a command class) reading ``--mlflow RUN_ID`` as ``--mlflow-run RUN_ID`` when
    the word after ``--mlflow`` is an MLflow run id (32 hex digits), so ``--mlflow`` takes an
    optional value; any other word after it is left as it is (an argument, an option)."""

    class MlflowRunArgument(base):  # type: ignore[misc, valid-type]
        def parse_args(self, ctx: Any, args: list[str]) -> Any:
            out = list(args)
            for i, token in enumerate(out[:-1]):
                if token == "--":
                    break
                if token == "--mlflow" and _RUN_ID.fullmatch(out[i + 1]):
                    out[i] = "--mlflow-run"
            return super().parse_args(ctx, out)

    return MlflowRunArgument


def mlflow_target(flag: bool, run_id: str | None) -> tuple[bool, str | None]:
    """(whether to log, the run to log into), the run checked on the tracking server before any
    work: a wrong id is one line and nothing is computed or stored."""
    if not flag and run_id is None:
        return False, None
    from assay.integrations.mlflow_log import check_run, client

    client()  # MLflow installed
    check_run(run_id)
    return True, run_id


def say_logged(run_id: str) -> None:
    """The one line (on stderr) naming the MLflow run logged to."""
    import mlflow

    print(f"Logged to MLflow run {run_id} ({mlflow.get_tracking_uri()})", file=sys.stderr)
