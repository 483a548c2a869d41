"""Media of samples: only files registered with a dataset version are ever served.

The file path comes from the catalog (the dataset version's samples table), never from the request:
``sample_id`` is ``<dataset_version_id>:<index>`` and anything else is a 404; and only image files
(by suffix) are served, even when a samples table registers something else.
"""

from __future__ import annotations

import mimetypes
import re
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from assay.errors import NotFoundError
from assay.formats.tables import IMAGE_SUFFIXES
from assay.server.deps import WorkspaceDep
from assay.server.thumbnails import thumbnail

router = APIRouter(prefix="/samples", tags=["samples"])

_SAMPLE_ID = re.compile(r"(\d{1,18}):(\d{1,18})")
CACHE_CONTROL = "public, max-age=86400"
MEDIA_SUFFIXES = frozenset(IMAGE_SUFFIXES)
_MEDIA_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"content": {"image/*": {}}, "description": "the file"},
    404: {"description": "no such sample, or it has no registered file"},
}


def _media_file(workspace: WorkspaceDep, sample_id: str) -> Path:
    match = _SAMPLE_ID.fullmatch(sample_id)
    if match is None:
        raise NotFoundError(
            f"sample {sample_id!r} not found (expected <dataset_version_id>:<index>)"
        )
    path = workspace.media_path(int(match.group(1)), int(match.group(2)))
    if path is None:
        raise NotFoundError(f"sample {sample_id} has no media file")
    if path.suffix.lower() not in MEDIA_SUFFIXES:  # defence in depth: images only
        raise NotFoundError(f"sample {sample_id} has no image file")
    return path


@router.get("/{sample_id}/media", response_class=FileResponse, responses=_MEDIA_RESPONSES)
def get_media(sample_id: str, workspace: WorkspaceDep) -> FileResponse:
    """The media file of a sample, as registered with its dataset version."""
    path = _media_file(workspace, sample_id)
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type, headers={"Cache-Control": CACHE_CONTROL})


@router.get(
    "/{sample_id}/thumbnail",
    response_class=FileResponse,
    responses={**_MEDIA_RESPONSES, 304: {"description": "not modified (If-None-Match)"}},
)
async def get_thumbnail(
    sample_id: str,
    workspace: WorkspaceDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """A JPEG thumbnail (256 px) of a sample's image, made once; ETag and Cache-Control set."""
    path = await run_in_threadpool(_media_file, workspace, sample_id)
    folder = workspace.thumbnails_dir
    target, etag = await run_in_threadpool(thumbnail, path, folder)
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL}
    if if_none_match is not None and etag in {t.strip() for t in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return FileResponse(target, media_type="image/jpeg", headers=headers)
