"""The data-quality routes: the analysis runs in the background (running -> ready), every answer
valid against its schema (no NaN), bins and the explorer follow the property and the filters,
and hostile or impossible queries are 4xx."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay.server.app import create_app
from assay.server.quality_runs import QualityRuns
from assay.service.quality import analyze_stored
from tests.server.conftest import BASE_URL, Seeded, get_error, get_json, validate_answer


def _ready(client: TestClient, url: str, timeout: float = 120) -> dict[str, Any]:
    """Poll the analysis until it is ready; every answer on the way valid against the schema."""
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(url)
        data = answer.json()
        assert "NaN" not in answer.text and "Infinity" not in answer.text
        validate_answer(client.app, url, data)  # type: ignore[arg-type]
        if data["status"] == "running":
            assert answer.status_code == 202
            assert 0 <= data["done"] <= data["total"]
        else:
            assert answer.status_code == 200
            assert data["status"] == "ready", data
            return data
        assert time.monotonic() < deadline, "the analysis did not finish"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def held(seeded: Seeded) -> tuple[TestClient, threading.Event]:
    """A server whose analyses wait for a gate (so the test sees them running) before the real
    analysis."""
    gate = threading.Event()

    def analyze(ws: Any, evaluation_id: int, **kw: Any) -> dict[str, Any]:
        progress = kw["progress"]
        progress(0, 40)
        assert gate.wait(60)
        return analyze_stored(ws, evaluation_id, **kw)

    app = create_app(seeded.home)
    app.state.quality = QualityRuns(app.state.workspace, wait_s=0.0, analyze=analyze)
    return TestClient(app, base_url=BASE_URL), gate


def test_the_analysis_runs_in_the_background_then_is_ready(
    held: tuple[TestClient, threading.Event], seeded: Seeded
) -> None:
    client, gate = held
    base = f"/api/evaluations/{seeded.image}/quality"
    first = client.get(base)
    assert first.status_code == 202
    running = first.json()
    validate_answer(client.app, base, running)  # type: ignore[arg-type]
    assert running["status"] == "running" and running["evaluation_id"] == seeded.image
    assert running["stage"] in ("queued", "properties")
    # while the properties compute, the views that need them say so
    detail = get_error(client, f"{base}/bins?property=brightness", status=409)
    assert "being computed" in detail
    gate.set()
    data = _ready(client, base)
    assert data["name"] == "pets int8" and data["media"] == "image"
    assert data["task"] == "classification" and data["n_samples"] == 40
    names = [p["name"] for p in data["properties"]]
    assert {"brightness", "contrast", "sharpness", "uniqueness"} <= set(names)
    assert {r["property"] for r in data["importance"]} == set(names)
    assert data["point"] == {"threshold": 0.5}
    # every label issue opens a sample with a thumbnail (sample 5 has no file)
    for issue in data["label_issues"]:
        assert issue["id"] == f"img{issue['index']}"
        assert (issue.get("thumbnail_url") is None) == (issue["index"] == 5)
    again = client.get(base)
    assert again.status_code == 200 and again.json() == data  # kept


@pytest.fixture(scope="module")
def ready(client: TestClient, seeded: Seeded) -> dict[str, dict[str, Any]]:
    return {
        kind: _ready(client, f"/api/evaluations/{getattr(seeded, kind)}/quality")
        for kind in ("image", "text", "multilabel", "detection")
    }


def test_every_task_has_its_analysis(ready: dict[str, dict[str, Any]]) -> None:
    assert ready["text"]["media"] == "text"
    assert {p["name"] for p in ready["text"]["properties"]} >= {"length", "tokens", "oov_share"}
    assert ready["text"]["duplicates"]["kind"] == "text"
    for group in ready["text"]["duplicates"]["groups"]:
        assert [item["index"] for item in group["items"]] == group["indices"]
        assert all(item["text"].startswith("question number") for item in group["items"])
    assert ready["multilabel"]["media"] is None and ready["multilabel"]["label_issues"] == []
    kinds = {p["name"]: p["kind"] for p in ready["multilabel"]["properties"]}
    assert kinds == {"split": "metadata", "weight": "metadata", "reviewed": "metadata"}
    box = {p["name"] for p in ready["detection"]["properties"] if p["kind"] == "box"}
    assert {"boxes", "occlusion"} <= box
    assert ready["detection"]["point"]["iou"] == 0.5


def test_bins_follow_the_property_and_the_class(
    client: TestClient, seeded: Seeded, ready: dict[str, dict[str, Any]]
) -> None:
    base = f"/api/evaluations/{seeded.text}/quality/bins"
    data = get_json(client, f"{base}?property=uniqueness&bins=4")
    assert data["property"] == "uniqueness" and data["label"] is None
    assert 1 <= len(data["bins"]) <= 4
    assert sum(b["n"] for b in data["bins"]) + data["n_missing"] == 1500
    n_correct = sum(b["accuracy"]["k"] for b in data["bins"] if b["accuracy"])
    assert n_correct == ready["text"]["n_correct"]
    for b in data["bins"]:
        assert b["tpr"] is None and b["lower"] <= b["upper"]
        rate = b["accuracy"]
        assert rate["low"] <= rate["value"] <= rate["high"]
    cat = get_json(client, f"{base}?property=length&bins=10&label=cat")
    assert cat["label"] == "cat" and all(b["tpr"] is not None for b in cat["bins"])
    split = get_json(client, f"/api/evaluations/{seeded.multilabel}/quality/bins?property=split")
    assert [b["category"] for b in split["bins"]] == ["train", "val"]
    assert [b["n"] for b in split["bins"]] == [20, 10]


def test_the_explorer_ranks_and_filters(
    client: TestClient, seeded: Seeded, ready: dict[str, dict[str, Any]]
) -> None:
    base = f"/api/evaluations/{seeded.image}/quality/explore"
    down = get_json(client, f"{base}?property=brightness&limit=200")
    assert down["total"] == 40 and len(down["items"]) == 40
    values = [i["value"] for i in down["items"] if i["value"] is not None]
    assert values == sorted(values, reverse=True) and len(values) == 39
    assert down["items"][-1]["index"] == 5  # no file: no brightness, ranked last
    up = get_json(client, f"{base}?property=brightness&descending=false&limit=3&offset=1")
    assert [i["value"] for i in up["items"]] == sorted(values)[1:4]
    assert all(i["thumbnail_url"].endswith("/thumbnail") for i in up["items"])
    wrong = get_json(client, f"{base}?property=contrast&outcome=incorrect&limit=200")
    assert wrong["total"] == 40 - ready["image"]["n_correct"]
    assert all(i["outcome"] in ("incorrect", "below_threshold") for i in wrong["items"])
    fp = get_json(client, f"{base}?property=contrast&outcome=fp&label=cat&limit=200")
    assert all(i["outcome"] == "fp" and i["predicted"] == "cat" for i in fp["items"])
    flagged = {i["index"] for i in ready["image"]["label_issues"]}
    assert {i["index"] for i in down["items"] if i["possible_label_error"]} == flagged
    texts = get_json(client, f"/api/evaluations/{seeded.text}/quality/explore?property=length")
    assert all(i["text"].startswith("question number") for i in texts["items"])


def test_label_issues_page_through_the_ranked_list(
    client: TestClient, seeded: Seeded, ready: dict[str, dict[str, Any]]
) -> None:
    base = f"/api/evaluations/{seeded.text}/quality/label-issues"
    first = get_json(client, f"{base}?limit=5")
    assert first["total"] == ready["text"]["n_label_issues"] > 5
    top = ready["text"]["label_issues"]
    assert [i["index"] for i in first["items"]] == [i["index"] for i in top[:5]]
    second = get_json(client, f"{base}?limit=5&offset=5")
    assert [i["index"] for i in second["items"]] == [i["index"] for i in top[5:10]]
    assert all(i["given"] != i["suggested"] or i["self_confidence"] for i in second["items"])
    none = get_json(client, f"/api/evaluations/{seeded.detection}/quality/label-issues")
    assert none["total"] == 0 and none["items"] == []


def test_hostile_or_impossible_queries_are_4xx(
    client: TestClient, seeded: Seeded, ready: dict[str, dict[str, Any]]
) -> None:
    base = f"/api/evaluations/{seeded.image}/quality"
    detail = get_error(client, f"{base}/bins?property=nope")
    assert "nope" in detail and "brightness" in detail  # names the choices
    assert "nope" in get_error(client, f"{base}/explore?property=nope")
    get_error(client, f"{base}/bins?property=brightness&bins=1")
    get_error(client, f"{base}/bins?property=brightness&bins=51")
    get_error(client, f"{base}/bins?property=brightness&label=zebra")
    get_error(client, f"{base}/bins")
    get_error(client, f"{base}/bins?property=" + "x" * 300)
    get_error(client, f"{base}/explore?property=brightness&limit=201")
    get_error(client, f"{base}/explore?property=brightness&offset=-1")
    get_error(client, f"{base}/explore?property=brightness&outcome=maybe")
    assert "needs a label" in get_error(client, f"{base}/explore?property=brightness&outcome=tp")
    get_error(client, f"{base}?train=0")
    get_error(client, f"{base}?train={seeded.image_dv}")  # the evaluated set itself
    get_error(client, f"{base}?train=999", status=404)
    get_error(client, "/api/evaluations/999/quality", status=404)
    get_error(client, "/api/evaluations/999/quality/bins?property=brightness", status=404)
    get_error(client, "/api/evaluations/999/quality/explore?property=brightness", status=404)
    get_error(client, "/api/evaluations/999/quality/label-issues", status=404)
    get_error(client, "/api/evaluations/99999999999999999999/quality")
    get_error(client, "/api/evaluations/x/quality")


def test_a_failed_analysis_says_why_and_can_be_retried(seeded: Seeded) -> None:
    calls = []

    def analyze(ws: Any, evaluation_id: int, **kw: Any) -> dict[str, Any]:
        calls.append(evaluation_id)
        if len(calls) == 1:
            raise RuntimeError("boom")
        return analyze_stored(ws, evaluation_id, **kw)

    app = create_app(seeded.home)
    app.state.quality = QualityRuns(app.state.workspace, wait_s=30.0, analyze=analyze)
    client = TestClient(app, base_url=BASE_URL)
    url = f"/api/evaluations/{seeded.multilabel}/quality"
    failed = get_json(client, url)
    assert failed["status"] == "failed" and "RuntimeError" in failed["error"]
    assert "boom" not in failed["error"]  # the log has it, not the answer
    assert get_json(client, url) == failed and calls == [seeded.multilabel]  # kept
    assert get_json(client, f"{url}?retry=true")["status"] == "ready"


def test_too_many_waiting_analyses_are_refused(seeded: Seeded) -> None:
    gate = threading.Event()

    def analyze(ws: Any, evaluation_id: int, **kw: Any) -> dict[str, Any]:
        gate.wait(30)
        return analyze_stored(ws, evaluation_id, **kw)

    app = create_app(seeded.home)
    app.state.quality = QualityRuns(app.state.workspace, wait_s=0.0, queue_size=2,
                                    analyze=analyze)  # fmt: skip
    client = TestClient(app, base_url=BASE_URL)
    try:
        assert client.get(f"/api/evaluations/{seeded.image}/quality").status_code == 202
        assert client.get(f"/api/evaluations/{seeded.text}/quality").status_code == 202
        get_error(client, f"/api/evaluations/{seeded.multilabel}/quality", status=429)
    finally:
        gate.set()


def test_the_routes_are_in_the_openapi_document(client: TestClient) -> None:
    paths = client.app.openapi()["paths"]  # type: ignore[attr-defined]
    for path, operation in (
        ("/api/evaluations/{evaluation_id}/quality", "quality-quality"),
        ("/api/evaluations/{evaluation_id}/quality/bins", "quality-quality_bins"),
        ("/api/evaluations/{evaluation_id}/quality/explore", "quality-quality_explore"),
        ("/api/evaluations/{evaluation_id}/quality/label-issues", "quality-quality_label_issues"),
    ):
        assert paths[path]["get"]["operationId"] == operation


def test_leakage_from_a_training_set(client: TestClient, seeded: Seeded) -> None:
    """The detection set's images as a 'training set' of the image evaluation: none of its
    images is a near-copy, and the answer says which version it checked."""
    data = _ready(client, f"/api/evaluations/{seeded.image}/quality?train={seeded.detection_dv}")
    dup = data["duplicates"]
    assert dup["train_id"] == seeded.detection_dv and dup["leakage"] == []
    plain = _ready(client, f"/api/evaluations/{seeded.image}/quality")
    assert plain["duplicates"]["leakage"] is None and plain["duplicates"]["train_id"] is None
