"""Job bodies for the job tests (importable by name: jobs run in spawned processes)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from assay.server.app import create_app
from assay.store import Workspace


def slow_job(workspace: Workspace, params: dict[str, Any]) -> int | None:
    """Sleeps ``name`` seconds; writes ``<model>.started`` first and ``<model>.finished`` last."""
    marker = Path(str(params["model"]))
    marker.with_suffix(".started").write_text(str(os.getpid()))
    time.sleep(float(params["name"]))
    marker.with_suffix(".finished").write_text("done")
    return None


def slow_app() -> FastAPI:
    """The app of the shutdown test (uvicorn --factory), on $ASSAY_TEST_HOME."""
    home = Path(os.environ["ASSAY_TEST_HOME"])
    return create_app(home, data_roots=[home.parent], job_target=slow_job)


def sleep_forever() -> None:
    """A stand-in for a job process a killed server left running."""
    time.sleep(600)


def full_disk_job(workspace: Workspace, params: dict[str, Any]) -> int | None:
    """Fails on a disk that is full from now on: the job process cannot record its failure."""
    import errno

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    workspace.update_job = full  # type: ignore[method-assign]
    Path(str(params["model"])).with_suffix(".started").write_text(str(os.getpid()))
    raise RuntimeError("the job failed")
