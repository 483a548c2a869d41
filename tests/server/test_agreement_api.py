"""``/api/agreement``: two runs on one dataset version compared without labels, through the API:
the summary against scikit-learn's kappa, a flip cell's samples, one sample's scores, a
detector pair's boxes on one image, and one-line 4xx refusals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from sklearn.metrics import cohen_kappa_score

from assay.evaluation.classification import evaluate_classification
from assay.evaluation.detection import evaluate_detections
from assay.server.app import create_app
from assay.store import Workspace
from tests.server.conftest import BASE_URL, CLASSES, _detection, _png, _scores, get_error, get_json

N = 60


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("agreement-api")
    rng = np.random.default_rng(3)
    ws = Workspace(root / "home")
    paths = [_png(root / "img" / f"{i}.png", i, (32, 24)) for i in range(N)]
    ids = [f"img{i}" for i in range(N)]
    dv = ws.add_dataset_version(
        "pets", task="classification",
        samples=pa.table({"id": ids, "path": [str(p) for p in paths]}),
    )  # fmt: skip
    y = rng.integers(0, 3, N)
    sa = _scores(rng, N, 3)
    sb = np.where(rng.random((N, 1)) < 0.7, sa, _scores(rng, N, 3))
    a = ws.save_evaluation(
        evaluate_classification(y, sa, classes=CLASSES, sample_ids=ids),
        name="fp32", dataset_version_id=dv.id,
    )  # fmt: skip
    b = ws.save_evaluation(
        evaluate_classification(y, sb, classes=CLASSES, sample_ids=ids),
        name="int8", dataset_version_id=dv.id,
    )  # fmt: skip
    gt, dt = _detection(root / "det", rng)
    moved = [{**d, "bbox": [d["bbox"][0] + 1, *d["bbox"][1:]]} for d in dt[::2]]
    ddv = ws.add_dataset_version(
        "boxes", task="detection",
        samples=pa.table({
            "id": [str(im["id"]) for im in gt["images"]],
            "path": [str(root / "det" / im["file_name"]) for im in gt["images"]],
        }),
    )  # fmt: skip
    da = ws.save_evaluation(evaluate_detections(gt, dt), name="da", dataset_version_id=ddv.id)
    db = ws.save_evaluation(evaluate_detections(gt, moved), name="db", dataset_version_id=ddv.id)
    ws.close()
    app = create_app(root / "home", data_roots=[root])
    with TestClient(app, base_url=BASE_URL) as client:
        yield {"client": client, "dv": dv.id, "a": a.id, "b": b.id, "da": da.id, "db": db.id,
               "sa": sa, "sb": sb, "n_dt": len(dt), "n_moved": len(moved)}  # fmt: skip


def test_summary_matches_sklearn(pair: dict[str, Any]) -> None:
    client, sa, sb = pair["client"], pair["sa"], pair["sb"]
    out = get_json(client, f"/api/agreement?a={pair['a']}&b={pair['b']}")
    pa_, pb_ = sa.argmax(axis=1), sb.argmax(axis=1)
    assert out["task"] == "classification" and out["n_samples"] == N
    assert out["agreement"] == pytest.approx(float((pa_ == pb_).mean()))
    assert out["cohen_kappa"] == pytest.approx(cohen_kappa_score(pa_, pb_))
    assert sum(map(sum, out["flip"]["counts"])) == N
    assert out["a"]["name"] == "fp32" and out["dataset_version"]["dataset"] == "pets"


def test_a_flip_cell_opens_its_samples_and_a_row_both_scores(pair: dict[str, Any]) -> None:
    client, sa, sb = pair["client"], pair["sa"], pair["sb"]
    out = get_json(client, f"/api/agreement?a={pair['a']}&b={pair['b']}")
    counts = np.array(out["flip"]["counts"])
    r, c = np.unravel_index(np.argmax(counts - np.diag(np.diag(counts))), counts.shape)
    rows, cols = out["flip"]["rows"], out["flip"]["columns"]
    page = get_json(
        client,
        f"/api/agreement/samples?a={pair['a']}&b={pair['b']}&predicted_a={rows[r]}"
        f"&predicted_b={cols[c]}&sort=confidence_a",
    )
    assert page["total"] == counts[r, c] > 0
    first = page["items"][0]
    assert first["media_url"] == f"/api/samples/{pair['dv']}:{first['index']}/media"
    one = get_json(client, f"/api/agreement/samples/{first['index']}?a={pair['a']}&b={pair['b']}")
    i = first["index"]
    assert {s["label"]: s["b"] for s in one["scores"]} == {
        k: pytest.approx(sb[i, j]) for j, k in enumerate(CLASSES)
    }
    assert one["rank"] > 1 and one["confidence_a"] == pytest.approx(sa[i].max())


def test_detectors_boxes_on_one_image(pair: dict[str, Any]) -> None:
    client = pair["client"]
    out = get_json(client, f"/api/agreement?a={pair['da']}&b={pair['db']}&iou=0.5")
    assert out["task"] == "detection"
    assert (out["boxes_a"], out["boxes_b"]) == (pair["n_dt"], pair["n_moved"])
    assert out["only_b"] == 0 and out["matched"] == pair["n_moved"]
    assert out["most_changed"] and all(0 <= r["index"] < 12 for r in out["most_changed"])
    one = get_json(client, f"/api/agreement/images/0?a={pair['da']}&b={pair['db']}")
    assert one["media_url"] and one["width"] == 96
    statuses = {x["status"] for x in one["boxes_a"] + one["boxes_b"]}
    assert statuses <= {"agreed", "flip", "only_a", "only_b"}


def test_refusals_are_one_line(pair: dict[str, Any]) -> None:
    client = pair["client"]
    assert "same data" in get_error(client, f"/api/agreement?a={pair['a']}&b={pair['da']}")
    assert "single-label" in get_error(
        client, f"/api/agreement/samples?a={pair['da']}&b={pair['db']}"
    )
    assert "detection" in get_error(client, f"/api/agreement/images/0?a={pair['a']}&b={pair['b']}")
    assert "not found" in get_error(client, f"/api/agreement?a={pair['a']}&b=999", 404)
    get_error(client, f"/api/agreement/samples?a={pair['a']}&b={pair['b']}&sort=nope")
