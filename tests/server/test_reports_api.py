"""``GET /api/evaluations/{id}/report``: the standalone report as a download (HTML with its
data inline and thumbnails embedded, or Markdown), a comparison's, and one-line refusals."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from assay.evaluation.classification import evaluate_classification
from assay.server.app import create_app
from assay.store import Workspace
from tests.server.conftest import BASE_URL, CLASSES, _png, _scores, get_error, get_json

N = 40


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("reports-api")
    rng = np.random.default_rng(5)
    ws = Workspace(root / "home")
    paths = [_png(root / "img" / f"{i}.png", i, (64, 48)) for i in range(N)]
    ids = [f"img{i}" for i in range(N)]
    dv = ws.add_dataset_version(
        "pets", task="classification",
        samples=pa.table({"id": ids, "path": [str(p) for p in paths]}),
    )  # fmt: skip
    y = rng.integers(0, 3, N)
    a = ws.save_evaluation(
        evaluate_classification(y, _scores(rng, N, 3), classes=CLASSES, sample_ids=ids),
        name="fp32", dataset_version_id=dv.id,
    )  # fmt: skip
    b = ws.save_evaluation(
        evaluate_classification(y, _scores(rng, N, 3), classes=CLASSES, sample_ids=ids),
        name="int8", dataset_version_id=dv.id,
    )  # fmt: skip
    ws.close()
    app = create_app(root / "home", data_roots=[root])
    with TestClient(app, base_url=BASE_URL) as client:
        yield {"client": client, "a": a.id, "b": b.id}


def _data(html: str) -> dict[str, Any]:
    m = re.search(r'id="assay-data">(.*?)</script>', html, re.S)
    assert m
    return json.loads(m.group(1).replace("<\\/", "</"))


def test_the_html_report_is_an_attachment_with_the_stored_numbers(api: dict[str, Any]) -> None:
    client, a = api["client"], api["a"]
    r = client.get(f"/api/evaluations/{a}/report?samples=3&intervals=false")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-disposition"] == f'attachment; filename="assay-report-{a}.html"'
    data = _data(r.text)
    assert data["report"]["summary"] == get_json(client, f"/api/evaluations/{a}")["summary"]
    assert len(data["samples"]) == 3
    assert all(s["uri"].startswith("data:image/jpeg;base64,") for s in data["samples"])
    assert r.text.count('<img src="data:image/jpeg;base64,') == 3


def test_a_comparison_in_markdown(api: dict[str, Any]) -> None:
    client, a, b = api["client"], api["a"], api["b"]
    r = client.get(f"/api/evaluations/{a}/report?format=md&compare={b}&intervals=false")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/markdown")
    assert f'filename="assay-report-{a}-vs-{b}.md"' in r.headers["content-disposition"]
    assert "A (baseline) **fp32** · B (candidate) **int8**" in r.text


@pytest.mark.parametrize(
    ("query", "status"),
    [("format=pdf", 422), ("samples=99", 422), ("compare={a}", 422)],
)
def test_bad_requests_are_one_line(api: dict[str, Any], query: str, status: int) -> None:
    a = api["a"]
    detail = get_error(api["client"], f"/api/evaluations/{a}/report?{query.format(a=a)}", status)
    assert "\n" not in detail


def test_an_unknown_evaluation_is_404(api: dict[str, Any]) -> None:
    assert "\n" not in get_error(api["client"], "/api/evaluations/999/report", 404)
