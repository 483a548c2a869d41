"""Inputs people actually have: hard-label predictions, labels joined by commas, predicted
classes the ground truth lacks, COCO boxes written as corners, detections without scores."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support

from assay.errors import InputError, ParameterError
from assay.evaluation.classification import ClassificationResults
from assay.evaluation.run import evaluate_files
from assay.formats.align import align
from assay.formats.coco import corner_warning, load_detection_gt, load_detection_results
from assay.formats.tables import HARD_LABELS_NOTE, read_ground_truth, read_predictions

CLASSES = ["ant", "bee", "cat", "dog"]


def _hard_files(tmp_path: Path, column: str = "label") -> tuple[Path, Path, list[str], list[str]]:
    rng = np.random.default_rng(7)
    n = 120
    truth = [CLASSES[k] for k in rng.integers(0, 4, n)]
    pred = [
        t if rng.random() < 0.6 else CLASSES[k]
        for t, k in zip(truth, rng.integers(0, 4, n), strict=True)
    ]
    gt = tmp_path / "gt.csv"
    gt.write_text("id,label\n" + "".join(f"s{i},{t}\n" for i, t in enumerate(truth)))
    pf = tmp_path / "pred.csv"
    pf.write_text(f"id,{column}\n" + "".join(f"s{i},{p}\n" for i, p in enumerate(pred)))
    return gt, pf, truth, pred


@pytest.mark.parametrize("column", ["label", "prediction"])
def test_hard_labels_match_scikit_learn(tmp_path: Path, column: str) -> None:
    gt, pf, truth, pred = _hard_files(tmp_path, column)
    p = read_predictions(pf)
    assert p.hard and p.labels == pred
    run = evaluate_files(gt, pf)
    res = run.results
    assert res.hard_labels
    assert any(HARD_LABELS_NOTE in n for n in run.notes)
    s = res.summary()
    assert s["accuracy"] == pytest.approx(accuracy_score(truth, pred))
    assert s["top1_accuracy"] == pytest.approx(accuracy_score(truth, pred))
    for avg in ("macro", "weighted", "micro"):
        pr, rc, f1, _ = precision_recall_fscore_support(truth, pred, average=avg, zero_division=0)
        assert s[f"{avg}_precision"] == pytest.approx(pr)
        assert s[f"{avg}_recall"] == pytest.approx(rc)
        assert s[f"{avg}_f1"] == pytest.approx(f1)
    pr, rc, f1, sup = precision_recall_fscore_support(truth, pred, labels=CLASSES, zero_division=0)
    rows = res.per_class()["items"]
    assert [r["label"] for r in rows] == CLASSES
    np.testing.assert_allclose([r["precision"] for r in rows], pr)
    np.testing.assert_allclose([r["recall"] for r in rows], rc)
    np.testing.assert_allclose([r["f1"] for r in rows], f1)
    assert [r["total_labeled"] for r in rows] == sup.tolist()
    assert res.confusion()["counts"] == confusion_matrix(truth, pred, labels=CLASSES).tolist()
    # what needs scores is absent
    for key in ("roc_auc_macro", "average_precision_macro", "log_loss", "brier", "ece"):
        assert s[key] is None, key
    assert s["top_k"] == [{"k": 1, "value": pytest.approx(accuracy_score(truth, pred))}]
    assert all(r["roc_auc"] is None and r["average_precision"] is None for r in rows)
    assert res.headline()["metric"] == "accuracy"
    with pytest.raises(ParameterError, match="hard labels"):
        res.curve("roc", "ant")
    iv = res.intervals(n=20)
    assert iv["roc_auc_macro"] is None and iv["accuracy"] is not None
    # stored and read back: still hard labels
    again = ClassificationResults.from_arrays(*res.arrays())
    assert again.hard_labels and again.summary() == s


def test_hard_labels_class_only_in_ground_truth_or_predictions(tmp_path: Path) -> None:
    gt = tmp_path / "gt.csv"
    gt.write_text("id,label\n1,a\n2,b\n3,a\n4,c\n")
    pf = tmp_path / "p.csv"
    pf.write_text("id,label\n1,a\n2,b\n3,b\n4,d\n")
    data = align(read_ground_truth(gt), read_predictions(pf))
    assert data.hard_labels and data.classes == ["a", "b", "c", "d"]
    assert data.y_score.sum(axis=1).tolist() == [1, 1, 1, 1]
    extra = [w for w in data.warnings if "not in the ground truth" in w]
    assert len(extra) == 1 and "'d'" in extra[0] and "\n" not in extra[0]


def test_hard_labels_refused_with_logits_and_label_sets_for_single_label(tmp_path: Path) -> None:
    gt, pf, _, _ = _hard_files(tmp_path)
    with pytest.raises(InputError, match="hard labels"):
        align(read_ground_truth(gt), read_predictions(pf), logits=True)
    sets = tmp_path / "sets.csv"
    sets.write_text("id,labels\n" + "".join(f"s{i},ant|bee\n" for i in range(120)))
    with pytest.raises(InputError, match="label sets"):
        align(read_ground_truth(gt), read_predictions(sets))


def test_hard_multilabel(tmp_path: Path) -> None:
    gt = tmp_path / "gt.csv"
    gt.write_text("id,labels\n1,a|b\n2,b\n3,c\n")
    pf = tmp_path / "p.csv"
    pf.write_text("id,labels\n1,a\n2,b|c\n3,c\n")
    run = evaluate_files(gt, pf)
    s = run.results.summary()
    assert run.task == "multilabel" and s["accuracy"] == pytest.approx(1 / 3)
    assert s["roc_auc_macro"] is None


def test_score_table_class_the_ground_truth_lacks(tmp_path: Path) -> None:
    gt = tmp_path / "gt.csv"
    gt.write_text("id,label\n1,a\n2,b\n")
    pf = tmp_path / "p.csv"
    pf.write_text("id,a,b,zebra\n1,0.8,0.1,0.1\n2,0.1,0.3,0.6\n")
    data = align(read_ground_truth(gt), read_predictions(pf))
    (line,) = [w for w in data.warnings if "'zebra'" in w]
    assert "1 of 2 samples" in line
    quiet = tmp_path / "q.csv"  # a score column never predicted: nothing to say
    quiet.write_text("id,a,b,zebra\n1,0.8,0.1,0.1\n2,0.1,0.8,0.1\n")
    assert not align(read_ground_truth(gt), read_predictions(quiet)).warnings


def test_labels_joined_by_commas_warn(tmp_path: Path) -> None:
    gt = tmp_path / "gt.csv"
    gt.write_text('id,label\n1,cat\n2,"cat,dog"\n3,dog\n')
    g = read_ground_truth(gt)
    assert len(g.warnings) == 1
    assert "row 2" in g.warnings[0] and "'labels' column with '|'" in g.warnings[0]
    plain = tmp_path / "plain.csv"
    plain.write_text("id,label\n1,cat\n2,dog\n")
    assert read_ground_truth(plain).warnings == []


def _coco(tmp_path: Path, boxes: list[list[float]]) -> Path:
    gt = {
        "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 100}],
        "categories": [{"id": 1, "name": "cell"}],
        "annotations": [
            {"id": i + 1, "image_id": 1, "category_id": 1, "bbox": b} for i, b in enumerate(boxes)
        ],
    }
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(gt))
    return path


def test_coco_corners_warn(tmp_path: Path) -> None:
    corners = [[10, 10, 60, 50], [50, 40, 90, 95], [30, 30, 70, 80]]
    gt = load_detection_gt(_coco(tmp_path, corners))
    assert len(gt.warnings) == 1 and "[x1, y1, x2, y2]" in gt.warnings[0]
    ok = load_detection_gt(_coco(tmp_path, [[10, 10, 20, 20], [50, 40, 30, 30]]))
    assert ok.warnings == []
    dets = tmp_path / "dets.json"
    dets.write_text(
        json.dumps([{"image_id": 1, "category_id": 1, "bbox": b, "score": 0.9} for b in corners])
    )
    dt = load_detection_results(dets, ok)
    assert len(dt.warnings) == 1 and str(dets) in dt.warnings[0]
    run = evaluate_files(_coco(tmp_path, [[10, 10, 20, 20]]), dets)
    assert [n for n in run.notes if "corners" in n]


def test_corner_warning_needs_most_boxes() -> None:
    b = np.array([[10.0, 10.0, 60.0, 50.0], [1.0, 1.0, 5.0, 5.0], [2.0, 2.0, 5.0, 5.0]])
    w = np.array([100])
    assert corner_warning(b, np.zeros(3, int), w, w, file="x") is None


def test_detections_without_scores_refused(tmp_path: Path) -> None:
    gt = _coco(tmp_path, [[10, 10, 20, 20]])
    dets = tmp_path / "noscore.json"
    dets.write_text(json.dumps([{"image_id": 1, "category_id": 1, "bbox": [10, 10, 20, 20]}]))
    with pytest.raises(InputError) as info:
        evaluate_files(gt, dets)
    message = str(info.value)
    assert str(dets) in message and "score" in message and "\n" not in message
