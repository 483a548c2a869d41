"""Prediction runs of detectors and multi-label models on unlabeled dataset versions: stored,
listed, compared without labels (box agreement against a hand-made fixture and against a
stricter variant of the demo's detector; per-class agreement and flips against a hand count and
scikit-learn's kappa); a re-run reuses the stored run; a killed run resumes from its batches."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image
from sklearn.metrics import cohen_kappa_score

from assay.demo.models import make_shape_detector
from assay.demo.seed import SHAPE_CLASSES, SHAPES_SIZE
from assay.demo.shapes import make_shapes_dataset
from assay.runners.detection import Detections
from assay.service.agreement import agreement_image, agreement_stored
from assay.service.unlabeled import (
    box_table,
    prediction_work_folder,
    register_unlabeled,
    run_predictions,
)
from assay.store import Workspace
from tests.service.int8_models import make_classifier, write_folder


def prediction_scores(ws: Workspace, evaluation_id: int) -> Any:
    """What a prediction run stored (typed loosely: scores or boxes)."""
    from assay.service.unlabeled import prediction_scores as stored

    return stored(ws, evaluation_id)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("tasks")
    train_gt, _ = make_shapes_dataset(root / "train", n_images=80, seed=1)
    make_shapes_dataset(root / "scenes", n_images=12, seed=0)
    model = make_shape_detector(train_gt, root / "det.onnx", SHAPE_CLASSES, size=SHAPES_SIZE)
    strict = root / "strict" / "det.onnx"  # the same network, boxes kept from 0.3
    strict.parent.mkdir()
    shutil.copy(model, strict)
    spec = json.loads(model.with_name("det.preprocess.json").read_text())
    spec["detection"]["score_threshold"] = 0.3
    strict.with_name("det.preprocess.json").write_text(json.dumps(spec))
    ws = Workspace(root / "ws")
    loose_v = ws.add_model(model, name="det", version="fp32")
    strict_v = ws.add_model(strict, name="det", version="strict")
    dv, _ = register_unlabeled(ws, root / "scenes" / "images")
    yield {"root": root, "ws": ws, "dv": dv, "loose": loose_v, "strict": strict_v}
    ws.close()


def test_a_detectors_prediction_runs_are_stored_listed_and_compared(setup: dict) -> None:
    ws, dv = setup["ws"], setup["dv"]
    ra = run_predictions(ws, setup["loose"].id, dv.id, batch=5)
    rb = run_predictions(ws, setup["strict"].id, dv.id)
    assert (ra.task, ra.status, ra.n_samples, ra.n_classes) == ("detection", "predictions", 12, 3)
    listed = {r.id: r for r in ws.list_evaluations()}
    assert listed[ra.id].task == "detection" and listed[rb.id].status == "predictions"
    boxes_a = prediction_scores(ws, ra.id).dt
    boxes_b = prediction_scores(ws, rb.id).dt
    assert len(boxes_a.scores) > len(boxes_b.scores) > 0
    assert boxes_b.scores.min() >= 0.3
    out = agreement_stored(ws, ra.id, rb.id, iou=0.5)
    # B keeps exactly A's boxes from 0.3: each of B's is matched to itself, of the same class
    kept = int((boxes_a.scores >= 0.3).sum())
    assert (out["boxes_a"], out["boxes_b"]) == (len(boxes_a.scores), kept)
    assert out["matched"] == out["agreed"] == kept and out["class_flips"] == 0
    assert (out["only_a"], out["only_b"]) == (len(boxes_a.scores) - kept, 0)
    assert out["most_changed"] and out["most_changed"][0]["id"].endswith(".png")
    index = out["most_changed"][0]["index"]
    one = agreement_image(ws, ra.id, rb.id, index)
    assert (one["width"], one["height"]) == (160, 120)  # read from the file
    assert one["counts"]["only_a"] > 0 and one["counts"]["only_b"] == 0
    assert one["id"] == out["most_changed"][0]["id"]


def _tiny_images(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True)
    for i in range(n):
        Image.new("RGB", (100, 80), (i * 40, 0, 0)).save(folder / f"{i}.png")
    return folder


def test_box_agreement_of_prediction_runs_counts_a_hand_made_fixture(
    setup: dict, tmp_path: Path
) -> None:
    ws = setup["ws"]
    dv, _ = register_unlabeled(ws, _tiny_images(tmp_path / "three", 3), name="three")

    def det(rows: list[tuple[list[float], float, int]]) -> Detections:
        boxes = np.array([[x, y, x + w, y + h] for (x, y, w, h), _, _ in rows]).reshape(-1, 4)
        return Detections(boxes, np.array([r[1] for r in rows]), np.array([r[2] for r in rows]))

    # image 0: a pair of one class and a pair of two classes; image 1: one box each, apart;
    # image 2: only A's
    a = [det([([10, 10, 20, 20], 0.9, 0), ([50, 40, 20, 20], 0.8, 1)]),
         det([([0, 0, 30, 30], 0.7, 0)]), det([([5, 5, 10, 10], 0.6, 1)])]  # fmt: skip
    b = [det([([11, 10, 20, 20], 0.85, 0), ([50, 41, 20, 20], 0.75, 0)]),
         det([([60, 50, 10, 10], 0.5, 1)]), det([])]  # fmt: skip
    ids = []
    for key, dets in (("a", a), ("b", b)):
        mv = setup["loose"] if key == "a" else setup["strict"]
        path = tmp_path / f"{key}.parquet"
        pq.write_table(box_table(dets, ["car", "bus"]), path)
        ids.append(ws.save_predictions(dataset_version_id=dv.id, model_version_id=mv.id,
                                       predictions_file=path, n_samples=3, n_classes=2,
                                       task="detection").id)  # fmt: skip
    out = agreement_stored(ws, ids[0], ids[1], iou=0.5)
    assert (out["boxes_a"], out["boxes_b"], out["matched"]) == (4, 3, 2)
    assert (out["agreed"], out["class_flips"], out["only_a"], out["only_b"]) == (1, 1, 2, 1)
    assert out["agreement"] == pytest.approx(1 / 5)
    assert {r["label"]: r["agreed"] for r in out["per_class"]} == {"car": 1, "bus": 0}
    one = agreement_image(ws, ids[0], ids[1], 0)
    assert [x["status"] for x in one["boxes_a"]] == ["agreed", "flip"]
    assert one["counts"] == {"agreed": 1, "flip": 1, "only_a": 0, "only_b": 0}
    assert (one["id"], one["width"], one["height"]) == ("0.png", 100, 80)
    for i in ids:
        ws.delete_evaluation(i)


def test_multilabel_prediction_runs_per_class_agreement_and_flips(
    setup: dict, tmp_path: Path
) -> None:
    ws = setup["ws"]
    root = tmp_path
    model = make_classifier(root / "train", root / "tagger.onnx", seed=0)
    spec = json.loads(model.with_name("tagger.preprocess.json").read_text())
    model.with_name("tagger.preprocess.json").write_text(json.dumps({**spec, "task": "multilabel"}))
    tagger = ws.add_model(model, name="tagger")
    write_folder(root / "labeled", 4, seed=5)
    flat = root / "flat"
    flat.mkdir()
    for p in sorted((root / "labeled").glob("*/*.png")):
        shutil.copy(p, flat / p.name)
    dv, _ = register_unlabeled(ws, flat)
    run = run_predictions(ws, tagger.id, dv.id)
    assert (run.task, run.status, run.n_samples) == ("multilabel", "predictions", 12)
    scores = prediction_scores(ws, run.id)
    assert scores.task == "multilabel" and scores.y_score.shape == (12, 3)

    # a hand-made pair on the same version: B adds and drops labels
    rng = np.random.default_rng(3)
    sa = rng.random((12, 3))
    sb = sa.copy()
    sb[0, 0], sb[1, 1], sb[2, 2], sb[3, 2] = 1 - sa[0, 0], 1 - sa[1, 1], 1 - sa[2, 2], 1 - sa[3, 2]
    classes = list(scores.classes)
    ids = []
    for key, s in (("a", sa), ("b", sb)):
        table = pa.table({"id": scores.sample_ids.astype(str).tolist(),
                          **{c: s[:, j] for j, c in enumerate(classes)}})  # fmt: skip
        pq.write_table(table, root / f"{key}.parquet")
        ids.append(ws.save_predictions(dataset_version_id=dv.id, model_version_id=tagger.id,
                                       predictions_file=root / f"{key}.parquet", n_samples=12,
                                       n_classes=3, task="multilabel").id)  # fmt: skip
    out = agreement_stored(ws, ids[0], ids[1], threshold=0.5)
    pa_, pb_ = sa >= 0.5, sb >= 0.5
    assert out["task"] == "multilabel" and out["decisions"] == 36
    assert out["changed"] == 4 and out["exact"] == pytest.approx(8 / 12)
    assert out["gained"] == int((~pa_ & pb_).sum()) and out["lost"] == int((pa_ & ~pb_).sum())
    assert out["gained"] + out["lost"] == 4
    assert out["agreement"] == pytest.approx(32 / 36)
    for k, row in enumerate(out["per_class"]):
        assert row["both"] == int((pa_[:, k] & pb_[:, k]).sum())
        assert row["only_a"] == int((pa_[:, k] & ~pb_[:, k]).sum())
        assert row["only_b"] == int((~pa_[:, k] & pb_[:, k]).sum())
        expected = cohen_kappa_score(pa_[:, k], pb_[:, k])
        assert row["cohen_kappa"] == pytest.approx(expected, abs=1e-9)
    assert {r["id"] for r in out["most_changed"]} == {str(scores.sample_ids[i]) for i in range(4)}
    for i in ids:
        ws.delete_evaluation(i)


def test_a_rerun_reuses_the_stored_run(setup: dict) -> None:
    ws, dv = setup["ws"], setup["dv"]
    first = run_predictions(ws, setup["loose"].id, dv.id, batch=5)
    before = len(ws.list_evaluations())
    again = run_predictions(ws, setup["loose"].id, dv.id, batch=5)
    assert again.id == first.id and len(ws.list_evaluations()) == before


def test_a_killed_run_resumes_from_its_batches(setup: dict, tmp_path: Path) -> None:
    ws = setup["ws"]
    dv, _ = register_unlabeled(ws, setup["root"] / "scenes" / "images", name="again")
    mv = setup["strict"].id

    class Killed(Exception):
        pass

    def kill(done: int, total: int) -> None:
        if done >= 6:
            raise Killed

    before = len(ws.list_evaluations())
    with pytest.raises(Killed):
        run_predictions(ws, mv, dv.id, batch=3, progress=kill)
    assert len(ws.list_evaluations()) == before  # nothing stored
    work = prediction_work_folder(ws, mv, dv.id, 3, "cpu")
    assert len(list((work / "shards").glob("batch-*.npz"))) == 2
    seen: list[tuple[int, int]] = []
    run = run_predictions(ws, mv, dv.id, batch=3, progress=lambda d, t: seen.append((d, t)))
    assert seen[0] == (6, 12) and seen[-1] == (12, 12)  # started from the 6 images on disk
    assert not work.exists()  # removed once stored
    whole = prediction_scores(ws, run.id).dt
    reference = prediction_scores(ws, run_predictions(ws, mv, setup["dv"].id).id).dt
    np.testing.assert_array_equal(whole.boxes, reference.boxes)
