"""Class-agnostic matching: confusion matrix vs a brute-force reference, P/R/F1 consistency."""

from __future__ import annotations

import numpy as np
import pytest
from test_detection_cases import random_case

from assay.evaluation._detection_outcomes import score_order
from assay.evaluation.detection import evaluate_detections
from assay.evaluation.results import OperatingPoint as At
from assay.metrics.detection.matching import (
    CROWD,
    MATCHED,
    AgnosticMatch,
    f1_sweep,
    sweep_events,
)


def _iou(d: list[float], g: list[float], crowd: bool) -> float:
    w = min(d[0] + d[2], g[0] + g[2]) - max(d[0], g[0])
    h = min(d[1] + d[3], g[1] + g[3]) - max(d[1], g[1])
    if w <= 0 or h <= 0:
        return 0.0
    i = w * h
    u = d[2] * d[3] if crowd else d[2] * d[3] + g[2] * g[3] - i
    return i / u


def brute_confusion(gt: dict, results: list, iou: float, score: float) -> np.ndarray:
    """Pure-Python reference of DESIGN.md's detection confusion matrix."""
    cats = sorted(c["id"] for c in gt["categories"])
    k = len(cats)
    cm = np.zeros((k + 1, k + 1), int)
    for im in gt["images"]:
        gts = [a for a in gt["annotations"] if a["image_id"] == im["id"]]
        dts = [d for d in results if d["image_id"] == im["id"] and d["score"] >= score]
        dts = sorted(dts, key=lambda d: -d["score"])  # stable: file order on ties
        taken = [False] * len(gts)
        for d in dts:
            best, bv = -1, 0.0
            crowd_hit = False
            for j, g in enumerate(gts):
                v = _iou(d["bbox"], g["bbox"], bool(g["iscrowd"]))
                if v < iou or v <= 0:
                    continue
                if g["iscrowd"]:
                    crowd_hit = True
                elif not taken[j] and (best < 0 or v > bv):
                    best, bv = j, v
            p = cats.index(d["category_id"])
            if best >= 0:
                taken[best] = True
                cm[cats.index(gts[best]["category_id"]), p] += 1
            elif not crowd_hit:
                cm[k, p] += 1
        for j, g in enumerate(gts):
            if not taken[j] and not g["iscrowd"]:
                cm[cats.index(g["category_id"]), k] += 1
    return cm


@pytest.mark.parametrize("seed", range(6))
def test_confusion_equals_brute_force(seed: int) -> None:
    gt, results = random_case(seed, crowd=0.2, tie_decimals=1)
    res = evaluate_detections(gt, results)
    for iou, score in [(0.5, 0.0), (0.3, 0.4), (0.75, 0.8), (0.05, 0.1), (0.95, 0.0)]:
        got = np.array(res.confusion(At(iou=iou, score=score))["counts"])
        np.testing.assert_array_equal(got, brute_confusion(gt, results, iou, score))


@pytest.mark.parametrize("seed", range(4))
def test_prf_consistent_with_matrix(seed: int) -> None:
    gt, results = random_case(seed, crowd=0.1)
    res = evaluate_detections(gt, results)
    for iou, score in [(0.5, 0.0), (0.5, 0.5), (0.7, 0.2)]:
        at = At(iou=iou, score=score)
        cm = np.array(res.confusion(at)["counts"])
        k = len(res.classes)
        for i, row in enumerate(res.per_class(at)["items"]):
            assert row["tp"] == cm[i, i]
            assert row["fp"] == cm[:, i].sum() - cm[i, i]
            assert row["fn"] == cm[i, :].sum() - cm[i, i]
            if row["tp"] + row["fp"]:
                assert row["precision"] == pytest.approx(row["tp"] / (row["tp"] + row["fp"]))
            else:
                assert row["precision"] is None
        ov = res.summary(at)
        assert ov["tp"] == np.trace(cm[:k, :k])
        assert ov["tp"] + ov["fn"] == cm[:k, :].sum()
        assert ov["tp"] + ov["fp"] == cm[:, :k].sum()
        feed = res.samples(at, limit=10**6)
        assert sum(x["tp"] for x in feed["items"]) == ov["tp"]
        assert sum(x["fp"] for x in feed["items"]) == ov["fp"]
        assert sum(x["fn"] for x in feed["items"]) == ov["fn"]


def test_optimal_score_is_the_max_f1() -> None:
    gt, results = random_case(5, tie_decimals=2)
    res = evaluate_detections(gt, results)
    opt = res.optimal()
    best = max(
        (res.summary(At(iou=0.5, score=s))["f1"] or 0.0, s)
        for s in sorted({d["score"] for d in results}, reverse=True)
    )
    assert opt["value"] == pytest.approx(best[0])
    assert res.summary(At(iou=0.5, score=opt["score"]))["f1"] == pytest.approx(opt["value"])


def test_image_feed_filters_and_boxes() -> None:
    gt, results = random_case(2, crowd=0.3)
    res = evaluate_detections(gt, results)
    at = At(iou=0.5, score=0.2)
    cm = res.confusion(at)
    rows, cols, mat = cm["rows"], cm["columns"], np.array(cm["counts"])
    for a in range(len(rows)):
        for p in range(len(cols)):
            feed = res.samples(at, actual=rows[a], predicted=cols[p], limit=10**6)
            n = 0
            for item in feed["items"]:
                img = res.sample(item["index"], at)
                assert img == item
                n += _cell_count(img, rows[a], cols[p], res.classes)
            assert n == mat[a, p] == feed["n_boxes"]
            assert (feed["total"] > 0) == (mat[a, p] > 0)
    errs = res.samples(at, errors_only=True, limit=10**6)["items"]
    assert all(x["fp"] + x["fn"] > 0 for x in errs)
    assert [x["fp"] + x["fn"] for x in errs] == sorted(
        (x["fp"] + x["fn"] for x in errs), reverse=True
    )


def _cell_count(img: dict, actual: str, predicted: str, classes: list[str]) -> int:
    boxes, n = img["boxes"], 0
    for b in boxes:
        if b["kind"] == "gt" and b["status"] in ("tp", "misclassified"):
            if b["label"] == actual and boxes[b["match"]]["label"] == predicted:
                n += 1
        elif b["kind"] == "gt" and b["status"] == "fn":
            n += b["label"] == actual and predicted == "Not detected"
        elif b["kind"] == "pred" and b["status"] == "fp":
            n += actual == "Not an object" and b["label"] == predicted
    return n


def _f1_reference(
    m: AgnosticMatch, gt_labels: np.ndarray, dt_labels: np.ndarray, dt_scores: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The F1 sweep in plain numpy: a stable sort of every prediction by descending score."""
    s = np.asarray(dt_scores, np.float64)
    order = np.argsort(-s, kind="stable")
    st = m.dt_state[order]
    same = gt_labels[np.maximum(m.dt_gt[order], 0)] == dt_labels[order]
    good = (st == MATCHED) & same
    tp, fp = np.cumsum(good), np.cumsum((st != CROWD) & ~good)
    ss = s[order]
    last = np.flatnonzero(np.append(ss[1:] != ss[:-1], True))
    return ss[last], tp[last], fp[last]


@pytest.mark.parametrize("seed", range(4))
def test_sweeps_from_the_kept_score_order_equal_a_fresh_sort(seed: int) -> None:
    gt, results = random_case(seed, tie_decimals=1, extra_dets=20)
    res = evaluate_detections(gt, results)
    g, d = res.gt, res.dt
    so = score_order(d)
    assert score_order(d) is so  # kept per predictions object
    assert np.array_equal(so.order, np.argsort(-d.scores, kind="stable"))
    for iou in (0.3, 0.5, 0.75):
        m = res._match(iou).m
        want_s, want_tp, want_fp = _f1_reference(m, g.labels, d.labels, d.scores)
        for order in (None, so.order):
            got = f1_sweep(m, g.labels, g.iscrowd, d.labels, d.scores, order)
            assert np.array_equal(got["score"], want_s)
            assert np.array_equal(got["tp"], want_tp) and np.array_equal(got["fp"], want_fp)
        key, row, col, img, code, tp = sweep_events(
            m, so.order, so.neg_score, g.labels, so.labels, so.image, len(g.classes)
        )
        kept = so.order[m.dt_state[so.order] != CROWD]
        k = len(g.classes)
        want_row = np.where(m.dt_state[kept] == MATCHED, g.labels[np.maximum(m.dt_gt[kept], 0)], k)
        assert np.array_equal(key, -d.scores[kept])
        assert np.array_equal(row, want_row) and np.array_equal(col, d.labels[kept])
        assert np.array_equal(img, d.image[kept]) and np.array_equal(code, row * (k + 1) + col)
        assert np.array_equal(tp, (m.dt_state[kept] == MATCHED) & (row == col))
