"""Every view of every task answers exactly its response model, and passes the results object's
answer through: the server adds only what comes from the dataset version (text, media URLs,
metadata) and trims curves to 1,000 points."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from assay.evaluation.results import OperatingPoint
from assay.store import Workspace
from tests.server.conftest import Seeded, get_json, validate_answer

KINDS = ["image", "text", "multilabel", "detection"]
DECORATION = ("text", "media_url", "thumbnail_url", "metadata", "possible_label_error")


@pytest.fixture(scope="module")
def workspace(seeded: Seeded) -> Workspace:
    return Workspace(seeded.home)


def _point(kind: str) -> tuple[str, OperatingPoint]:
    if kind == "detection":
        return "iou=0.6&score=0.3", OperatingPoint(iou=0.6, score=0.3)
    return "threshold=0.4", OperatingPoint(threshold=0.4)


def _undecorated(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in DECORATION}


@pytest.mark.parametrize("kind", KINDS)
def test_views_pass_the_results_answers_through(
    client: TestClient, seeded: Seeded, workspace: Workspace, kind: str
) -> None:
    evaluation = getattr(seeded, kind)
    base = f"/api/evaluations/{evaluation}"
    query, at = _point(kind)
    res = workspace.load_results(evaluation)
    assert get_json(client, f"{base}/summary?{query}") == res.summary(at)
    assert get_json(client, f"{base}/labels?{query}") == res.per_class(at)
    assert get_json(client, f"{base}/optimal?{query}") == res.optimal("f1", at)
    confusion = get_json(client, f"{base}/confusion?{query}&top=2&normalize=true")
    assert confusion == res.confusion(at, normalize="true", top=2)
    page = get_json(client, f"{base}/samples?{query}&limit=7&offset=2")
    expected = res.samples(at, limit=7, offset=2)
    assert {**page, "items": [_undecorated(i) for i in page["items"]]} == expected
    index = expected["items"][0]["index"]
    one = get_json(client, f"{base}/samples/{index}?{query}")
    assert _undecorated(one) == {"task": res.task, **res.sample(index, at)}
    label = res.classes[1]
    detail = get_json(client, f"{base}/labels/{label}?{query}&limit=2")
    row = next(r for r in res.per_class(at)["items"] if r["label"] == label)
    assert detail["task"] == res.task and detail["label"] == label and detail["metrics"] == row
    assert set(detail["examples"]) == {"tp", "fp", "fn"}
    for outcome, items in detail["examples"].items():
        feed = get_json(client, f"{base}/samples?{query}&label={label}&outcome={outcome}&limit=2")
        assert {i["index"] for i in items} <= set(range(res.n_samples))
        assert len(items) == min(2, feed["total"])
    for curve in ("roc", "pr", "threshold", "calibration", "density"):
        url = f"{base}/curves/{curve}?label={label}&{query}"
        if kind == "detection" and curve != "pr":
            assert client.get(url).status_code == 422
            continue
        answer = get_json(client, url)
        assert answer["kind"] == curve


@pytest.mark.parametrize("kind", KINDS)
def test_feeds_with_filters_and_sorts(client: TestClient, seeded: Seeded, kind: str) -> None:
    base = f"/api/evaluations/{getattr(seeded, kind)}/samples"
    sorts = (
        ["errors", "tp", "fp", "fn", "index"]
        if kind == "detection"
        else ["confidence", "confusion", "index"]
    )
    for sort in sorts:
        page = get_json(client, f"{base}?sort={sort}&limit=5&errors_only=true")
        assert page["limit"] == 5
    cell = get_json(client, f"{base}?actual=cat&predicted=dog&limit=500")
    assert all(item["index"] >= 0 for item in cell["items"])
    if kind == "detection":
        assert cell["n_boxes"] is not None and cell["n_boxes"] >= cell["total"]


def test_plain_score_table_items_carry_id_and_metadata(client: TestClient, seeded: Seeded) -> None:
    """No text, no image: an item shows its id and the dataset's metadata columns."""
    base = f"/api/evaluations/{seeded.multilabel}"
    detail = get_json(client, base)
    assert detail["media"] is None
    assert detail["metadata_columns"] == ["split", "weight", "reviewed"]
    one = get_json(client, f"{base}/samples/3")
    assert one["id"] == "t3"
    assert one["metadata"] == {"split": "val", "weight": 1.5, "reviewed": False}
    assert "media_url" not in one and "text" not in one
    for item in get_json(client, f"{base}/samples?limit=500")["items"]:
        assert item["id"] == f"t{item['index']}"
        assert set(item["metadata"]) == {"split", "weight", "reviewed"}


def test_items_without_metadata_columns_have_an_empty_one(
    client: TestClient, seeded: Seeded
) -> None:
    one = get_json(client, f"/api/evaluations/{seeded.text}/samples/0")
    assert one["metadata"] == {} and one["text"] == "question number 0"


# ---------------------------------------------------------------- the validation bites


@pytest.mark.parametrize(
    "url",
    [
        "/api/evaluations/{image}",
        "/api/evaluations/{detection}/summary",
        "/api/evaluations/{multilabel}/labels",
        "/api/evaluations/{image}/confusion",
        "/api/evaluations/{text}/curves/roc",
        "/api/evaluations/{detection}/curves/pr",
        "/api/evaluations/{multilabel}/samples",
        "/api/evaluations/{detection}/samples/0",
        "/api/evaluations/{image}/labels/cat",
        "/api/evaluations/{detection}/optimal",
    ],
)
def test_an_extra_or_missing_field_fails_validation(
    client: TestClient, seeded: Seeded, url: str
) -> None:
    url = url.format(**vars(seeded))
    answer = get_json(client, url)
    validate_answer(client.app, url, answer)  # type: ignore[arg-type]

    extra = copy.deepcopy(answer)
    extra["surprise"] = 1
    with pytest.raises(ValidationError, match="surprise"):
        validate_answer(client.app, url, extra)  # type: ignore[arg-type]

    key = next(k for k in answer if k not in ("task", "kind"))
    missing = copy.deepcopy(answer)
    del missing[key]
    with pytest.raises(ValidationError):
        validate_answer(client.app, url, missing)  # type: ignore[arg-type]


def test_a_nested_extra_field_fails_validation(client: TestClient, seeded: Seeded) -> None:
    url = f"/api/evaluations/{seeded.detection}/samples?limit=1"
    answer = get_json(client, url)
    answer["items"][0]["boxes"][0]["colour"] = "red"
    with pytest.raises(ValidationError, match="colour"):
        validate_answer(client.app, url, answer)  # type: ignore[arg-type]
    page = get_json(client, f"/api/evaluations/{seeded.image}/samples?limit=1")
    page["items"][0]["actual"] = ["cat"]  # a multi-label item in a single-label page
    with pytest.raises(ValidationError):
        validate_answer(client.app, url, page)  # type: ignore[arg-type]
