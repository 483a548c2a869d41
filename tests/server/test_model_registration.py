"""POST /api/models: a folder with no model is a 422; a model that brings a file from outside its
folder (a spec's labels file, a labels.txt link, ONNX external data) is a one-line 422 that quotes
nothing of that file, and nothing of it shows in GET /api/models; external weights register and
run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from assay.server.app import create_app
from assay.store import Workspace
from tests.runners.test_model_files import external_model, model_in
from tests.server.conftest import BASE_URL

PASSWD = Path("/etc/passwd")


@pytest.fixture()
def served(tmp_path: Path) -> tuple[TestClient, Path, Path]:
    """A server on a fresh workspace whose data root is ``tmp_path / "data"``."""
    data, home = tmp_path / "data", tmp_path / "home"
    data.mkdir()
    Workspace(home).close()
    app = create_app(home, data_roots=[data])
    return TestClient(app, base_url=BASE_URL), data, home


def _leaks(text: str) -> list[str]:
    lines = [line for line in PASSWD.read_text().splitlines() if line.strip()]
    names = {line.split(":")[0] for line in lines}
    return [line for line in lines if line in text] + [n for n in names if json.dumps(n) in text]


def _versions(client: TestClient) -> int:
    answer = client.get("/api/models")
    assert answer.status_code == 200
    assert not _leaks(answer.text)
    return sum(len(m["versions"]) for m in answer.json()["items"])


def test_a_folder_with_no_model_is_a_422(served: tuple[TestClient, Path, Path]) -> None:
    client, data, _ = served
    (data / "empty").mkdir()
    (data / "notes").mkdir()
    (data / "notes" / "readme.txt").write_text("hello\n")
    for folder in ("empty", "notes"):
        answer = client.post("/api/models", json={"name": "m", "path": str(data / folder)})
        assert answer.status_code == 422, answer.text
        detail = answer.json()["detail"]
        assert "\n" not in detail and "a model folder needs" in detail
    assert _versions(client) == 0


@pytest.mark.skipif(not PASSWD.is_file(), reason="no /etc/passwd here")
@pytest.mark.parametrize("attack", ["spec", "spec-dotdot", "labels-link", "external-data"])
def test_a_model_bringing_etc_passwd_is_a_one_line_422(
    served: tuple[TestClient, Path, Path], attack: str
) -> None:
    client, data, home = served
    folder = data / "m"
    if attack == "external-data":
        model, _, _ = external_model(folder)
        (folder / "lin.data").unlink()
        (folder / "lin.data").symlink_to(PASSWD)
    else:  # as many scores as /etc/passwd has lines: its lines would fit as class names
        lines = [line for line in PASSWD.read_text().splitlines() if line.strip()]
        model = model_in(folder, n_classes=len(lines))
    if attack == "spec":
        (folder / "lin.preprocess.json").write_text('{"labels_file": "/etc/passwd"}')
    elif attack == "spec-dotdot":
        depth = len(folder.resolve().parts) - 1
        value = "/".join([".."] * depth) + "/etc/passwd"
        (folder / "lin.preprocess.json").write_text(json.dumps({"labels_file": value}))
    elif attack == "labels-link":
        (folder / "labels.txt").symlink_to(PASSWD)
    answer = client.post("/api/models", json={"name": "evil", "path": str(model)})
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert "\n" not in detail and "lies outside" in detail, detail
    assert not _leaks(answer.text), detail
    assert _versions(client) == 0
    copies = [p for p in (home / "models").rglob("*") if p.is_file()]
    assert copies == []


def test_external_weights_register_and_run(served: tuple[TestClient, Path, Path]) -> None:
    client, data, home = served
    model, _, _ = external_model(data / "m", location="lin.data")
    answer = client.post("/api/models", json={"name": "ext", "path": str(model)})
    assert answer.status_code == 201, answer.text
    version = answer.json()["id"]
    ws = Workspace(home)
    try:
        runner = ws.load_model_runner(version)
        x = np.zeros((1, 3, 8, 8), np.float32)
        assert runner.predict(x).shape == (1, 4)
    finally:
        ws.close()
