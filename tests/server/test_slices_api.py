"""GET /api/evaluations/{id}/quality/slices and .../slices/{index}/samples: the planted slice
first, answers valid against their schemas, a slice's samples with media refs, hostile queries
4xx; and the per-label page's numbers: a label's TP / FN / FP and its galleries' totals equal
the per-class table's at the same point."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assay.server.app import create_app
from tests.server.conftest import BASE_URL, Seeded, get_error, get_json
from tests.service.test_slices_service import planted_workspace


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TestClient, int]]:
    home: Path = tmp_path_factory.mktemp("slices-api") / "home"
    _, eid, _ = planted_workspace(home)
    with TestClient(create_app(home), base_url=BASE_URL) as client:
        yield client, eid


def test_slices_and_their_samples(planted: tuple[TestClient, int]) -> None:
    client, eid = planted
    out = get_json(client, f"/api/evaluations/{eid}/quality/slices")
    first = out["slices"][0]
    assert {c["column"] for c in first["conditions"]} == {"source", "brightness"}
    assert first["significant"] and out["n_family"] >= out["n_tried"]
    page = get_json(client, f"/api/evaluations/{eid}/quality/slices/0/samples?limit=7")
    assert page["total"] == first["n"] and len(page["items"]) == 7
    assert page["slice"]["description"] == first["description"]
    assert page["items"][0]["outcome"] == "incorrect"
    small = get_json(
        client, f"/api/evaluations/{eid}/quality/slices?min_size=500&max_conditions=1&top=3"
    )
    assert small["min_size"] == 500 and len(small["slices"]) <= 3
    assert all(len(s["conditions"]) == 1 and s["n"] >= 500 for s in small["slices"])


@pytest.mark.parametrize(
    "query",
    [
        "min_size=-1",
        "min_size=1000000000",
        "min_size=abc",
        "max_conditions=4",
        "max_conditions=0",
        "top=0",
        "top=1000000",
    ],
)
def test_hostile_slice_queries(planted: tuple[TestClient, int], query: str) -> None:
    client, eid = planted
    get_error(client, f"/api/evaluations/{eid}/quality/slices?{query}")


def test_impossible_slice_queries(planted: tuple[TestClient, int]) -> None:
    client, eid = planted
    # more than the samples: one line naming the bound
    detail = get_error(
        client, f"/api/evaluations/{eid}/quality/slices?min_size=9999999", status=422
    )
    assert "min_size" in detail
    get_error(client, f"/api/evaluations/{eid}/quality/slices/99/samples", status=422)
    get_error(client, f"/api/evaluations/{eid}/quality/slices/100/samples")
    get_error(client, f"/api/evaluations/{eid}/quality/slices/..%2F..%2Fetc/samples", status=404)
    get_error(client, "/api/evaluations/999/quality/slices", status=404)


@pytest.mark.parametrize("kind", ["image", "detection"])
def test_label_page_counts_equal_the_per_class_table(
    client: TestClient, seeded: Seeded, kind: str
) -> None:
    eid = seeded.image if kind == "image" else seeded.detection
    point = "threshold=0.6" if kind == "image" else "iou=0.5&score=0.4"
    table = get_json(client, f"/api/evaluations/{eid}/labels?{point}")
    for row in table["items"]:
        label = row["label"]
        detail = get_json(client, f"/api/evaluations/{eid}/labels/{label}?{point}&limit=500")
        for k in ("tp", "fp", "fn", "precision", "recall", "f1"):
            assert detail["metrics"][k] == row[k], (label, k)
        for outcome in ("tp", "fp", "fn"):
            feed = get_json(
                client,
                f"/api/evaluations/{eid}/samples?{point}&label={label}&outcome={outcome}&limit=500",
            )
            if kind == "image":  # one sample per TP / FP / FN
                assert feed["total"] == row[outcome], (label, outcome)
            else:  # images holding such a box: their boxes add up to the count
                assert sum(it[outcome] for it in feed["items"]) >= row[outcome] >= feed["total"]
            assert len(detail["examples"][outcome]) == min(feed["total"], 500)
    assert "unknown label" in get_error(client, f"/api/evaluations/{eid}/labels/no-such-label")
