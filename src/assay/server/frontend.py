"""Serving the built UI (``server/static``, made by ``npm run build`` in ``frontend/``).

Files that exist are served as they are; any other GET outside ``/api`` gets ``index.html`` so the
single-page app's client-side routes load on refresh. Without a build, one warning is logged and
those paths answer 404 with a line saying how to build it.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse

logger = logging.getLogger("assay.server")

_NOT_BUILT = (
    "The web UI is not built: run `npm ci && npm run build` in frontend/ "
    "(it writes src/assay/server/static); the API works without it at /api"
)


def mount_static(app: FastAPI, static_dir: Path) -> None:
    """Add the catch-all GET route that serves ``static_dir`` with an ``index.html`` fallback."""
    root = static_dir.resolve()
    index = root / "index.html"
    if not index.is_file():
        logger.warning("Assay UI assets missing at %s. %s", root, _NOT_BUILT)

    @app.get("/{path:path}", include_in_schema=False)
    def frontend(path: str) -> FileResponse:
        if path == "api" or path.startswith("api/"):
            raise HTTPException(404, detail=f"no API endpoint /{path}")
        if not index.is_file():
            raise HTTPException(404, detail=_NOT_BUILT)
        if path:
            candidate = (root / path).resolve()
            if candidate.is_relative_to(root) and candidate.is_file():
                cache = (
                    "public, max-age=31536000, immutable"
                    if candidate.parent.name == "assets"
                    else "no-cache"
                )
                return FileResponse(candidate, headers={"Cache-Control": cache})
        return FileResponse(index, headers={"Cache-Control": "no-cache"})
