"""Every endpoint fuzzed from the OpenAPI document (schemathesis, in-process over ASGI, on a seeded
workspace): no answer is a 5xx, and every answer conforms to the schema (errors included:
``{"detail": "one line"}``). Bounded examples per operation; derandomized when CI=true (or
ASSAY_FUZZ_SEED is set), so a CI failure replays."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from pathlib import Path

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from assay.server.app import create_app
from assay.server.config import Limits
from assay.server.jobs import JobTarget
from tests.server.conftest import build_workspace

MAX_EXAMPLES = int(os.environ.get("ASSAY_FUZZ_EXAMPLES", "30"))
DERANDOMIZE = os.environ.get("CI", "").lower() == "true" or "ASSAY_FUZZ_SEED" in os.environ


def _no_job(workspace: object, params: dict[str, object]) -> int | None:
    """The fuzz submits jobs for whatever paths it finds: none is run (this is not about
    evaluating, and a spawned process per example would take the whole budget)."""
    raise RuntimeError("not run under the fuzz")


def _fuzz_app() -> FastAPI:
    """The app under the fuzz, on its own seeded workspace (built when the module is collected:
    schemathesis reads the schema then; removed at exit)."""
    root = Path(tempfile.mkdtemp(prefix="assay-fuzz-"))
    seeded = build_workspace(root / "home", root / "data")
    target: JobTarget = _no_job
    app = create_app(
        seeded.home,
        data_roots=[root / "data"],
        allowed_hosts=[asgi.HOST],
        limits=Limits(job_queue=4, job_workers=1),
        job_target=target,
        static_dir=root / "no-static",
    )

    def cleanup() -> None:
        app.state.jobs.shutdown()
        app.state.workspace.close()
        shutil.rmtree(root, ignore_errors=True)

    atexit.register(cleanup)
    return app


logging.getLogger("assay.server").setLevel(logging.ERROR)  # no "UI missing" warning here
schema = schemathesis.openapi.from_asgi("/api/openapi.json", _fuzz_app())


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=DERANDOMIZE,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_endpoint(case: schemathesis.Case) -> None:
    case.call_and_validate(
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance]
    )
