"""``--mlflow`` / ``--mlflow-run RUN_ID`` of evaluate, compare and analyze: where the result is
logged (:mod:`assay.integrations.mlflow_log`), checked before any work, and the line that says
where it went."""

from __future__ import annotations

import sys
from typing import Annotated

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
        help="Log into this existing MLflow run instead of a new one (implies --mlflow).",
    ),
]


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
