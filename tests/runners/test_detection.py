"""Detection decoding: NMS against a brute-force reference, the two layouts, scaling back."""

from __future__ import annotations

import numpy as np
import pytest

from assay.errors import InputError
from assay.runners import (
    DetectionSpec,
    Geometry,
    batched_nms,
    decode_detections,
    decode_yolo,
    nms,
    to_xyxy,
)


def brute_iou(a, b):
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def brute_nms(boxes, scores, thr, labels=None):
    order = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    keep = []
    for i in order:
        if all(
            (labels is not None and labels[i] != labels[k]) or brute_iou(boxes[i], boxes[k]) <= thr
            for k in keep
        ):
            keep.append(i)
    return keep


def random_boxes(rng, n, span=100.0):
    xy = rng.uniform(0, span, size=(n, 2))
    wh = rng.uniform(1, span / 3, size=(n, 2))
    return np.concatenate([xy, xy + wh], axis=1)


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("thr", [0.3, 0.5, 0.7])
def test_nms_matches_brute_force(seed, thr):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 60))
    boxes = random_boxes(rng, n)
    scores = np.round(rng.uniform(size=n), 1)  # ties on purpose
    assert nms(boxes, scores, thr).tolist() == brute_nms(boxes, scores, thr)
    labels = rng.integers(0, 3, size=n)
    assert batched_nms(boxes, scores, labels, thr).tolist() == brute_nms(boxes, scores, thr, labels)


@pytest.mark.parametrize("seed", range(4))
def test_row_by_row_nms_path_matches_brute_force(monkeypatch, seed):
    from assay.runners import detection

    monkeypatch.setattr(detection, "_DENSE_MAX", 0)
    rng = np.random.default_rng(seed)
    boxes = random_boxes(rng, 200)
    scores = np.round(rng.uniform(size=200), 2)
    assert nms(boxes, scores, 0.5).tolist() == brute_nms(boxes, scores, 0.5)
    assert nms(boxes, scores, 0.5, max_keep=7).tolist() == brute_nms(boxes, scores, 0.5)[:7]


def test_box_formats():
    b = np.array([[10.0, 20.0, 4.0, 6.0]])
    assert to_xyxy(b, "xywh").tolist() == [[10, 20, 14, 26]]
    assert to_xyxy(b, "cxcywh").tolist() == [[8, 17, 12, 23]]


def test_boxes_layout_normalised_xywh_scaled_back():
    # batch of 2, 3 candidates each; the input is 100 x 50 (w x h), the originals 200 x 100
    boxes = np.array([[[0.1, 0.2, 0.5, 0.4], [0, 0, 1, 1], [0.5, 0.5, 0.1, 0.1]]] * 2)
    scores = np.array([[0.9, 0.0005, 0.5], [0.2, 0.3, 0.1]])
    labels = np.array([[1, 2, 3], [1, 1, 2]])
    spec = DetectionSpec(
        format="boxes", box_format="xywh", normalized=True, max_detections=2, label_offset=1
    )
    geo = Geometry(200, 100, 0.5, 0.5)
    dets = decode_detections({"b": boxes, "s": scores, "l": labels}, spec, [geo, geo], (100, 50))
    assert len(dets) == 2
    np.testing.assert_allclose(dets[0].boxes, [[20, 20, 120, 60], [100, 50, 120, 60]])
    assert dets[0].scores.tolist() == [0.9, 0.5] and dets[0].labels.tolist() == [0, 2]
    assert dets[1].scores.tolist() == [0.3, 0.2]


def test_yolo_with_objectness_against_a_reference():
    rng = np.random.default_rng(0)
    n, c = 40, 3
    centres = rng.uniform(10, 54, size=(n, 2))
    sizes = rng.uniform(4, 20, size=(n, 2))
    obj = rng.uniform(size=(n, 1))
    cls = rng.uniform(size=(n, c))
    raw = np.concatenate([centres, sizes, obj, cls], axis=1)
    spec = DetectionSpec(
        format="yolo", box_format="cxcywh", objectness=True, score_threshold=0.1, iou_threshold=0.45
    )
    geo = Geometry(128, 128, 0.5, 0.5)  # a 64 x 64 input stretched from 128 x 128
    det = decode_yolo(raw, spec, geo, (64, 64), n_classes=c)
    # reference: score = obj * best class, per-class brute-force NMS, then x2 back to the original
    conf = obj * cls
    lab = conf.argmax(1)
    sc = conf.max(1)
    ok = np.flatnonzero(sc >= 0.1)
    xyxy = np.concatenate([centres - sizes / 2, centres + sizes / 2], axis=1)
    keep = [ok[i] for i in brute_nms(xyxy[ok], sc[ok], 0.45, lab[ok])]
    np.testing.assert_allclose(det.boxes, np.clip(xyxy[keep] * 2, 0, 128))
    np.testing.assert_allclose(det.scores, sc[keep])
    assert det.labels.tolist() == lab[keep].tolist()
    # the transposed (4 + C, N) layout of newer exports decodes the same
    plain = DetectionSpec(format="yolo", box_format="cxcywh", score_threshold=0.1)
    a = decode_yolo(np.concatenate([centres, sizes, cls], 1), plain, geo, (64, 64), n_classes=c)
    b = decode_yolo(np.concatenate([centres, sizes, cls], 1).T, plain, geo, (64, 64), n_classes=c)
    np.testing.assert_allclose(a.boxes, b.boxes)


def test_bad_outputs_are_one_line_naming_the_model():
    spec = DetectionSpec()
    with pytest.raises(InputError, match=r"^det.onnx: cannot decode the detection outputs"):
        decode_detections(
            {"boxes": np.zeros((1, 5, 3))}, spec, [Geometry(4, 4)], (4, 4), source="det.onnx"
        )
