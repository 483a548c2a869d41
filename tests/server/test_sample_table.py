"""``GET /api/evaluations/{id}/samples.csv``: the feed's rows as CSV, the same filters and order,
bounded by ``max_rows``, a bad filter a 422 before anything is sent."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient

from assay.server.routers.sample_table import _cell, worst_error
from tests.server.conftest import Seeded, get_error, get_json


def _csv(client: TestClient, url: str) -> tuple[list[dict[str, str]], dict[str, str]]:
    answer = client.get(url)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(answer.text))), dict(answer.headers)


def test_classification_rows_equal_the_feeds(client: TestClient, seeded: Seeded) -> None:
    e = seeded.image
    rows, headers = _csv(client, f"/api/evaluations/{e}/samples.csv?sort=confusion")
    feed = get_json(client, f"/api/evaluations/{e}/samples?sort=confusion&limit=500")
    assert len(rows) == feed["total"] == 40 == int(headers["x-assay-total"])
    assert list(rows[0]) == [
        "index", "id", "predicted", "confidence", "actual", "actual_rank", "actual_confidence",
        "outcome",
    ]  # fmt: skip
    for row, item in zip(rows, feed["items"], strict=True):
        assert int(row["index"]) == item["index"] and row["id"] == item["id"]
        assert row["predicted"] == (item["predicted"] or "") and row["actual"] == item["actual"]
        assert int(row["actual_rank"]) == item["actual_rank"]
        assert float(row["confidence"]) == item["confidence"]
        assert float(row["actual_confidence"]) == item["actual_confidence"]
        assert row["outcome"] == item["outcome"]
    assert 'filename="evaluation-' in headers["content-disposition"]


def test_filters_bound_and_detection(client: TestClient, seeded: Seeded) -> None:
    e = seeded.image
    errors, _ = _csv(client, f"/api/evaluations/{e}/samples.csv?errors_only=true")
    feed = get_json(client, f"/api/evaluations/{e}/samples?errors_only=true&limit=500")
    assert len(errors) == feed["total"] and {r["outcome"] for r in errors} != {"correct"}
    few, headers = _csv(client, f"/api/evaluations/{e}/samples.csv?max_rows=7&sort=index")
    assert [int(r["index"]) for r in few] == list(range(39, 32, -1))  # by index, descending
    assert headers["x-assay-rows"] == "7" and headers["x-assay-total"] == "40"
    text, _ = _csv(client, f"/api/evaluations/{seeded.text}/samples.csv")
    assert len(text) == 1500  # three pages of 500 streamed
    assert len({r["index"] for r in text}) == 1500
    det, _ = _csv(client, f"/api/evaluations/{seeded.detection}/samples.csv")
    images = get_json(client, f"/api/evaluations/{seeded.detection}/samples?limit=500")
    assert len(det) == images["total"]
    assert list(det[0])[-6:] == ["n_gt", "n_pred", "tp", "fp", "fn", "worst_error"]
    assert [int(r["tp"]) for r in det] == [i["tp"] for i in images["items"]]
    for row, item in zip(det, images["items"], strict=True):
        boxes = item["boxes"]
        gt = [b for b in boxes if b["kind"] == "gt" and b["status"] != "crowd"]
        assert int(row["n_gt"]) == len(gt) and int(row["n_pred"]) == item["tp"] + item["fp"]
        assert (row["worst_error"] == "") == (item["fp"] + item["fn"] == 0)
    multi, _ = _csv(client, f"/api/evaluations/{seeded.multilabel}/samples.csv")
    assert len(multi) == 30 and any("|" in r["actual"] for r in multi)


def test_bad_filters_are_one_line_422s(client: TestClient, seeded: Seeded) -> None:
    e = seeded.image
    assert "zebra" in get_error(client, f"/api/evaluations/{e}/samples.csv?actual=zebra")
    get_error(client, f"/api/evaluations/{e}/samples.csv?max_rows=0")
    get_error(client, "/api/evaluations/999/samples.csv", 404)


def test_cells_a_spreadsheet_would_run_are_quoted() -> None:
    assert _cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and _cell("@x") == "'@x"
    assert _cell(["a", "b"]) == "a|b" and _cell(None) == "" and _cell(-0.5) == -0.5


def test_the_worst_error_is_the_most_confident_wrong_box_else_the_largest_miss() -> None:
    def box(kind: str, label: str, status: str, score: float | None = None, match: int | None = None,
            size: float = 10.0) -> dict:  # fmt: skip
        return {"kind": kind, "label": label, "status": status, "score": score, "match": match,
                "bbox": [0.0, 0.0, size, size]}  # fmt: skip

    boxes = [
        box("gt", "cat", "misclassified", match=2),
        box("gt", "dog", "fn", size=40.0),
        box("pred", "dog", "misclassified", 0.91, match=0),
        box("pred", "bird", "fp", 0.5),
        box("pred", "cat", "tp", 0.99),
    ]
    assert worst_error(boxes) == "cat detected as dog (0.91)"
    boxes[3]["score"] = 0.95
    assert worst_error(boxes) == "false bird (0.95)"
    missed = [box("gt", "cat", "fn", size=5.0), box("gt", "dog", "fn", size=40.0)]
    assert worst_error(missed) == "missed dog"
    assert worst_error([box("gt", "cat", "tp"), box("pred", "cat", "tp", 0.9)]) is None
