"""GET /api/compare: the answer valid against its schema (no NaN), the verdict of a planted
difference, and 4xx for hostile or impossible queries."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from assay.evaluation.classification import ClassificationResults
from assay.server.app import create_app
from assay.store import Workspace
from tests.server.conftest import BASE_URL, get_error, get_json

CLASSES = ["ant", "bee", "cat"]


def _scores(y: np.ndarray, strength: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(y), 3))
    logits[np.arange(len(y)), y] += strength
    e = np.exp(logits)
    return e / e.sum(axis=1, keepdims=True)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    home = tmp_path_factory.mktemp("compare") / "home"
    ws = Workspace(home)
    y = np.random.default_rng(0).integers(0, 3, 700)
    ids = np.array([f"s{i}" for i in range(700)])
    dv = ws.add_dataset_version("insects", task="classification", samples=pa.table({"id": ids}))
    other = ws.add_dataset_version("other", task="classification", samples=pa.table({"id": ids}))
    for name, strength, seed, version in (("weak", 0.8, 1, dv), ("strong", 1.8, 2, dv),
                                          ("elsewhere", 1.0, 3, other)):  # fmt: skip
        results = ClassificationResults(
            y, _scores(y, strength, seed), classes=CLASSES, sample_ids=ids
        )
        ws.save_evaluation(results, name=name, dataset_version_id=version.id)
    ws.close()
    return TestClient(create_app(home), base_url=BASE_URL)


def test_compare_answers_with_the_verdict(client: TestClient) -> None:
    data = get_json(client, "/api/compare?a=1&b=2&resamples=200")
    assert data["a"] == {"id": 1, "name": "weak"} and data["b"]["name"] == "strong"
    assert data["verdicts"][0].startswith("B is better on accuracy: +")
    accuracy = next(m for m in data["metrics"] if m["metric"] == "accuracy")
    assert accuracy["significant"] and accuracy["test"] == "Tango score (McNemar)"
    assert accuracy["primary"] and data["family"]["primary"] == "accuracy"
    assert data["family"]["headline"][0] == "accuracy" and data["margin"] is None
    assert len(data["per_class"]) == 3 and len(data["confusion"]["difference"]) == 3
    d = data["disagreements"]
    assert d["fixed"] > d["broken"] and d["fixed_samples"][0]["change"] == "fixed"
    again = get_json(client, "/api/compare?a=1&b=2&resamples=200")
    assert again == data  # kept


def test_hostile_or_impossible_queries_are_4xx(client: TestClient) -> None:
    assert "same evaluation" in get_error(client, "/api/compare?a=1&b=1")
    assert "same data" in get_error(client, "/api/compare?a=1&b=3")
    get_error(client, "/api/compare?a=1&b=99", status=404)
    get_error(client, "/api/compare?a=0&b=2")
    get_error(client, "/api/compare?a=1&b=99999999999999999999")
    get_error(client, "/api/compare?a=1&b=2&resamples=1")
    get_error(client, "/api/compare?a=1")
    get_error(client, "/api/compare?a=x&b=2")


def test_the_schema_test_table_lists_compare(tmp_path: Path) -> None:
    app = create_app(tmp_path / "h")
    paths = app.openapi()["paths"]
    assert paths["/api/compare"]["get"]["operationId"] == "compare-compare"


@pytest.fixture(scope="module")
def detection_client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    import json

    from assay.demo.shapes import make_shapes_dataset
    from assay.evaluation.detection import evaluate_detections

    root = tmp_path_factory.mktemp("detcompare")
    gt, dets = make_shapes_dataset(root, n_images=40, seed=4)
    data = json.loads(Path(dets).read_text())
    first = min(d["category_id"] for d in data)
    worse = root / "worse.json"
    worse.write_text(json.dumps([d for i, d in enumerate(data) if not (d["category_id"] == first
                                                                        and i % 2)]))  # fmt: skip
    home = root / "home"
    ws = Workspace(home)
    a = evaluate_detections(gt, dets)
    ids = [str(int(i)) for i in a.gt.image_ids]
    dv = ws.add_dataset_version("shapes", task="detection", samples=pa.table({"id": ids}))
    for name, path in (("all", dets), ("fewer", worse)):
        ws.save_evaluation(evaluate_detections(gt, path), task="detection", name=name,
                           dataset_version_id=dv.id, params={"iou": 0.5, "score": 0.3})  # fmt: skip
    ws.close()
    return TestClient(create_app(home), base_url=BASE_URL)


def test_detection_compare_answers_by_class_iou_and_image(detection_client: TestClient) -> None:
    data = get_json(detection_client, "/api/compare?a=1&b=2&resamples=100")
    assert data["task"] == "detection" and data["n_resamples"] == 100
    assert data["points"] == {"a": {"iou": 0.5, "score": 0.3}, "b": {"iou": 0.5, "score": 0.3}}
    assert data["verdicts"][0].startswith("B is worse on mAP")
    assert len(data["per_iou"]) == 10 and data["images"]["worse"] > 0
    worst = data["images"]["worse_images"][0]
    assert worst["file_name"].startswith("images/") and worst["errors_delta"] > 0
    assert data["per_class"][0]["significant"] and data["per_class"][0]["ap_delta"] < 0


def test_leaderboard_ranks_a_dataset_versions_evaluations(client: TestClient) -> None:
    data = get_json(client, "/api/leaderboard?dataset_version=1&resamples=200")
    assert data["dataset_version"]["dataset"] == "insects" and data["metric"] == "accuracy"
    assert [r["name"] for r in data["rows"]] == ["strong", "weak"]
    assert data["rows"][0]["best"] and data["rows"][1]["significant"]
    assert {m["metric"] for m in data["metrics"]} >= {"accuracy", "log_loss"}
    by_loss = get_json(client, "/api/leaderboard?dataset_version=1&metric=log_loss&resamples=50")
    assert by_loss["rows"][0]["name"] == "strong" and not by_loss["higher_is_better"]
    assert "not a classification metric" in get_error(
        client, "/api/leaderboard?dataset_version=1&metric=AP50"
    )
    get_error(client, "/api/leaderboard?dataset_version=1&metric=a%20b")
    get_error(client, "/api/leaderboard?dataset_version=99", status=404)
    get_error(client, "/api/leaderboard")


def test_detection_leaderboard(detection_client: TestClient) -> None:
    data = get_json(detection_client, "/api/leaderboard?dataset_version=1&resamples=50")
    assert data["task"] == "detection" and [r["name"] for r in data["rows"]] == ["all", "fewer"]


def test_the_leaderboard_takes_the_names_people_type(
    client: TestClient, detection_client: TestClient
) -> None:
    for name, key in (("Accuracy", "accuracy"), ("LogLoss", "log_loss"), ("f1", "macro_f1"),
                      ("ROC%20AUC", "roc_auc_macro"), ("AP", "average_precision_macro")):  # fmt: skip
        data = get_json(client, f"/api/leaderboard?dataset_version=1&metric={name}&resamples=50")
        assert data["metric"] == key, name
    data = get_json(detection_client, "/api/leaderboard?dataset_version=1&metric=mAP&resamples=50")
    assert data["metric"] == "AP" and data["label"] == "mAP (.50:.95)"
    f1 = get_json(detection_client, "/api/leaderboard?dataset_version=1&metric=F1&resamples=50")
    assert f1["metric"] == "f1"
    refusal = get_error(client, "/api/leaderboard?dataset_version=1&metric=mAP")
    assert "'mAP' is not a classification metric" in refusal
    assert "accuracy, top1_accuracy, macro_f1" in refusal and "also acc" in refusal
    assert "AP50" in get_error(detection_client, "/api/leaderboard?dataset_version=1&metric=auc")


def test_compare_at_other_thresholds_and_the_quick_answer(client: TestClient) -> None:
    quick = get_json(client, "/api/compare?a=1&b=2&threshold_a=0.7&threshold_b=0.7&intervals=false")
    assert quick["thresholds"] == {"a": 0.7, "b": 0.7} and quick["n_resamples"] == 0
    accuracy = next(m for m in quick["metrics"] if m["metric"] == "accuracy")
    # Tango's interval and McNemar's score p need no bootstrap: the quick answer has them
    assert accuracy["low"] < accuracy["delta"] < accuracy["high"] and accuracy["p_value"] > 0
    f1 = next(m for m in quick["metrics"] if m["metric"] == "macro_f1")
    assert f1["delta"] is not None and f1["p_value"] is None
    full = get_json(client, "/api/compare?a=1&b=2&threshold_a=0.7&threshold_b=0.7&resamples=100")
    assert (
        next(m for m in full["metrics"] if m["metric"] == "accuracy")["delta"] == accuracy["delta"]
    )
    # classification: analytic standard errors, nothing resampled (K2, issue 18)
    assert full["n_resamples"] == 0 and full["metrics"][0]["low"] is not None
    get_error(client, "/api/compare?a=1&b=2&threshold_a=1.5")
    get_error(client, "/api/compare?a=1&b=2&score_a=inf")
    get_error(client, "/api/compare?a=1&b=2&iou=0.2")


def test_compare_takes_a_margin(client: TestClient) -> None:
    """GET /api/compare?margin=: non-inferiority and equivalence of the primary metric (or the
    metrics named), in points for accuracy; a metric the task lacks is a 422."""
    data = get_json(client, "/api/compare?a=1&b=2&resamples=100&margin=0.5")
    (item,) = data["margin"]["metrics"]
    assert item["metric"] == "accuracy" and item["margin"] == pytest.approx(0.005)
    assert item["units"] == "points" and item["noninferior"] and not item["equivalent"]
    assert any("non-inferior to A on accuracy at a margin of 0.5 points" in v
               for v in data["margin"]["verdicts"])  # fmt: skip
    two = get_json(client, "/api/compare?a=2&b=1&resamples=100&margin=1&margin_metrics=acc,AUC")
    got = {m["metric"]: m for m in two["margin"]["metrics"]}
    assert set(got) == {"accuracy", "roc_auc_macro"} and got["roc_auc_macro"]["margin"] == 1
    assert not got["accuracy"]["noninferior"]  # B (weak) is far worse than A (strong)
    assert "not a headline metric" in get_error(
        client, "/api/compare?a=1&b=2&margin=1&margin_metrics=mAP"
    )
    get_error(client, "/api/compare?a=1&b=2&margin=-1")
