"""Server-side answers the UI used to compute: summary at a threshold / (IoU, score), the optimal
operating point for a metric, and the detection image feed by TP / FP / FN of a class."""

from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient

from assay.evaluation.results import OperatingPoint
from assay.store import Workspace
from tests.server.conftest import CLASSES, Seeded
from tests.server.conftest import get_error as _error
from tests.server.conftest import get_json as _get


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


@pytest.fixture(scope="module")
def workspace(seeded: Seeded) -> Workspace:
    return Workspace(seeded.home)


# ---------------------------------------------------------------- summary


@pytest.mark.parametrize("kind", ["image", "multilabel"])
@pytest.mark.parametrize("threshold", [None, 0.0, 0.35, 0.8])
def test_summary_is_the_results_summary(
    client: TestClient, seeded: Seeded, workspace: Workspace, kind: str, threshold: float | None
) -> None:
    evaluation = getattr(seeded, kind)
    query = "" if threshold is None else f"?threshold={threshold}"
    answer = _get(client, f"/api/evaluations/{evaluation}/summary{query}")
    results = workspace.load_results(evaluation)
    expected = results.summary(OperatingPoint(threshold=threshold))
    assert answer["threshold"] == (0.5 if threshold is None else threshold)
    assert answer["task"] == results.task and "iou" not in answer
    assert set(answer) == set(expected)
    for key, value in expected.items():
        assert _same(answer[key], value), key


@pytest.mark.parametrize("iou, score", [(0.5, 0.0), (0.3, 0.2), (0.75, 0.6)])
def test_detection_summary_at_iou_and_score(
    client: TestClient, seeded: Seeded, workspace: Workspace, iou: float, score: float
) -> None:
    answer = _get(client, f"/api/evaluations/{seeded.detection}/summary?iou={iou}&score={score}")
    expected = workspace.load_results(seeded.detection).summary(
        OperatingPoint(iou=iou, score=score)
    )
    assert (answer["iou"], answer["score"]) == (iou, score) and "threshold" not in answer
    assert answer == expected
    rows = _get(client, f"/api/evaluations/{seeded.detection}/labels?iou={iou}&score={score}")
    assert answer["tp"] + answer["fn"] == sum(row["total_labeled"] for row in rows["items"])


def test_a_point_field_of_another_task_is_ignored(client: TestClient, seeded: Seeded) -> None:
    base = f"/api/evaluations/{seeded.image}/summary"
    assert _get(client, f"{base}?iou=0.9&score=3") == _get(client, base)
    det = f"/api/evaluations/{seeded.detection}/summary"
    assert _get(client, f"{det}?threshold=0.9") == _get(client, det)


def test_summary_bad_parameters(client: TestClient, seeded: Seeded) -> None:
    assert _error(client, f"/api/evaluations/{seeded.image}/summary?threshold=1.5").startswith(
        "threshold"
    )
    assert _error(client, f"/api/evaluations/{seeded.detection}/summary?iou=2").startswith("iou")
    assert _error(client, f"/api/evaluations/{seeded.detection}/summary?score=nan").startswith(
        "score"
    )
    _error(client, "/api/evaluations/999/summary", 404)


# ---------------------------------------------------------------- optimal


@pytest.mark.parametrize("kind", ["image", "text", "multilabel"])
@pytest.mark.parametrize("metric", ["f1", "accuracy", "precision", "recall", "micro_f1"])
def test_optimal_threshold(
    client: TestClient, seeded: Seeded, workspace: Workspace, kind: str, metric: str
) -> None:
    evaluation = getattr(seeded, kind)
    answer = _get(client, f"/api/evaluations/{evaluation}/optimal?metric={metric}")
    expected = workspace.load_results(evaluation).optimal(metric)
    assert answer["metric"] == metric and set(answer) == set(expected)
    assert _same(answer["threshold"], expected["threshold"])
    assert _same(answer["value"], expected["value"])
    again = _get(client, f"/api/evaluations/{evaluation}/optimal?metric={metric}")
    assert again == answer


def test_optimal_default_is_f1_and_the_detail_agrees(client: TestClient, seeded: Seeded) -> None:
    for evaluation in (seeded.image, seeded.multilabel, seeded.detection):
        answer = _get(client, f"/api/evaluations/{evaluation}/optimal")
        detail = _get(client, f"/api/evaluations/{evaluation}")
        assert answer["metric"] == "f1" and answer == detail["optimal"]


@pytest.mark.parametrize("metric", ["f1", "precision", "recall"])
@pytest.mark.parametrize("iou", [0.5, 0.75, 0.3])
def test_optimal_score(
    client: TestClient, seeded: Seeded, workspace: Workspace, metric: str, iou: float
) -> None:
    url = f"/api/evaluations/{seeded.detection}/optimal?metric={metric}&iou={iou}"
    answer = _get(client, url)
    expected = workspace.load_results(seeded.detection).optimal(metric, OperatingPoint(iou=iou))
    assert answer["metric"] == metric and answer["iou"] == iou
    assert _same(answer["score"], expected["score"]) and _same(answer["value"], expected["value"])
    assert _get(client, url) == answer


def test_optimal_bad_metric(client: TestClient, seeded: Seeded) -> None:
    assert _error(client, f"/api/evaluations/{seeded.image}/optimal?metric=loudness").startswith(
        "metric"
    )
    detection = f"/api/evaluations/{seeded.detection}/optimal"
    assert _error(client, f"{detection}?metric=accuracy").startswith("metric")
    assert _error(client, f"{detection}?metric=f1&iou=1.5").startswith("iou")


# ---------------------------------------------------------------- detection feed by outcome


def _box_outcomes(image: dict, label: str) -> set[str]:
    """The outcomes a class has in one image, from the boxes' statuses (DESIGN.md's semantics)."""
    found = set()
    for box in image["boxes"]:
        if box["label"] != label:
            continue
        if box["kind"] == "pred" and box["status"] == "tp":
            found.add("tp")
        if box["kind"] == "pred" and box["status"] in ("fp", "misclassified"):
            found.add("fp")
        if box["kind"] == "gt" and box["status"] in ("fn", "misclassified"):
            found.add("fn")
    return found


@pytest.mark.parametrize("iou, score", [(0.5, 0.0), (0.3, 0.4)])
def test_detection_feed_by_outcome(
    client: TestClient, seeded: Seeded, workspace: Workspace, iou: float, score: float
) -> None:
    base = f"/api/evaluations/{seeded.detection}/samples"
    images = [
        _get(client, f"{base}/{i}?iou={iou}&score={score}") for i in range(12)
    ]  # fmt: skip
    rows = _get(client, f"/api/evaluations/{seeded.detection}/labels?iou={iou}&score={score}")
    table = {row["label"]: row for row in rows["items"]}
    for label in CLASSES:
        for outcome in ("tp", "fp", "fn"):
            url = f"{base}?label={label}&outcome={outcome}&iou={iou}&score={score}&limit=500"
            feed = _get(client, url)
            got = {item["index"] for item in feed["items"]}
            assert got == {i for i, im in enumerate(images) if outcome in _box_outcomes(im, label)}
            assert feed["total"] == len(got)
            assert bool(got) == (table[label][outcome] > 0)


def test_detection_label_detail_examples_are_the_outcome_feed(
    client: TestClient, seeded: Seeded
) -> None:
    base = f"/api/evaluations/{seeded.detection}"
    detail = _get(client, f"{base}/labels/dog?iou=0.5&score=0.1&limit=3")
    for outcome, items in detail["examples"].items():
        feed = _get(
            client,
            f"{base}/samples?label=dog&outcome={outcome}&sort={outcome}&iou=0.5&score=0.1&limit=3",
        )
        assert items == feed["items"]


def test_detection_feed_bad_outcome(client: TestClient, seeded: Seeded) -> None:
    base = f"/api/evaluations/{seeded.detection}/samples"
    assert _error(client, f"{base}?outcome=maybe&label=dog").startswith("outcome")
    assert _error(client, f"{base}?outcome=tp").startswith("outcome")
    assert _error(client, f"{base}?label=dog").startswith("outcome")
    assert _error(client, f"{base}?outcome=tp&label=wolf").startswith("label")


def test_detection_answers_survive_cache_eviction(client: TestClient, seeded: Seeded) -> None:
    """More IoUs (16 kept) and (IoU, score) points (32 kept) than the caches hold: same answers."""
    base = f"/api/evaluations/{seeded.detection}"
    first = [
        _get(client, f"{base}/{view}?iou=0.5&score=0.2")
        for view in ("labels", "confusion", "summary", "samples", "labels/cat")
    ]
    for i in range(40):
        _get(client, f"{base}/summary?iou={0.05 + 0.02 * i:.2f}&score={0.01 * i:.2f}")
    again = [
        _get(client, f"{base}/{view}?iou=0.5&score=0.2")
        for view in ("labels", "confusion", "summary", "samples", "labels/cat")
    ]
    assert again == first
