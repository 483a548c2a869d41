"""What-if: a registered model version run on images uploaded, or texts pasted, by the user.

``GET /api/models/{version_id}/predict`` says what the page needs before anything is sent (task,
media, classes, the threshold the slider starts at, the limits); ``POST`` runs the model:
``multipart/form-data`` with ``files`` (images) or ``text`` (one text per line), or JSON
``{"texts": [...]}``. The checks and bounds are :mod:`assay.server.predictor`'s; a bad item gets
its own ``error`` and the rest are predicted; a request with nothing to predict is a 422.

``threshold_default`` is the F1-optimal point (classification: the threshold; detection: the
confidence at IoU 0.5) of the newest evaluation of that model version, else 0.5 for
classification and the evaluation default (0) for detection.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from assay.errors import AssayError, InputError
from assay.evaluation.vocabulary import DEFAULT_MULTILABEL_THRESHOLD
from assay.server import answers
from assay.server.config import MAX_ID, Limits
from assay.server.deps import WorkspaceDep, get_evaluation
from assay.server.predict_schemas import PredictAnswer, PredictInfo, PredictTexts
from assay.server.predictor import (
    IMAGE_TYPES_TEXT,
    RETRY_AFTER_SECONDS,
    Busy,
    LoadedRunner,
    Predictor,
    Upload,
    safe_name,
)
from assay.server.responses import FastJSONResponse
from assay.server.schemas import Problem
from assay.store import ModelVersion, Workspace

logger = logging.getLogger("assay.server")

router = APIRouter(prefix="/models", tags=["models"])

VersionId = Annotated[int, PathParam(ge=0, le=MAX_ID, description="model version id")]

DEFAULT_SCORE = 0.0  # detection without an evaluation: every box drawn
MAX_DETAIL_CHARS = 600
FIELDS = ("files", "text")

_REQUEST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "properties": {
                    "files": {
                        "type": "array",
                        "items": {"type": "string", "format": "binary"},
                        "description": f"images ({IMAGE_TYPES_TEXT}, by content)",
                    },
                    "text": {"type": "string", "description": "texts, one per line"},
                },
            }
        },
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"texts": {"type": "array", "items": {"type": "string"}}},
                "required": ["texts"],
                "additionalProperties": False,
            }
        },
    },
}

_PROBLEM = {"model": Problem}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {**_PROBLEM, "description": "a malformed multipart body"},
    413: {**_PROBLEM, "description": "the request is larger than the upload limit"},
    422: {
        **_PROBLEM,
        "description": "not runnable, too many files or lines, or nothing valid to predict",
    },
    503: {**_PROBLEM, "description": "too many predictions running; see Retry-After"},
}


def predictor_of(state: Any) -> Predictor:
    """The predictor kept in an app's ``state``, made on first use."""
    predictor: Predictor | None = getattr(state, "predictor", None)
    if predictor is None:
        predictor = Predictor(state.workspace, state.config.limits, getattr(state, "sandbox", None))
        state.predictor = predictor
    return predictor


def _limits(request: Request) -> Limits:
    limits: Limits = request.app.state.config.limits
    return limits


def _model_ref(version: ModelVersion) -> dict[str, Any]:
    return {
        "id": version.model_id,
        "version_id": version.id,
        "name": version.model_name,
        "version": version.version,
    }


def _not_runnable(version: ModelVersion) -> str | None:
    """Why the what-if page cannot run this version (None: it can)."""
    if not version.runnable:
        return (
            f"model version {version.id} was registered from a predictions file; "
            "it has no model to run"
        )
    media = (version.info or {}).get("media")
    if media not in (None, "image", "text"):
        return f"model version {version.id} takes {media} inputs; what-if takes images or text"
    return None


async def _threshold_default(
    request: Request, workspace: Workspace, version_id: int, task: str | None
) -> tuple[float, dict[str, Any] | None]:
    """The slider's start: the stored operating point of the version's newest finished
    evaluation (the same point its evaluation page opens on), its F1-optimal point beside it."""
    detection = task == "detection"
    fallback = {"detection": DEFAULT_SCORE, "multilabel": DEFAULT_MULTILABEL_THRESHOLD}.get(
        task or "", 0.0
    )
    records = await run_in_threadpool(workspace.list_evaluations)
    record = next(
        (
            r
            for r in records  # newest first
            if r.model_version is not None
            and r.model_version.id == version_id
            and r.status == "done"
            and (r.task == "detection") == detection
        ),
        None,
    )
    if record is None:
        return fallback, None
    try:
        context = await get_evaluation(request, workspace, record.id)
        results = context.results
        point = await run_in_threadpool(results.point)
        rule = results.point_rule(point)
        best = answers.optimal(context, "f1", point)
    except (AssayError, OSError, ValueError, KeyError) as exc:
        logger.warning("no operating point from evaluation %s: %s", record.id, exc)
        return fallback, None
    value = point.score if detection else point.threshold
    if value is None:
        return fallback, None
    optimal = best.get("score" if detection else "threshold")
    source = {
        "evaluation_id": record.id,
        "evaluation_name": record.name,
        "rule": rule,
        "metric": str(best.get("metric", "f1")),
        "optimal": None if best.get("value") is None else optimal,
        "value": best.get("value"),
    }
    return float(value), source


@router.get("/{version_id}/predict")
async def predict_info(
    version_id: VersionId, request: Request, workspace: WorkspaceDep
) -> PredictInfo:
    """What the what-if page opens on: whether the version can run, its task, media and classes,
    the threshold the slider starts at, and what one request may hold."""
    version = await run_in_threadpool(workspace.get_model_version, version_id)
    info = version.info or {}
    reason = _not_runnable(version)
    task = version.task
    threshold, source = await _threshold_default(request, workspace, version.id, task)
    limits = _limits(request)
    media = info.get("media")
    return PredictInfo.model_validate(
        {
            "model": _model_ref(version),
            "runnable": reason is None,
            "reason": reason,
            "task": task if task in ("classification", "multilabel", "detection") else None,
            "media": media if media in ("image", "text") else None,
            "classes": [str(c) for c in info.get("classes") or ()],
            "threshold_default": threshold,
            "threshold_source": source,
            "limits": {
                "files": limits.upload_files,
                "file_bytes": limits.upload_file_bytes,
                "request_bytes": limits.upload_request_bytes,
                "text_lines": limits.predict_text_lines,
                "text_chars": limits.predict_text_chars,
                "max_image_pixels": limits.max_image_pixels,
                "image_types": ["PNG", "JPEG", "WebP", "GIF", "BMP", "TIFF"],
            },
        }
    )


@router.post(
    "/{version_id}/predict",
    response_model=PredictAnswer,
    responses=_RESPONSES,
    openapi_extra={"requestBody": _REQUEST_BODY},
)
async def predict(version_id: VersionId, request: Request, workspace: WorkspaceDep) -> Any:
    """Run the model version on uploaded images (``files``) or texts (``text``, one per line; or
    JSON ``{"texts": [...]}``): per item, the classes by score or the boxes, or its error."""
    version = await run_in_threadpool(workspace.get_model_version, version_id)
    reason = _not_runnable(version)
    if reason is not None:
        raise InputError(reason)
    predictor = predictor_of(request.app.state)
    try:
        with predictor.admitted():
            loaded, items = await _run(request, predictor, version)
    except Busy as exc:
        return FastJSONResponse(
            {"detail": str(exc)},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    if not any(item.get("error") is None for item in items):
        problems = "; ".join(f"{item['name']}: {item['error']}" for item in items)
        if len(problems) > MAX_DETAIL_CHARS:
            problems = problems[: MAX_DETAIL_CHARS - 1] + "…"
        raise InputError(f"nothing to predict: {problems}")
    threshold, source = await _threshold_default(request, workspace, version.id, loaded.task)
    answer = {
        "model": _model_ref(version),
        "task": loaded.task,
        "media": loaded.media,
        "classes": list(loaded.classes or ()),
        "threshold_default": threshold,
        "threshold_source": source,
        "items": items,
    }
    return FastJSONResponse(PredictAnswer.model_validate(answer).model_dump())


async def _run(
    request: Request, predictor: Predictor, version: ModelVersion
) -> tuple[LoadedRunner, list[dict[str, Any]]]:
    """Read the body (bounded), then predict in a worker thread."""
    limits = _limits(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        body = await _read_json(request, limits)
        lines = await run_in_threadpool(_json_texts, body, limits)  # parsed off the event loop
        return await run_in_threadpool(
            predictor.predict_texts, version.id, lines, _takes(version.id, "text")
        )
    if content_type not in ("multipart/form-data", "application/x-www-form-urlencoded"):
        raise InputError(
            "send multipart/form-data with image files in 'files' or texts in 'text', "
            'or JSON {"texts": [...]}'
        )
    form = await _read_form(request, limits)
    try:
        unknown = sorted(set(form.keys()) - set(FIELDS))
        if unknown:
            raise InputError(
                f"unknown field {safe_name(unknown[0], 0)!r}: expected 'files' or 'text'"
            )
        files = form.getlist("files")
        texts = [t for t in form.getlist("text") if isinstance(t, str)]
        if files and texts:
            raise InputError("send image files or text, not both")
        if files:
            uploads = [_upload(value, i) for i, value in enumerate(files)]
            return await run_in_threadpool(
                predictor.predict_images, version.id, uploads, _takes(version.id, "image")
            )
        lines = _text_lines("\n".join(texts), limits)
        return await run_in_threadpool(
            predictor.predict_texts, version.id, lines, _takes(version.id, "text")
        )
    finally:
        await form.close()


def json_bytes(limits: Limits) -> int:
    """The largest JSON body of texts: ``predict_text_lines`` texts of ``predict_text_chars``
    characters, each escaped (``\\uXXXX``, 6 bytes a character) and quoted, within the upload
    limit."""
    most = 6 * (limits.predict_text_chars + 4) * limits.predict_text_lines + 64
    return min(limits.upload_request_bytes, most)


async def _read_json(request: Request, limits: Limits) -> bytes:
    """A JSON body, counted as it streams: a 413 as soon as it passes :func:`json_bytes`."""
    limit = json_bytes(limits)
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPException(413, detail=f"a JSON body of texts larger than {limit} bytes")
            chunks.append(chunk)
    except ClientDisconnect:
        raise InputError("the upload was interrupted") from None
    return b"".join(chunks)


async def _read_form(request: Request, limits: Limits) -> FormData:
    text_bytes = 4 * (limits.predict_text_chars + 1) * limits.predict_text_lines
    try:
        return await request.form(
            max_files=limits.upload_files,
            max_fields=len(FIELDS) + 2,
            max_part_size=min(limits.upload_request_bytes, text_bytes),
        )
    except ClientDisconnect:
        raise InputError("the upload was interrupted") from None
    except HTTPException as exc:  # the multipart parser's own refusals
        detail = str(exc.detail)
        if detail.startswith("Too many files"):
            raise InputError(
                f"too many files: at most {limits.upload_files} in one request"
            ) from None
        if detail.startswith("Too many fields"):
            raise InputError("too many form fields: expected 'files' or 'text'") from None
        if detail.startswith("Part exceeded"):
            raise InputError("the text is too long for one request") from None
        raise InputError(f"malformed multipart body ({detail[:100]})") from None


def _upload(value: UploadFile | str, index: int) -> Upload:
    if isinstance(value, str):
        return Upload(name=f"file {index + 1}", error="not a file upload")
    return Upload(name=safe_name(value.filename, index), file=value.file, size=value.size)


def _takes(version_id: int, media: str) -> Any:
    """The check run once the runner is loaded: it must take ``media``."""

    def check(loaded: LoadedRunner) -> None:
        if loaded.media != media:
            wanted = "image files" if loaded.media == "image" else "texts"
            if loaded.media not in ("image", "text"):
                raise InputError(
                    f"model version {version_id} takes {loaded.media} inputs; "
                    "what-if takes images or text"
                )
            raise InputError(f"model version {version_id} takes {wanted}, not {media}s")

    return check


def _text_lines(text: str, limits: Limits) -> list[tuple[str, str]]:
    """Pasted text: one text per non-blank line, named by its line number."""
    lines = [
        (f"line {n}", line.strip())
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    if not lines:
        raise InputError("nothing to predict: send image files in 'files' or texts in 'text'")
    if len(lines) > limits.predict_text_lines:
        raise InputError(
            f"too many texts: at most {limits.predict_text_lines} lines in one request, "
            f"got {len(lines)}"
        )
    return lines


def _json_texts(body: bytes, limits: Limits) -> list[tuple[str, str]]:
    try:
        texts = PredictTexts.model_validate_json(body).texts
    except ValidationError as exc:
        errors = exc.errors()
        where = ".".join(str(p) for p in errors[0]["loc"]) if errors else ""
        message = errors[0]["msg"] if errors else "invalid JSON"
        raise InputError(f'{where or "body"}: {message}; expected {{"texts": [...]}}') from None
    if not texts:
        raise InputError("nothing to predict: 'texts' is empty")
    if len(texts) > limits.predict_text_lines:
        raise InputError(
            f"too many texts: at most {limits.predict_text_lines} in one request, got {len(texts)}"
        )
    return [(f"text {i + 1}", t) for i, t in enumerate(texts)]
