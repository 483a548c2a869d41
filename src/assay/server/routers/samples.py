"""Media of samples: only files registered with a dataset version are ever served.

The file path comes from the catalog (the dataset version's samples table), never from the request:
``sample_id`` is ``<dataset_version_id>:<index>`` and anything else is a 404; and only image files
(by suffix) are served, even when a samples table registers something else.
"""

from __future__ import annotations

import mimetypes
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, Response
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, StreamingResponse

from assay.caches import LRU
from assay.errors import InputError, NotFoundError
from assay.formats.media import image_type, is_inside
from assay.formats.remote import iter_url, remote_url
from assay.formats.tables import IMAGE_SUFFIXES
from assay.server.config import Limits
from assay.server.deps import WorkspaceDep
from assay.server.gates import gate_of
from assay.server.thumbnails import (
    REMOTE_MEDIA_BYTES,
    DecodeBudget,
    NotAnImage,
    cached,
    local_source,
    thumbnail,
)
from assay.store import Workspace

router = APIRouter(prefix="/samples", tags=["samples"])

SampleId = Annotated[str, PathParam(max_length=64, description="<dataset_version_id>:<index>")]

_SAMPLE_ID = re.compile(r"(\d{1,18}):(\d{1,18})")
CACHE_CONTROL = "public, max-age=86400"
MEDIA_SUFFIXES = frozenset(IMAGE_SUFFIXES)
_MEDIA_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"image/*": {}}, "description": "the file"},
    404: {"description": "no such sample, or it has no registered file"},
}


def media_root(workspace: Workspace, dataset_version_id: int) -> Path | None:
    """The folder every media file of a dataset version must lie in: the common parent of the
    registered paths (normalised, not resolved: a link among them does not widen it), resolved.
    None when the version registers no file."""
    table = workspace.samples_table(dataset_version_id)
    if "path" not in table.column_names:
        return None
    paths = [os.path.normpath(p) for p in table.column("path").drop_null().to_pylist() if p]
    if not paths:
        return None
    try:
        return Path(os.path.commonpath([os.path.dirname(p) for p in paths])).resolve()
    except ValueError:  # relative and absolute mixed: no common folder
        return None


MediaRoots = LRU[int, tuple[object, Path | None]]


def _roots(request: Request) -> MediaRoots:
    roots: MediaRoots = request.app.state.media_roots
    return roots


def _root_of(workspace: Workspace, dv_id: int, roots: MediaRoots) -> Path | None:
    """The media root of a dataset version, computed once per stored samples table (a later run
    that attaches media replaces the table, and the root is computed again)."""
    table = workspace.samples_table(dv_id)
    cached = roots.get(dv_id)
    if cached is not None and cached[0] is table:
        return cached[1]
    root = media_root(workspace, dv_id)
    roots[dv_id] = (table, root)
    return root


def _media_file(workspace: Workspace, sample_id: str, roots: MediaRoots) -> Path:
    match = _SAMPLE_ID.fullmatch(sample_id)
    if match is None:
        raise NotFoundError(
            f"sample {sample_id!r} not found (expected <dataset_version_id>:<index>)"
        )
    dv_id = int(match.group(1))
    path = workspace.media_path(dv_id, int(match.group(2)))
    if path is None:
        raise NotFoundError(f"sample {sample_id} has no media file")
    if path.suffix.lower() not in MEDIA_SUFFIXES:  # defence in depth: images only
        raise NotFoundError(f"sample {sample_id} has no image file")
    # the real file (links followed) must be a regular file inside the dataset's folder: a link
    # swapped in after registration, or a registered ../ path, reads nothing outside it
    root = _root_of(workspace, dv_id, roots)
    if remote_url(path) is not None:  # in object storage: read from its bucket when served
        if root is None or not is_inside(os.path.normpath(path), root):
            raise NotFoundError(f"sample {sample_id} has no media file inside its dataset's folder")
        return path
    try:
        real = path.resolve(strict=True)
        regular = stat.S_ISREG(real.stat().st_mode)
    except (OSError, RuntimeError):
        raise NotFoundError(f"sample {sample_id} has no media file") from None
    if root is None or not real.is_relative_to(root) or not regular:
        raise NotFoundError(f"sample {sample_id} has no media file inside its dataset's folder")
    if real.suffix.lower() not in MEDIA_SUFFIXES:
        raise NotFoundError(f"sample {sample_id} has no image file")
    return real


def _from_bucket(url: str, sample_id: str) -> StreamingResponse:
    """An image in object storage streamed as it is read, at most :data:`REMOTE_MEDIA_BYTES`,
    its Content-Type from its first bytes (never a redirect: a presigned URL would leak a
    credential-bearing link to the browser). No object: 404; over the cap: 422; the store
    unreadable: 502."""
    chunks = iter_url(url, cap=REMOTE_MEDIA_BYTES)
    try:
        first = next(chunks, b"")
    except InputError as exc:
        status = {"missing": 404, "too_large": 422}.get(getattr(exc, "kind", ""), 502)
        raise HTTPException(status, detail=f"sample {sample_id}: {exc}") from None
    media_type = image_type(first[:16])
    if media_type is None:
        raise HTTPException(404, detail=f"sample {sample_id} has no image file")

    def body() -> Iterator[bytes]:
        yield first
        try:
            yield from chunks
        except InputError:  # cut short (over the cap, the store gone): the client sees it end
            return

    headers = {"Cache-Control": CACHE_CONTROL, "X-Content-Type-Options": "nosniff"}
    return StreamingResponse(body(), media_type=media_type, headers=headers)


@router.get("/{sample_id}/media", response_class=FileResponse, responses=_MEDIA_RESPONSES)
def get_media(sample_id: SampleId, workspace: WorkspaceDep, request: Request) -> Response:
    """The media file of a sample, as registered with its dataset version (one in object
    storage streamed from its bucket, bounded)."""
    path = _media_file(workspace, sample_id, _roots(request))
    url = remote_url(path)
    if url is not None:
        return _from_bucket(url, sample_id)
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": CACHE_CONTROL})


@router.get(
    "/{sample_id}/thumbnail",
    response_class=FileResponse,
    responses={
        **_MEDIA_RESPONSES,
        304: {"description": "not modified (If-None-Match)"},
        422: {"description": "the file is not a readable image, or too large to decode"},
        503: {"description": "too many thumbnails being made; see Retry-After"},
    },
)
async def get_thumbnail(
    sample_id: SampleId,
    workspace: WorkspaceDep,
    request: Request,
    if_none_match: Annotated[str | None, Header(max_length=4096)] = None,
) -> Response:
    """A JPEG thumbnail (256 px) of a sample's image, made once; ETag and Cache-Control set.
    At most ``Limits.thumbnail_workers`` are made at once and ``thumbnail_queue`` wait (the same
    image asked for twice is made once), else a 503 with ``Retry-After``; their decoded pixels
    together stay within ``Limits.thumbnail_decode_bytes``; one made already is served without
    waiting."""
    path = await run_in_threadpool(_media_file, workspace, sample_id, _roots(request))
    path = await run_in_threadpool(local_source, path, sample_id)  # from a bucket: fetched
    folder = workspace.thumbnails_dir
    limits: Limits = request.app.state.config.limits
    gate = gate_of(request.app.state, "thumbnail", limits.thumbnail_workers, limits.thumbnail_queue)

    budget: DecodeBudget | None = getattr(request.app.state, "thumbnail_budget", None)
    if budget is None:
        budget = request.app.state.thumbnail_budget = DecodeBudget(limits.thumbnail_decode_bytes)

    def make() -> tuple[Path, str]:
        return thumbnail(path, folder, max_pixels=limits.max_image_pixels, budget=budget)

    try:
        made = await run_in_threadpool(cached, path, folder)
        if made is None:
            made = await gate.run(("thumbnail", str(path)), make)
        target, etag = made
        try:  # a small JPEG, read now: a cache cleared meanwhile is made again, never a 500
            body = await run_in_threadpool(Path(target).read_bytes)
        except FileNotFoundError:
            target, etag = await gate.run(("thumbnail", str(path)), make)
            body = await run_in_threadpool(Path(target).read_bytes)
    except NotAnImage as exc:
        raise HTTPException(
            422, detail=f"sample {sample_id}: not a readable image ({exc})"
        ) from None
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if if_none_match is not None and etag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(content=body, media_type="image/jpeg", headers=headers)
