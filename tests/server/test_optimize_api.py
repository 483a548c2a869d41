"""The Models page's Optimize and Profile jobs through the REST API: the INT8 child registered
with its parent, profiles stored and listed with each version, the child beside its parent
(speed-up and the paired accuracy difference), refusals before anything queues."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay.server.app import create_app
from assay.server.config import Limits
from assay.store import Workspace
from assay.store.datasets import register_dataset
from tests.server.conftest import BASE_URL, get_json
from tests.service.int8_models import make_classifier, write_folder


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("optimize-api")
    ws = Workspace(root / "home")
    parent = ws.add_model(make_classifier(root / "train", root / "conv.onnx"), name="conv")
    train, _, _ = register_dataset(ws, root / "train", name="train")
    write_folder(root / "test", 20, seed=3)
    test, _, _ = register_dataset(ws, root / "test", name="test")
    bare = ws.add_model_version("from-predictions")
    ws.close()
    with TestClient(create_app(root / "home", limits=Limits()), base_url=BASE_URL) as client:
        yield {
            "client": client,
            "home": root / "home",
            "parent": parent.id,
            "train": train.id,
            "test": test.id,
            "bare": bare.id,
        }


def _job(client: TestClient, answer: Any, timeout: float = 120.0) -> dict[str, Any]:
    assert answer.status_code == 202, answer.text
    job_id = answer.json()["job_id"]
    deadline = time.monotonic() + timeout
    while True:
        job = get_json(client, f"/api/jobs/{job_id}")
        if job["status"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _version(client: TestClient, version_id: int) -> dict[str, Any]:
    for model in get_json(client, "/api/models")["items"]:
        for version in model["versions"]:
            if version["id"] == version_id:
                return version
    raise AssertionError(f"no version {version_id}")


def _child(client: TestClient, parent: int) -> dict[str, Any]:
    (child,) = [
        v
        for m in get_json(client, "/api/models")["items"]
        for v in m["versions"]
        if v["parent_version_id"] == parent
    ]
    return child


def test_optimize_registers_the_child(setup: dict[str, Any]) -> None:
    client, parent = setup["client"], setup["parent"]
    job = _job(
        client,
        client.post(
            f"/api/models/versions/{parent}/optimize",
            json={"dataset_version_id": setup["train"], "samples": 40},
        ),
    )
    assert job["status"] == "done", job
    assert job["kind"] == "optimize" and job["done"] == job["total"] == 40
    child = _child(client, parent)
    assert child["version"] == "int8" and child["parent_version"] == "v1"


def test_profile_and_the_child_beside_its_parent(setup: dict[str, Any]) -> None:
    from assay.service.profile import profile_model
    from assay.service.runs import run_model, store_model_run

    client, parent, home = setup["client"], setup["parent"], setup["home"]
    child = _child(client, parent)
    job = _job(
        client,
        client.post(
            f"/api/models/versions/{child['id']}/profile", json={"batches": [4, 1], "runs": 5}
        ),
    )
    assert job["status"] == "done" and job["kind"] == "profile", job
    (profile,) = _version(client, child["id"])["profiles"]
    assert profile["device"] == "cpu" and profile["size_bytes"] > 0
    assert [row["batch"] for row in profile["batches"]] == [1, 4]
    for row in profile["batches"]:
        assert 0 < row["p50_ms"] <= row["p95_ms"] and row["throughput"] > 0
    assert _version(client, parent)["profiles"] == []

    ws = Workspace(home)  # the parent profiled, both evaluated, here (faster than jobs)
    try:
        profile_model(ws, parent, batches=(1, 4, 8), runs=5)
        side = get_json(client, f"/api/models/versions/{child['id']}/against-parent")
        assert side["batch"] == 4 and side["speedup"] > 0 and side["latency_ratio"] > 0
        assert side["accuracy_delta"] is None  # no evaluation on a shared dataset version yet
        gt = ws.dataset_ground_truth(setup["test"])
        for version_id in (parent, child["id"]):
            run = run_model(ws, version_id, gt)
            store_model_run(ws, run, version_id, dataset="test")
    finally:
        ws.close()
    side = get_json(client, f"/api/models/versions/{child['id']}/against-parent")
    assert side["dataset_version_id"] == setup["test"]
    assert side["accuracy_low"] <= side["accuracy_delta"] <= side["accuracy_high"]
    assert abs(side["accuracy_delta"]) <= 5.0  # points, on 60 images


def test_refusals(setup: dict[str, Any]) -> None:
    client, parent = setup["client"], setup["parent"]
    answer = client.post(
        f"/api/models/versions/{setup['bare']}/profile", json={"batches": [1], "runs": 2}
    )
    assert answer.status_code == 422 and "no model" in answer.text
    answer = client.post(f"/api/models/versions/{parent}/profile", json={"batches": [0]})
    assert answer.status_code == 422
    answer = client.post(
        f"/api/models/versions/{parent}/optimize", json={"dataset_version_id": 999999}
    )
    assert answer.status_code == 404
    answer = client.get(f"/api/models/versions/{parent}/against-parent")
    assert answer.status_code == 422 and "no parent" in answer.text
    # a model it cannot quantize: the job fails with one line
    job = _job(
        client,
        client.post(
            f"/api/models/versions/{_child(client, parent)['id']}/optimize",
            json={"dataset_version_id": setup["train"], "version": "int8-again"},
        ),
    )
    assert job["status"] == "failed" and "quantized already" in job["error"]
    # exclusions: bounded in the request; a name the graph lacks fails the job in one line
    many = {"dataset_version_id": setup["train"], "exclude": ["Conv"] * 101}
    assert client.post(f"/api/models/versions/{parent}/optimize", json=many).status_code == 422
    job = _job(
        client,
        client.post(
            f"/api/models/versions/{parent}/optimize",
            json={"dataset_version_id": setup["train"], "samples": 8, "exclude": ["Nope"],
                  "version": "int8-nope"},
        ),
    )  # fmt: skip
    assert job["status"] == "failed" and "neither a node nor an operator type" in job["error"]
    job = _job(
        client,
        client.post(
            f"/api/models/versions/{parent}/optimize",
            json={"dataset_version_id": setup["train"], "samples": 8, "exclude_head": True,
                  "version": "int8-head"},
        ),
    )  # fmt: skip
    assert job["status"] == "done", job


def test_the_server_does_not_profile_torchscript(setup: dict[str, Any], tmp_path: Path) -> None:
    """A TorchScript model runs in a sandboxed worker on the server; the profile's process would
    run it outside, so the server refuses (the CLI profiles it)."""
    if not os.environ.get("CI"):
        pytest.importorskip("torch")
    import torch

    class Linear(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(3 * 8 * 8, 2))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.softmax(x.flatten(1) @ self.w, dim=-1)

    path = tmp_path / "lin.pt"
    torch.jit.save(torch.jit.script(Linear()), str(path), _extra_files={"classes": '["a","b"]'})
    ws = Workspace(setup["home"])
    try:
        version = ws.add_model(path, name="scripted", overrides={"size": (8, 8)})
    finally:
        ws.close()
    client = setup["client"]
    answer = client.post(f"/api/models/versions/{version.id}/profile", json={"runs": 2})
    assert answer.status_code == 422 and "assay models profile" in answer.text
