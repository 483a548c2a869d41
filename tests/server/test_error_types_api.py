"""``GET /api/evaluations/{id}/error-types``: TIDE's breakdown through the API, and hostile asks."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import Seeded
from tests.server.conftest import get_error as _error
from tests.server.conftest import get_json as _get

TYPES = ["cls", "loc", "both", "dupe", "bkg", "miss"]


def test_overall_then_per_class(client: TestClient, seeded: Seeded) -> None:
    base = f"/api/evaluations/{seeded.detection}/error-types"
    overall = _get(client, base)
    assert [r["type"] for r in overall["types"]] == TYPES
    assert [r["type"] for r in overall["special"]] == ["fp", "fn"]
    assert (overall["iou"], overall["background_iou"], overall["classes"]) == (0.5, 0.1, None)
    assert all(r["dap"] is None or r["dap"] >= 0 for r in overall["types"])
    summary = _get(client, f"/api/evaluations/{seeded.detection}/summary")
    assert overall["ap"] == pytest.approx(summary["AP50"], abs=1e-12)  # TIDE's AP is COCO's AP50
    per_class = _get(client, f"{base}?per_class=true")
    totals = {t: sum(c["counts"][t] for c in per_class["classes"]) for t in TYPES}
    assert totals == {r["type"]: r["count"] for r in overall["types"]}
    label = per_class["classes"][0]["label"]
    one = _get(client, f"{base}?label={label}&iou=0.75")
    assert [c["label"] for c in one["classes"]] == [label] and one["iou"] == 0.75


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("?label=unicorn", 422, "unknown label"),
        ("?label=" + "x" * 5000, 422, "label"),
        ("?iou=7", 422, "iou"),
        ("?iou=nan", 422, "iou"),
        ("?background_iou=0.6", 422, "background_iou"),
        ("?per_class=maybe", 422, "per_class"),
    ],
)
def test_bad_queries_are_4xx(
    client: TestClient, seeded: Seeded, query: str, status: int, words: str
) -> None:
    detail = _error(client, f"/api/evaluations/{seeded.detection}/error-types{query}", status)
    assert words in detail


def test_unknown_or_classification_evaluation(client: TestClient, seeded: Seeded) -> None:
    assert "not found" in _error(client, "/api/evaluations/987654/error-types", 404).lower()
    assert "detection" in _error(client, f"/api/evaluations/{seeded.image}/error-types", 422)
    _error(client, "/api/evaluations/..%2F..%2Fetc/error-types", 404)
    _error(client, "/api/evaluations/99999999999999999999/error-types", 422)


def test_images_of_a_type(client: TestClient, seeded: Seeded) -> None:
    base = f"/api/evaluations/{seeded.detection}/error-types"
    overall = {r["type"]: r["count"] for r in _get(client, base)["types"]}
    for t in TYPES:
        page = _get(client, f"{base}/{t}/images?limit=200")
        assert sum(i["count"] for i in page["items"]) == overall[t]
    some = next(t for t in TYPES if overall[t] > 0)
    page = _get(client, f"{base}/{some}/images?limit=1&offset=0")
    assert len(page["items"]) == 1 and page["total"] >= 1
    assert "error_type" in _error(client, f"{base}/nope/images")
    assert "limit" in _error(client, f"{base}/miss/images?limit=100000")
    assert "unknown label" in _error(client, f"{base}/miss/images?label=unicorn")
    assert "detection" in _error(client, f"/api/evaluations/{seeded.image}/error-types/miss/images")
