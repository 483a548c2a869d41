"""One public shape per entity: ``assay datasets list --json`` and ``assay models list --json``
give the dataset and model versions exactly as ``GET /api/datasets`` and ``GET /api/models`` do
(both from :mod:`assay.service.public`), and the API's schemas accept them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from assay.cli.main import app
from assay.server.app import create_app
from tests.runners.models import linear_softmax, write_images
from tests.server.conftest import BASE_URL

CLASSES = ("cat", "dog", "owl")


def _cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.stderr
    return result.stdout


def test_the_cli_and_the_api_show_the_same_versions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "ws"
    monkeypatch.setenv("ASSAY_HOME", str(home))
    model, _, _ = linear_softmax(tmp_path / "lin.onnx", n_classes=3)
    (tmp_path / "lin.labels.txt").write_text("\n".join(CLASSES) + "\n")
    pets = tmp_path / "pets"
    for k, name in enumerate(CLASSES):
        write_images(pets / name, 3, size=(8, 8), seed=k)
    _cli("models", "add", str(model), "--name", "lin")
    _cli("evaluate", "--gt", str(pets), "--model", "lin", "--json", "-")
    cli_datasets = json.loads(_cli("datasets", "list", "--json", "-"))
    cli_models = json.loads(_cli("models", "list", "--json", "-"))
    with TestClient(create_app(home), base_url=BASE_URL) as client:
        api_datasets = client.get("/api/datasets").json()["items"]
        api_models = client.get("/api/models").json()["items"]
    assert cli_datasets == api_datasets
    assert cli_models == [v for m in api_models for v in m["versions"]]
    version = api_datasets[0]["versions"][0]
    assert (version["media"], version["n_classes"], version["evaluations"]) == ("image", 3, 1)
    assert cli_models[0]["input_shape"] == [3, 8, 8]
    assert [e["dataset_name"] for e in cli_models[0]["evaluations"]] == ["pets"]
