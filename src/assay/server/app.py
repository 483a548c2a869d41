"""The FastAPI application: the REST API under ``/api`` and the built UI at ``/``.

>>> app = create_app(Path("/tmp/ws"))      # doctest: +SKIP
>>> # uvicorn.run(app, host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from assay import __version__ as _version
from assay.errors import InputError, NotFoundError, ParameterError
from assay.server.frontend import mount_static
from assay.server.jobs import JobRunner
from assay.server.responses import FastJSONResponse
from assay.server.routers import datasets, evaluations, health, jobs, models, samples, views
from assay.server.timing import ServerTimingMiddleware
from assay.store import Workspace

logger = logging.getLogger("assay.server")

STATIC_DIR = Path(__file__).parent / "static"


def operation_id(route: APIRoute) -> str:
    """``<tag>-<function name>``, e.g. ``evaluations-list_evaluations``."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def create_app(home: Path | None = None, *, static_dir: Path | None = None) -> FastAPI:
    """The Assay server on the workspace at ``home`` ($ASSAY_HOME or ~/.assay when None)."""
    workspace = Workspace(home)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.jobs.shutdown()

    app = FastAPI(
        lifespan=lifespan,
        title="Assay",
        version=_version,
        summary="Evaluate classifiers and object detectors.",
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
        generate_unique_id_function=operation_id,
        default_response_class=FastJSONResponse,
    )
    app.state.workspace = workspace
    app.state.sample_lookups = {}
    app.state.memo = {}
    app.state.jobs = JobRunner(workspace)
    workspace.fail_unfinished_jobs()

    for router in (health, evaluations, views, samples, datasets, models, jobs):
        app.include_router(router.router, prefix="/api")
    _add_error_handlers(app)
    app.add_middleware(ServerTimingMiddleware)
    mount_static(app, static_dir or STATIC_DIR)
    return app


def _problem(status: int, detail: str) -> FastJSONResponse:
    return FastJSONResponse({"detail": detail}, status_code=status)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(NotFoundError)
    async def not_found(_: Request, exc: NotFoundError) -> FastJSONResponse:
        return _problem(404, str(exc))

    @app.exception_handler(ParameterError)
    async def bad_parameter(_: Request, exc: ParameterError) -> FastJSONResponse:
        return _problem(422, str(exc))

    @app.exception_handler(InputError)
    async def bad_input(_: Request, exc: InputError) -> FastJSONResponse:
        return _problem(422, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> FastJSONResponse:
        return _problem(422, validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> FastJSONResponse:
        return _problem(exc.status_code, str(exc.detail))


def validation_message(exc: RequestValidationError) -> str:
    """FastAPI's validation errors as one line naming the parameter(s)."""
    parts = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body")]
        name = ".".join(loc) or "request"
        message = str(error.get("msg", "invalid value"))
        if "input" in error and not isinstance(error["input"], dict | list):
            message += f", got {error['input']!r}"
        parts.append(f"{name}: {message}")
    return "; ".join(parts) or "invalid request"
