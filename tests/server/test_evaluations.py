"""Evaluations, datasets, models and jobs: listing, detail, delete, background evaluation."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from assay.evaluation.classification import evaluate_classification
from assay.evaluation.results import OperatingPoint
from assay.store import Workspace
from tests.server.conftest import CLASSES, Seeded, get_json


@pytest.fixture(scope="module")
def workspace(seeded: Seeded) -> Workspace:
    return Workspace(seeded.home)


def test_list_newest_first_with_headline(client: TestClient, seeded: Seeded) -> None:
    items = get_json(client, "/api/evaluations")["items"]
    ids = [e["id"] for e in items]
    assert ids == sorted(ids, reverse=True)
    by_id = {e["id"]: e for e in items}
    image = by_id[seeded.image]
    assert image["task"] == "classification" and image["status"] == "done"
    assert (
        image["headline"]["metric"] == "roc_auc_macro" and image["headline"]["label"] == "ROC AUC"
    )
    assert 0 <= image["headline"]["value"] <= 1
    assert image["dataset"]["name"] == "pets" and image["dataset"]["version"] == "v1"
    assert image["model"] == {
        "id": image["model"]["id"],
        "name": "resnet",
        "version_id": seeded.int8_version,
        "version": "int8",
        "parent_version_id": seeded.fp32_version,
    }
    assert (image["n_samples"], image["n_classes"]) == (40, 3)
    assert by_id[seeded.multilabel]["task"] == "multilabel"
    det = by_id[seeded.detection]
    assert det["headline"]["metric"] == "AP" and det["headline"]["label"] == "mAP"
    assert det["model"] is None and det["n_samples"] == 12


@pytest.mark.parametrize("kind", ["image", "text", "multilabel"])
def test_classification_detail(
    client: TestClient, seeded: Seeded, workspace: Workspace, kind: str
) -> None:
    evaluation = getattr(seeded, kind)
    answer = get_json(client, f"/api/evaluations/{evaluation}")
    results = workspace.load_results(evaluation)
    assert answer["classes"] == CLASSES
    # the stored point: the image evaluation was stored at 0.5; the text one with none, so the
    # argmax; multi-label's default per-class threshold 0.5
    expected = {"image": 0.5, "text": 0.0, "multilabel": 0.5}[kind]
    assert answer["point"] == {"threshold": expected, "iou": None, "score": None}
    assert answer["summary"] == results.summary()
    assert answer["optimal"] == results.optimal("f1")
    assert answer["headline"] == results.headline()
    assert answer["folds"] is None and answer["extra"] is None
    assert answer["media"] == {"image": "image", "text": "text", "multilabel": None}[kind]


def test_detection_detail(client: TestClient, seeded: Seeded, workspace: Workspace) -> None:
    answer = get_json(client, f"/api/evaluations/{seeded.detection}")
    results = workspace.load_results(seeded.detection)
    assert answer["task"] == "detection" and answer["classes"] == CLASSES
    # stored without a confidence: the F1-optimal one at IoU 0.5
    best = results.optimal("f1", OperatingPoint(iou=0.5))["score"]
    assert answer["point"] == {"threshold": None, "iou": 0.5, "score": best} and best > 0
    assert answer["summary"]["point_rule"] == "f1_optimal"
    assert answer["summary"] == results.summary() and answer["summary"]["task"] == "detection"
    assert answer["optimal"]["metric"] == "f1" and "score" in answer["optimal"]
    assert answer["extra"]["protocols"] == ["coco_101", "voc_11", "all_point"]
    assert answer["headline"]["metric"] == "AP"
    assert answer["media"] == "image" and answer["metadata_columns"] == []


@pytest.mark.parametrize("kind", ["image", "multilabel", "detection"])
def test_intervals_come_with_the_first_answer(
    client: TestClient, seeded: Seeded, kind: str
) -> None:
    """No background step: the page's first answer carries the intervals, keyed as the summary."""
    evaluation = getattr(seeded, kind)
    client.app.state.memo.pop(evaluation, None)
    answer = get_json(client, f"/api/evaluations/{evaluation}")
    intervals, summary = answer["intervals"], answer["summary"]
    assert intervals and set(intervals) <= set(summary)
    for key, interval in intervals.items():
        if interval is not None and summary[key] is not None:
            assert interval["low"] <= interval["high"], key
    assert "macro_f1" in intervals or "AP" in intervals
    assert get_json(client, f"/api/evaluations/{evaluation}")["intervals"] == intervals


def test_unknown_evaluation_is_404(client: TestClient) -> None:
    for url in ("/api/evaluations/9999", "/api/evaluations/9999/labels"):
        answer = client.get(url)
        assert answer.status_code == 404 and answer.json() == {
            "detail": "evaluation 9999 not found"
        }
    assert client.delete("/api/evaluations/9999").status_code == 404
    assert client.get("/api/evaluations/abc").status_code == 422


def test_delete(client: TestClient, seeded: Seeded) -> None:
    ws = client.app.state.workspace
    rng = np.random.default_rng(3)
    res = evaluate_classification(rng.integers(0, 3, 10), rng.random((10, 3)), classes=CLASSES)
    record = ws.save_evaluation(
        res,
        task="classification",
        name="doomed",
        dataset_version_id=seeded.image_dv,
        params={},
    )
    assert client.get(f"/api/evaluations/{record.id}/labels").status_code == 200
    answer = client.delete(f"/api/evaluations/{record.id}")
    assert answer.status_code == 204 and answer.content == b""
    assert client.get(f"/api/evaluations/{record.id}").status_code == 404
    assert record.id not in [e["id"] for e in get_json(client, "/api/evaluations")["items"]]


def test_datasets_and_models(client: TestClient, seeded: Seeded, tmp_path: Path) -> None:
    datasets = get_json(client, "/api/datasets")["items"]
    pets = next(d for d in datasets if d["name"] == "pets")
    versions = get_json(client, f"/api/datasets/{pets['id']}/versions")["items"]
    assert [v["id"] for v in versions] == [seeded.image_dv] and versions[0]["n_samples"] == 40
    models = get_json(client, "/api/models")["items"]
    resnet = next(m for m in models if m["name"] == "resnet")
    mversions = get_json(client, f"/api/models/{resnet['id']}/versions")["items"]
    assert [(v["version"], v["parent_version_id"]) for v in mversions] == [
        ("fp32", None),
        ("int8", seeded.fp32_version),
    ]
    for url in ("/api/datasets/999/versions", "/api/models/999/versions"):
        assert client.get(url).status_code == 404
    source = tmp_path / "gt.csv"
    source.write_text("id,label\na,cat\n")
    created = client.post("/api/datasets", json={"name": "new", "path": str(source)})
    assert created.status_code == 201
    again = client.post("/api/datasets", json={"name": "new", "path": str(source)})
    assert again.json()["id"] == created.json()["id"]
    missing = client.post("/api/datasets", json={"name": "new", "path": str(tmp_path / "no")})
    assert missing.status_code == 422
    model = client.post(
        "/api/models",
        json={"name": "resnet", "version": "int4", "parent_version_id": seeded.fp32_version},
    )
    assert model.status_code == 201 and model.json()["parent_version_id"] == seeded.fp32_version
    bad_parent = client.post("/api/models", json={"name": "x", "parent_version_id": 999})
    assert bad_parent.status_code == 404


def _wait_job(client: TestClient, job_id: int) -> dict:
    client.app.state.jobs.wait(job_id, timeout=120)
    deadline = time.monotonic() + 60
    while True:
        job = get_json(client, f"/api/jobs/{job_id}")
        if job["status"] in ("done", "failed") or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


def test_post_evaluation_runs_a_job(client: TestClient, tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    gt = tmp_path / "gt.csv"
    pred = tmp_path / "pred.csv"
    labels = rng.integers(0, 3, 25)
    scores = rng.dirichlet(np.ones(3), 25)
    gt.write_text("id,label\n" + "".join(f"s{i},{CLASSES[k]}\n" for i, k in enumerate(labels)))
    pred.write_text(
        "id,"
        + ",".join(CLASSES)
        + "\n"
        + "".join(
            f"s{i}," + ",".join(f"{v:.6f}" for v in row) + "\n" for i, row in enumerate(scores)
        )
    )
    answer = client.post(
        "/api/evaluations", json={"gt": str(gt), "pred": str(pred), "name": "posted", "model": "m1"}
    )
    assert answer.status_code == 202
    job = _wait_job(client, answer.json()["job_id"])
    assert job["status"] == "done", job
    evaluation = get_json(client, f"/api/evaluations/{job['evaluation_id']}")
    assert evaluation["name"] == "posted" and evaluation["model"]["name"] == "m1"
    assert evaluation["n_samples"] == 25


def test_post_evaluation_errors(client: TestClient, tmp_path: Path) -> None:
    missing = client.post("/api/evaluations", json={"gt": str(tmp_path / "no.csv"), "pred": "x"})
    assert missing.status_code == 422 and missing.json()["detail"].startswith("gt:")
    bad_threshold = client.post("/api/evaluations", json={"gt": "a", "pred": "b", "threshold": 3})
    assert bad_threshold.status_code == 422 and "threshold" in bad_threshold.json()["detail"]
    unknown_field = client.post("/api/evaluations", json={"gt": "a", "pred": "b", "oops": 1})
    assert unknown_field.status_code == 422
    gt = tmp_path / "gt.csv"
    gt.write_text("id,label\na,cat\n")
    pred = tmp_path / "pred.csv"
    pred.write_text("nothing useful\n")
    answer = client.post("/api/evaluations", json={"gt": str(gt), "pred": str(pred)})
    assert answer.status_code == 202
    job = _wait_job(client, answer.json()["job_id"])
    assert job["status"] == "failed" and job["error"] and "\n" not in job["error"]
    assert client.get("/api/jobs/99999").status_code == 404
