"""The API never registers or reads the workspace's own files (the catalog, the home): one line,
422, nothing stored, and the catalog keeps every write after."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from assay.server.app import create_app
from assay.store import Workspace
from tests.server.conftest import BASE_URL


def test_the_catalog_or_the_home_is_refused_as_a_dataset_model_or_job(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with TestClient(create_app(home), base_url=BASE_URL) as client:
        for path in (home, home / "catalog.sqlite", home / "catalog.sqlite-wal"):
            for url, body in (
                ("/api/datasets", {"path": str(path)}),
                ("/api/models", {"name": "m", "path": str(path)}),
                ("/api/evaluations", {"gt": str(path), "pred": str(path)}),
            ):
                answer = client.post(url, json=body)
                assert answer.status_code == 422, (url, path, answer.text)
                if url != "/api/models" or path != home:  # a folder with no model: 422 first
                    assert "workspace's own files" in answer.json()["detail"], answer.text
        assert client.get("/api/datasets").json()["items"] == []
        assert client.get("/api/models").json()["items"] == []
        (tmp_path / "gt.csv").write_text("id,label\n1,cat\n")
        created = client.post("/api/datasets", json={"path": str(home / ".." / "gt.csv")})
        assert created.status_code == 422  # outside the allowed roots: refused as before
    ws = Workspace(home)
    assert ws.list_datasets() == [] and ws.list_jobs() == [] and ws.integrity_check() == "ok"
