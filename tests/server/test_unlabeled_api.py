"""A dataset version without labels through the API: the Calculate job on it stores a
prediction run (listed with ``predictions_only``, no headline), the dataset version says
``unlabeled``, every answer that needs labels is a one-line 422, and ``/api/agreement`` compares
two prediction runs on it (kappa against scikit-learn)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sklearn.metrics import cohen_kappa_score

from assay.server.app import create_app
from assay.service.unlabeled import prediction_scores, register_unlabeled, run_predictions
from assay.store import Workspace
from tests.server.conftest import BASE_URL, get_error, get_json
from tests.service.int8_models import make_classifier, write_folder


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("unlabeled-api")
    ws = Workspace(root / "home")
    a = ws.add_model(make_classifier(root / "train", root / "a.onnx", seed=0), name="a")
    b = ws.add_model(make_classifier(root / "train2", root / "b.onnx", seed=1), name="b")
    write_folder(root / "labeled", 6, seed=4)
    flat = root / "flat"
    flat.mkdir()
    for p in sorted((root / "labeled").glob("*/*.png")):
        shutil.copy(p, flat / p.name)
    dv, _ = register_unlabeled(ws, flat)
    rb = run_predictions(ws, b.id, dv.id)
    ws.close()
    app = create_app(root / "home", data_roots=[root])
    with TestClient(app, base_url=BASE_URL) as client:
        answer = client.post(
            "/api/evaluations", json={"model_version_id": a.id, "dataset_version_id": dv.id}
        )
        assert answer.status_code == 202, answer.text
        job_id = answer.json()["job_id"]
        deadline = time.monotonic() + 60
        while (job := get_json(client, f"/api/jobs/{job_id}"))["status"] not in ("done", "failed"):
            assert time.monotonic() < deadline, job
            time.sleep(0.05)
        assert job["status"] == "done", job
        yield {"client": client, "dv": dv.id, "a": job["evaluation_id"], "b": rb.id,
               "home": root / "home", "root": root}  # fmt: skip


def test_the_job_stores_a_prediction_run(setup: dict[str, Any]) -> None:
    items = get_json(setup["client"], "/api/evaluations")["items"]
    runs = {e["id"]: e for e in items}
    a = runs[setup["a"]]
    assert a["predictions_only"] and a["status"] == "predictions"
    assert a["headline"]["value"] is None and a["n_samples"] == 18
    datasets = get_json(setup["client"], "/api/datasets")["items"]
    (version,) = [v for d in datasets for v in d["versions"] if v["id"] == setup["dv"]]
    assert version["unlabeled"] and version["n_samples"] == 18


def test_what_needs_labels_says_so(setup: dict[str, Any]) -> None:
    client, a, b = setup["client"], setup["a"], setup["b"]
    for url in (
        f"/api/evaluations/{a}",
        f"/api/compare?a={a}&b={b}",
        f"/api/evaluations/{a}/quality",
        f"/api/evaluations/{a}/report",
    ):
        assert "no labels, so no metrics" in get_error(client, url), url
    board = get_error(client, f"/api/leaderboard?dataset_version={setup['dv']}")
    assert "has no labels" in board


def test_agreement_of_two_prediction_runs(setup: dict[str, Any]) -> None:
    client, a, b = setup["client"], setup["a"], setup["b"]
    out = get_json(client, f"/api/agreement?a={a}&b={b}")
    ws = Workspace(setup["home"])
    ta = prediction_scores(ws, a).y_score.argmax(axis=1)
    tb = prediction_scores(ws, b).y_score.argmax(axis=1)
    ws.close()
    assert out["n_samples"] == 18
    assert out["cohen_kappa"] == pytest.approx(cohen_kappa_score(ta, tb))
    page = get_json(client, f"/api/agreement/samples?a={a}&b={b}")
    assert page["total"] == 18


def test_registered_without_labels_through_the_api(setup: dict[str, Any]) -> None:
    client, root = setup["client"], setup["root"]
    answer = client.post("/api/datasets", json={"path": str(root / "labeled"), "unlabeled": True})
    assert answer.status_code == 201, answer.text
    made = answer.json()
    assert made["unlabeled"] and made["n_samples"] == 18 and made["classes"] is None
    again = client.post("/api/datasets", json={"path": str(root / "flat")})  # detected
    assert again.status_code == 201 and again.json()["id"] == setup["dv"]
    assert not again.json()["new"]


def _calculate(client: TestClient, model: int, dv: int) -> dict[str, Any]:
    answer = client.post(
        "/api/evaluations", json={"model_version_id": model, "dataset_version_id": dv}
    )
    assert answer.status_code == 202, answer.text
    deadline = time.monotonic() + 60
    job_id = answer.json()["job_id"]
    while (job := get_json(client, f"/api/jobs/{job_id}"))["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline, job
        time.sleep(0.05)
    return job


def test_a_model_of_another_task_runs_and_a_rerun_reuses(setup: dict[str, Any]) -> None:
    """No labels to disagree with: a multi-label model calculates on the unlabeled version; the
    same Calculate again ends with the stored run instead of a second one."""
    import json

    client, root = setup["client"], setup["root"]
    (root / "tags").mkdir()
    model = make_classifier(root / "train3", root / "tags" / "tagger.onnx", seed=2)
    spec = model.with_name("tagger.preprocess.json")
    spec.write_text(json.dumps({**json.loads(spec.read_text()), "task": "multilabel"}))
    answer = client.post("/api/models", json={"path": str(model), "name": "tagger"})
    assert answer.status_code in (200, 201), answer.text
    tagger = answer.json()["id"]
    job = _calculate(client, tagger, setup["dv"])
    assert job["status"] == "done", job
    runs = {e["id"]: e for e in get_json(client, "/api/evaluations")["items"]}
    run = runs[job["evaluation_id"]]
    assert run["task"] == "multilabel" and run["predictions_only"]
    before = len(get_json(client, "/api/evaluations")["items"])
    again = _calculate(client, tagger, setup["dv"])
    assert again["status"] == "done" and again["evaluation_id"] == job["evaluation_id"]
    assert len(get_json(client, "/api/evaluations")["items"]) == before
    client.delete(f"/api/evaluations/{job['evaluation_id']}")
