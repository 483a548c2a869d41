"""The sample feed, the confusion-cell feed, a sample and a label's examples mark the likely label
errors of a single-label evaluation: null while no data-quality analysis of it is ready (the feed
never starts one), then true for every sample confident learning flags (all of them, not only the
100 the analysis lists) and false for the others."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay.errors import InputError
from assay.evaluation.quality import label_issues
from assay.server.app import create_app
from assay.server.deps import analysis_ready
from assay.server.quality_runs import QualityRuns
from assay.store import Workspace
from tests.server.conftest import BASE_URL, Seeded, get_json

FEED_PAGE = 500


def _feed(client: TestClient, evaluation: int, query: str = "") -> list[dict[str, Any]]:
    """Every item of the feed (all pages), each page valid against its schema."""
    items: list[dict[str, Any]] = []
    offset = 0
    while True:
        url = f"/api/evaluations/{evaluation}/samples?limit={FEED_PAGE}&offset={offset}{query}"
        page = get_json(client, url)
        items += page["items"]
        offset += FEED_PAGE
        if offset >= page["total"]:
            assert len(items) == page["total"]
            return items


def _ready(client: TestClient, evaluation: int, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    url = f"/api/evaluations/{evaluation}/quality"
    while True:
        answer = client.get(url)
        if answer.status_code != 202:
            return get_json(client, url)
        assert time.monotonic() < deadline, "the analysis did not finish"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def app_client(seeded: Seeded) -> TestClient:
    app = create_app(seeded.home)
    app.state.quality = QualityRuns(app.state.workspace, wait_s=0.0)
    return TestClient(app, base_url=BASE_URL)


@pytest.fixture(scope="module")
def oracle(seeded: Seeded) -> list[dict[str, Any]]:
    """cleanlab's flags on the text evaluation, from the evaluation layer directly."""
    res = Workspace(seeded.home).load_results(seeded.text)
    return label_issues(res.y_true, res.y_score, res.classes)  # type: ignore[attr-defined]


def test_no_mark_before_an_analysis_and_the_feed_starts_none(
    app_client: TestClient, seeded: Seeded
) -> None:
    runs = app_client.app.state.quality  # type: ignore[attr-defined]
    items = _feed(app_client, seeded.text)
    assert len(items) == 1500
    assert all(i["possible_label_error"] is None for i in items)
    one = get_json(app_client, f"/api/evaluations/{seeded.text}/samples/3")
    assert one["possible_label_error"] is None
    detail = get_json(app_client, f"/api/evaluations/{seeded.text}/labels/cat?limit=3")
    examples = [i for outcome in ("tp", "fp", "fn") for i in detail["examples"][outcome]]
    assert examples and all(i["possible_label_error"] is None for i in examples)
    # multi-label and detection items never carry the mark (label issues are single-label)
    for kind in ("multilabel", "detection"):
        page = get_json(app_client, f"/api/evaluations/{getattr(seeded, kind)}/samples?limit=5")
        assert page["items"] and all("possible_label_error" not in i for i in page["items"])
    # looking was all: no analysis of the text evaluation was started by the feed
    assert runs.in_flight(seeded.text) is None and not analysis_ready(runs, seeded.text)


def test_every_flagged_sample_is_marked_once_the_analysis_is_ready(
    app_client: TestClient, seeded: Seeded, oracle: list[dict[str, Any]]
) -> None:
    flagged = {r["index"] for r in oracle}
    assert 100 < len(flagged) < 1500  # more than the analysis lists, fewer than all
    ready = _ready(app_client, seeded.text)
    assert ready["status"] == "ready" and ready["n_label_issues"] == len(flagged)
    assert len(ready["label_issues"]) == 100
    items = _feed(app_client, seeded.text)
    marks = {i["index"]: i["possible_label_error"] for i in items}
    assert len(marks) == 1500
    assert {i for i, m in marks.items() if m is True} == flagged
    assert all(m is False for i, m in marks.items() if i not in flagged)
    # a sample flagged beyond the 100 the analysis lists, and one not flagged at all
    listed = {r["index"] for r in ready["label_issues"]}
    beyond = next(r["index"] for r in oracle if r["index"] not in listed)
    clean = next(i for i in range(1500) if i not in flagged)
    base = f"/api/evaluations/{seeded.text}/samples"
    assert get_json(app_client, f"{base}/{beyond}")["possible_label_error"] is True
    assert get_json(app_client, f"{base}/{clean}")["possible_label_error"] is False
    detail = get_json(app_client, f"/api/evaluations/{seeded.text}/labels/cat?limit=50")
    for outcome in ("tp", "fp", "fn"):
        for item in detail["examples"][outcome]:
            assert item["possible_label_error"] is (item["index"] in flagged)


def test_the_confusion_cell_feed_marks_its_samples(
    app_client: TestClient, seeded: Seeded, oracle: list[dict[str, Any]]
) -> None:
    _ready(app_client, seeded.text)
    flagged = {r["index"] for r in oracle}
    # at threshold 0 the prediction is the argmax: the cell (given, suggested) of an issue
    issue = oracle[0]
    query = f"&threshold=0&actual={issue['given']}&predicted={issue['suggested']}"
    cell = _feed(app_client, seeded.text, query)
    assert issue["index"] in {i["index"] for i in cell}
    assert all(i["actual"] == issue["given"] for i in cell)
    assert all(i["possible_label_error"] is (i["index"] in flagged) for i in cell)
    # the diagonal: confidently right samples are rarely flagged, and never marked unless so
    right = _feed(app_client, seeded.text, f"&threshold=0&actual={issue['given']}"
                  f"&predicted={issue['given']}")  # fmt: skip
    assert right and all(i["possible_label_error"] is (i["index"] in flagged) for i in right)
    assert any(i["possible_label_error"] is False for i in right)


def test_a_failed_analysis_leaves_the_marks_null(seeded: Seeded) -> None:
    def analyze(ws: Any, evaluation_id: int, **kw: Any) -> dict[str, Any]:
        raise InputError("no properties today")

    app = create_app(seeded.home)
    app.state.quality = QualityRuns(app.state.workspace, wait_s=30.0, analyze=analyze)
    client = TestClient(app, base_url=BASE_URL)
    failed = get_json(client, f"/api/evaluations/{seeded.image}/quality")
    assert failed["status"] == "failed" and failed["error"] == "no properties today"
    items = _feed(client, seeded.image)
    assert len(items) == 40 and all(i["possible_label_error"] is None for i in items)
    assert (
        get_json(client, f"/api/evaluations/{seeded.image}/samples/0")["possible_label_error"]
        is None
    )
