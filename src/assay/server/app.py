"""The FastAPI application: the REST API under ``/api`` and the built UI at ``/``.

>>> app = create_app(Path("/tmp/ws"))      # doctest: +SKIP
>>> # uvicorn.run(app, host="127.0.0.1", port=8000)
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from assay import __version__ as _version
from assay.caches import LRU
from assay.errors import InputError, NotFoundError, ParameterError, StorageError
from assay.runners.sandbox import ModelUnavailable, stop_all_workers
from assay.server.access import AccessMiddleware
from assay.server.access import router as session_router
from assay.server.config import Limits, ServerConfig, check_token, sandbox_limits
from assay.server.embedding_runs import EmbeddingRuns
from assay.server.frontend import mount_static
from assay.server.gates import RETRY_AFTER_SECONDS, Busy
from assay.server.heap import limit_arenas
from assay.server.jobs import JobFinished, JobRunner, JobTarget, QueueFull, evaluate_job
from assay.server.paths import resolve_roots
from assay.server.quality_runs import QualityRuns
from assay.server.responses import FastJSONResponse
from assay.server.routers import (
    agreement,
    compare,
    datasets,
    error_types,
    evaluations,
    health,
    jobs,
    metrics,
    models,
    predict,
    quality,
    reports,
    sample_table,
    samples,
    views,
)
from assay.server.routers import embeddings as embedding_routes
from assay.server.schemas import Problem
from assay.server.timing import ServerTimingMiddleware
from assay.store import Workspace
from assay.store.lock import hold_server_lock

logger = logging.getLogger("assay.server")

STATIC_DIR = Path(__file__).parent / "static"


def operation_id(route: APIRoute) -> str:
    """``<tag>-<function name>``, e.g. ``evaluations-list_evaluations``."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def create_app(
    home: Path | None = None,
    *,
    static_dir: Path | None = None,
    host: str = "127.0.0.1",
    token: str | None = None,
    require_token: bool | None = None,
    allowed_hosts: Sequence[str] = (),
    data_roots: Sequence[Path] = (),
    cors_origins: Sequence[str] = (),
    limits: Limits | None = None,
    job_target: JobTarget = evaluate_job,
    allow_code_models: bool = False,
    ray: Any = None,
) -> FastAPI:
    """The Assay server on the workspace at ``home`` ($ASSAY_HOME or ~/.assay when None).

    ``host`` is the address it listens on (its name is served, see ``allowed_hosts``);
    ``require_token`` defaults to "a token was given" (the CLI decides with
    :func:`assay.server.config.access_for`: a non-loopback host always gets one). Files named
    by POST requests must lie under the workspace or one of ``data_roots``. No CORS header is
    ever sent unless ``cors_origins`` names origins. Every model is loaded and run in a
    sandboxed worker (:mod:`assay.runners.sandbox`); where the kernel has no Landlock,
    code-carrying models are refused unless ``allow_code_models``. ``ray``: a
    :class:`~assay.runners.ray_run.RayOptions` model jobs send their batches to (``--ray``).
    """
    required = bool(token) if require_token is None else require_token
    if required and not token:  # checked before anything is created or locked
        raise ValueError("require_token without a token")
    if token:
        check_token(token)  # a short token is refused, whoever starts the server
    workspace = Workspace(home)
    hold_server_lock(workspace.home)  # one server per workspace: a second one is refused here
    limit_arenas()  # before the server's threads start: RSS bounded in a long run (heap.py)
    config = ServerConfig(
        host=host,
        token=token,
        require_token=required,
        allowed_hosts=tuple(allowed_hosts),
        data_roots=tuple(Path(p) for p in data_roots),
        cors_origins=tuple(cors_origins),
        limits=limits or Limits(),
        allow_code_models=allow_code_models,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        stop_all_workers()  # model workers: SIGTERM, then SIGKILL a second later
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
    lim = config.limits
    app.state.config = config
    app.state.roots = resolve_roots([workspace.home, *config.data_roots])
    app.state.workspace = workspace
    app.state.sample_lookups = LRU(lim.cached_sample_tables)
    app.state.memo = LRU(lim.cached_evaluations)
    app.state.media_roots = LRU(lim.cached_media_roots)
    app.state.sandbox = sandbox_limits(config)
    app.state.jobs = JobRunner(
        workspace,
        limits=lim,
        target=job_target,
        sandbox=sandbox_limits(config, job=True),
        ray=ray,
    )
    app.state.jobs.recover()  # model jobs a stopped server left resume; files jobs fail

    app.state.compare_memo = LRU(8)  # comparisons, each a few hundred KB at most
    app.state.quality = QualityRuns(workspace)  # data-quality analyses, in the background
    routers = (health, evaluations, views, samples, datasets, models, predict, jobs, compare,
               metrics, agreement, reports, sample_table, error_types)  # fmt: skip
    for router in routers:
        app.include_router(router.router, prefix="/api")
    app.include_router(quality.router, prefix="/api")
    app.state.embeddings = EmbeddingRuns(workspace, sandbox=app.state.sandbox)  # in the background
    app.include_router(embedding_routes.router, prefix="/api")
    app.include_router(session_router, prefix="/api")
    _add_error_handlers(app)
    _document_problems(app)
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
    app.add_middleware(AccessMiddleware, config=config)
    app.add_middleware(ServerTimingMiddleware)
    mount_static(app, static_dir or STATIC_DIR)
    return app


SHUTDOWN_GRACE_SECONDS = 4  # in-flight requests at SIGTERM are cancelled after this


def serve_app(app: FastAPI, *, host: str, port: int, log_level: str = "warning") -> None:
    """Run the server until SIGTERM / SIGINT, which stops it within seconds whatever its model
    workers do: they are sent SIGTERM at once (SIGKILL a second later), so requests waiting on
    them end; requests still running after ``SHUTDOWN_GRACE_SECONDS`` are cancelled."""
    import uvicorn

    from assay.runners.sandbox import terminate_all_workers

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            terminate_all_workers()
            super().handle_exit(sig, frame)

    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )
    Server(config).run()


PROBLEM_STATUSES = {
    "401": "access token required or wrong",
    "404": "not found",
    "413": "request body too large",
    "414": "query string too long",
    "421": "Host header not served here",
    "422": "invalid parameter or body",
}


def _document_problems(app: FastAPI) -> None:
    """The OpenAPI document says what every error answer is: ``{"detail": "one line"}`` (FastAPI
    would document its own list-shaped validation error, which this server never sends)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["Problem"] = Problem.model_json_schema()
        ref = {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                for status, description in PROBLEM_STATUSES.items():
                    answer = responses.setdefault(status, {"description": description})
                    answer["content"] = ref
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _problem(status: int, detail: str) -> FastJSONResponse:
    return FastJSONResponse({"detail": detail}, status_code=status)


# Errors whose message is the answer's one line, and their status (StorageError: the disk is full,
# nothing of the write remains).
_STATUS_OF: dict[type[Exception], int] = {
    NotFoundError: 404,
    ParameterError: 422,
    InputError: 422,
    StorageError: 507,
    QueueFull: 429,
    JobFinished: 409,
    ModelUnavailable: 503,  # a model's worker past its limits (stopped, replaced next time)
}


def _one_line(status: int) -> Callable[[Request, Exception], Awaitable[FastJSONResponse]]:
    async def handler(_: Request, exc: Exception) -> FastJSONResponse:
        return _problem(status, str(exc))

    return handler


def _add_error_handlers(app: FastAPI) -> None:
    for error, status in _STATUS_OF.items():
        app.add_exception_handler(error, _one_line(status))

    @app.exception_handler(Busy)
    async def busy(_: Request, exc: Busy) -> FastJSONResponse:
        return FastJSONResponse(
            {"detail": str(exc)},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> FastJSONResponse:
        return _problem(422, validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> FastJSONResponse:
        return _problem(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> FastJSONResponse:
        # never a traceback in the answer; the log has it
        logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return _problem(500, "internal error (logged by the server)")


def validation_message(exc: RequestValidationError) -> str:
    """FastAPI's validation errors as one line naming the parameter(s)."""
    parts = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ()) if p not in ("query", "path", "body")]
        name = ".".join(loc) or "request"
        message = str(error.get("msg", "invalid value"))
        if "input" in error and not isinstance(error["input"], dict | list):
            given = repr(error["input"])
            message += f", got {given if len(given) <= 80 else given[:60] + '...'}"
        parts.append(f"{name}: {message}")
    return "; ".join(parts) or "invalid request"
