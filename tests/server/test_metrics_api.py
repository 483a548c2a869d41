"""GET /api/metrics: the registry of metric names, whole or of one task, valid against its schema;
an unknown task is a 422."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assay.evaluation.metric_names import HEADLINE, metrics
from assay.server.app import create_app
from tests.server.conftest import BASE_URL, get_error, get_json


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    home: Path = tmp_path_factory.mktemp("metrics") / "home"
    return TestClient(create_app(home), base_url=BASE_URL)


def test_every_metric_name_is_listed(client: TestClient) -> None:
    data = get_json(client, "/api/metrics")
    assert data["task"] is None and len(data["metrics"]) == len(metrics())
    by_task = {(m["key"], tuple(m["tasks"])): m for m in data["metrics"]}
    ap = by_task[("AP", ("detection",))]
    assert ap["label"] == "mAP (.50:.95)" and "mAP" in ap["aliases"] and ap["headline"]
    loss = by_task[("log_loss", ("classification", "multilabel"))]
    assert not loss["higher_is_better"] and loss["unit"] == "nats"


@pytest.mark.parametrize("task", ["classification", "multilabel", "detection"])
def test_one_tasks_metrics(client: TestClient, task: str) -> None:
    data = get_json(client, f"/api/metrics?task={task}")
    assert data["task"] == task
    assert [m["key"] for m in data["metrics"]] == [m.key for m in metrics(task)]
    assert all(task in m["tasks"] for m in data["metrics"])
    assert [m["key"] for m in data["metrics"] if m["headline"]] == sorted(
        HEADLINE[task], key=[m.key for m in metrics(task)].index
    )
    if task == "multilabel":
        accuracy = next(m for m in data["metrics"] if m["key"] == "accuracy")
        assert accuracy["label"] == "subset accuracy" and "subset_accuracy" in accuracy["aliases"]


def test_an_unknown_task_is_refused(client: TestClient) -> None:
    assert "task" in get_error(client, "/api/metrics?task=regression")
