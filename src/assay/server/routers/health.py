from __future__ import annotations

from fastapi import APIRouter

from assay import __version__
from assay.server.schemas import Health

router = APIRouter(tags=["health"])


@router.get("/health")
async def health() -> Health:
    """Liveness and the Assay version."""
    return Health(version=__version__)
