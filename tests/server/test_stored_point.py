"""One stored operating point per evaluation, read back by every route: a detection evaluated at
IoU 0.6 and confidence 0.3 answers there wherever no parameter says otherwise (the page, the
summary, labels, confusion, the feed, compare, the leaderboard, data quality); a detection stored
without a confidence answers at the F1-optimal one; a single-label evaluation at the argmax."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from assay.evaluation.classification import evaluate_classification
from assay.evaluation.detection import evaluate_detections
from assay.evaluation.results import OperatingPoint
from assay.server.app import create_app
from assay.service.comparisons import stored_point
from assay.service.quality import analyze_stored
from assay.store import Workspace
from tests.server.conftest import BASE_URL, _detection
from tests.server.conftest import get_json as _get


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    root = tmp_path_factory.mktemp("stored-point")
    rng = np.random.default_rng(4)
    gt, dt = _detection(root / "det", rng)
    ws = Workspace(root / "home")
    samples = pa.table({"id": [str(im["id"]) for im in gt["images"]]})
    dv = ws.add_dataset_version("boxes", task="detection", samples=samples)
    given = evaluate_detections(gt, dt, iou=0.6, score=0.3)
    other = evaluate_detections(gt, dt[::2])  # no confidence given: F1-optimal
    ids = {
        "given": ws.save_evaluation(
            given, task="detection", name="given", dataset_version_id=dv.id, params={}
        ).id,
        "free": ws.save_evaluation(
            other, task="detection", name="free", dataset_version_id=dv.id, params={}
        ).id,
        "dv": dv.id,
    }
    y = rng.integers(0, 3, 60)
    s = rng.dirichlet(np.ones(3), 60)
    table = pa.table({"id": [f"s{i}" for i in range(60)]})
    cdv = ws.add_dataset_version("points", task="classification", samples=table)
    ids["argmax"] = ws.save_evaluation(
        evaluate_classification(y, s, classes=["a", "b", "c"]),
        task="classification",
        name="argmax",
        dataset_version_id=cdv.id,
        params={},
    ).id
    ws.close()
    return root / "home", ids


@pytest.fixture(scope="module")
def client(stored: tuple[Path, dict[str, int]]) -> TestClient:
    with TestClient(create_app(stored[0]), base_url=BASE_URL) as c:
        yield c


def test_a_detection_stored_at_a_point_is_read_back_there_by_every_route(
    client: TestClient, stored: tuple[Path, dict[str, int]]
) -> None:
    home, ids = stored
    e = ids["given"]
    ws = Workspace(home)
    assert ws.get_evaluation(e).params["iou"] == 0.6 and ws.get_evaluation(e).params["score"] == 0.3
    assert stored_point(ws, e) == OperatingPoint(iou=0.6, score=0.3)
    detail = _get(client, f"/api/evaluations/{e}")
    assert detail["point"]["iou"] == 0.6 and detail["point"]["score"] == 0.3
    summary = _get(client, f"/api/evaluations/{e}/summary")
    assert (summary["iou"], summary["score"], summary["point_rule"]) == (0.6, 0.3, "given")
    expected = ws.load_results(e).summary(OperatingPoint(iou=0.6, score=0.3))
    assert summary["f1"] == expected["f1"] and detail["summary"]["tp"] == expected["tp"]
    for path in ("labels", "confusion", "samples"):
        answer = _get(client, f"/api/evaluations/{e}/{path}")
        assert (answer["iou"], answer["score"]) == (0.6, 0.3), path
    compare = _get(client, f"/api/compare?a={ids['free']}&b={e}&resamples=50")
    assert compare["points"]["b"] == {"iou": 0.6, "score": 0.3}
    free = ws.load_results(ids["free"])
    best = free.optimal("f1", OperatingPoint(iou=0.5))["score"]
    assert compare["points"]["a"] == {"iou": 0.5, "score": best}
    board = _get(client, f"/api/leaderboard?dataset_version={ids['dv']}&metric=f1&resamples=50")
    rows = {row["id"]: row for row in board["rows"]}
    assert rows[e]["value"] == expected["f1"]
    assert rows[ids["free"]]["value"] == free.summary()["f1"] == best_f1(free)
    quality = analyze_stored(ws, e, processes=False)
    assert quality["point"] == {"iou": 0.6, "score": 0.3}
    ws.close()


def best_f1(results) -> float:  # noqa: ANN001
    return results.optimal("f1", OperatingPoint(iou=0.5))["value"]


def test_a_single_label_evaluation_opens_at_the_argmax(
    client: TestClient, stored: tuple[Path, dict[str, int]]
) -> None:
    e = stored[1]["argmax"]
    detail = _get(client, f"/api/evaluations/{e}")
    assert detail["point"]["threshold"] == 0.0
    assert detail["summary"]["point_rule"] == "argmax" and detail["summary"]["coverage"] == 1.0
    at = _get(client, f"/api/evaluations/{e}/summary?threshold=0.6")
    assert at["point_rule"] == "threshold" and at["coverage"] < 1.0
    curve = _get(client, f"/api/evaluations/{e}/curves/risk_coverage")
    assert curve["kind"] == "risk_coverage" and curve["coverage"][-1] == 1.0
    assert curve["aurc"] is not None
