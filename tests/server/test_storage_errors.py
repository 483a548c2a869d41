"""A full disk while the server writes the workspace is a one-line 507, never a 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assay.errors import StorageError
from assay.server.app import create_app
from tests.server.conftest import BASE_URL


def test_a_full_disk_is_a_507_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = create_app(tmp_path / "home")
    workspace = app.state.workspace

    def full(*args: object, **kwargs: object) -> None:
        raise StorageError(
            f"{workspace.home}: cannot write the workspace (no space left on device)"
        )

    monkeypatch.setattr(workspace, "add_model_version", full)
    with TestClient(app, base_url=BASE_URL) as client:
        answer = client.post("/api/models", json={"name": "resnet"})
        assert answer.status_code == 507
        assert answer.json() == {
            "detail": f"{workspace.home}: cannot write the workspace (no space left on device)"
        }
        assert client.get("/api/models").json()["items"] == []
