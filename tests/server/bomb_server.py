"""The server of the memory-bomb tests (``uvicorn --factory tests.server.bomb_server:app``): the
app ``assay serve`` runs, on ``$ASSAY_TEST_HOME`` with the data root ``$ASSAY_TEST_DATA`` and
the ``Limits`` fields given as JSON in ``$ASSAY_TEST_LIMITS`` (none: the defaults), so a test can
serve it with the gates opened wide and see what the defaults prevent. With
``$ASSAY_TEST_BUFFER_BODIES`` set, every request body is read whole before the app sees it (what
the server's middleware did before it streamed and counted bodies)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from assay.server.app import create_app
from assay.server.config import Limits


class BufferBodies:
    """ASGI middleware that reads a request's whole body before passing it on."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        sent = False

        async def replay() -> Any:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


def app() -> Any:
    """The app, as the environment describes it."""
    limits = Limits(**json.loads(os.environ.get("ASSAY_TEST_LIMITS") or "{}"))
    served: FastAPI = create_app(
        Path(os.environ["ASSAY_TEST_HOME"]),
        data_roots=[Path(os.environ["ASSAY_TEST_DATA"])],
        limits=limits,
    )
    return BufferBodies(served) if os.environ.get("ASSAY_TEST_BUFFER_BODIES") else served
