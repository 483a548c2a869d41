"""COCO / YOLO / VOC readers: round trips to the same arrays, and every bad input named."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import orjson
import pytest
from PIL import Image

from assay.errors import InputError
from assay.evaluation.detection import evaluate_detections
from assay.formats import coco, voc, yolo
from assay.formats.detection import locate_images
from assay.formats.yolo import parse_yaml_names
from assay.metrics.detection import STAT_NAMES

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "metrics"))
from test_detection_cases import random_case  # noqa: E402

GT = {
    "images": [
        {"id": 1, "file_name": "a.jpg", "width": 100, "height": 80},
        {"id": 2, "file_name": "b.jpg", "width": 100, "height": 80},
    ],
    "categories": [{"id": 7, "name": "dog"}, {"id": 3, "name": "cat"}],
    "annotations": [
        {
            "id": 1,
            "image_id": 1,
            "category_id": 3,
            "bbox": [1, 2, 30, 40],
            "area": 1200,
            "iscrowd": 0,
        },
        {"id": 2, "image_id": 2, "category_id": 7, "bbox": [10, 10, 5, 5]},
    ],
}
DET = {"image_id": 1, "category_id": 3, "bbox": [1, 2, 30, 40], "score": 0.5}


def test_coco_gt_columns() -> None:
    gt = coco.load_detection_gt(GT)
    assert gt.classes == ["cat", "dog"]
    assert gt.labels.tolist() == [0, 1] and gt.image.tolist() == [0, 1]
    assert gt.area.tolist() == [1200.0, 25.0] and gt.iscrowd.tolist() == [False, False]
    assert gt.boxes.dtype == np.float64 and gt.boxes.shape == (2, 4)
    dt = coco.load_detection_results([DET, {**DET, "image_id": 2, "category_id": 7}], gt)
    assert dt.labels.tolist() == [0, 1] and dt.image.tolist() == [0, 1]


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


BAD_RESULTS = [
    ({"a": 1}, None, "JSON list"),
    ([DET, {**DET, "image_id": 99}], "entry 1", "unknown image_id"),
    ([DET, DET, {**DET, "category_id": 5}], "entry 2", "unknown category_id"),
    ([{**DET, "bbox": [0, 0, 0, 5]}], "entry 0", "non-positive"),
    ([{**DET, "bbox": [0, 0, 5, -1]}], "entry 0", "non-positive"),
    ([DET, {k: v for k, v in DET.items() if k != "score"}], "entry 1", "missing field 'score'"),
    ([DET, {k: v for k, v in DET.items() if k != "bbox"}], "entry 1", "missing field 'bbox'"),
    ([{**DET, "bbox": [1, 2, 3]}], "entry 0", "4 finite numbers"),
    ([DET, {**DET, "score": "high"}], "entry 1", "must be a finite number, got text"),
    ([DET, 5], "entry 1", "expected an object"),
]


@pytest.mark.parametrize("data,where,msg", BAD_RESULTS)
def test_bad_results_name_the_entry(tmp_path: Path, data, where, msg) -> None:
    gt = coco.load_detection_gt(GT)
    p = _write(tmp_path, "dt.json", orjson.dumps(data))
    with pytest.raises(InputError) as e:
        coco.load_detection_results(p, gt)
    assert e.value.file == str(p) and msg in e.value.message
    assert e.value.where == where


def test_truncated_json(tmp_path: Path) -> None:
    p = _write(tmp_path, "dt.json", orjson.dumps([DET, DET])[:-7])
    with pytest.raises(InputError, match="truncated or invalid JSON") as e:
        evaluate_detections(GT, p)
    assert e.value.file == str(p)
    g = _write(tmp_path, "gt.json", orjson.dumps(GT)[:50])
    with pytest.raises(InputError, match="truncated"):
        evaluate_detections(g, [])


def _gt_with(**changes) -> dict:
    gt = orjson.loads(orjson.dumps(GT))
    for key, value in changes.items():
        gt["annotations"][1][key] = value
    return gt


@pytest.mark.parametrize(
    "gt,where,msg",
    [
        (_gt_with(image_id=5), "annotations[1]", "unknown image_id"),
        (_gt_with(category_id=1), "annotations[1]", "unknown category_id"),
        (_gt_with(bbox=[0, 0, 3, 0]), "annotations[1]", "non-positive"),
        (_gt_with(bbox=None), "annotations[1]", "bbox must be"),
        ({k: v for k, v in GT.items() if k != "categories"}, None, "missing key 'categories'"),
        ({**GT, "images": [{"file_name": "x"}]}, "images[0]", "missing field 'id'"),
    ],
)
def test_bad_gt_names_the_annotation(tmp_path: Path, gt, where, msg) -> None:
    p = _write(tmp_path, "gt.json", orjson.dumps(gt))
    with pytest.raises(InputError) as e:
        coco.load_detection_gt(p)
    assert e.value.where == where and msg in e.value.message and e.value.file == str(p)


def test_missing_gt_field_is_named() -> None:
    gt = orjson.loads(orjson.dumps(GT))
    del gt["annotations"][1]["image_id"]
    with pytest.raises(InputError, match="annotations\\[1\\]: missing field 'image_id'"):
        coco.load_detection_gt(gt)


def test_empty_results_are_valid(tmp_path: Path) -> None:
    p = _write(tmp_path, "dt.json", b"[]")
    res = evaluate_detections(GT, p)
    assert res.summary()["AP"] == 0.0
    assert res.summary()["fn"] == 2


def _coco(res) -> list[float]:
    """The 12 COCO numbers of a results' summary, -1 where it says None (pycocotools' way)."""
    s = res.summary()
    return [-1.0 if s[k] is None else s[k] for k in STAT_NAMES]


def _images_for(gt, root: Path) -> None:
    for f, w, h in zip(gt.file_names, gt.widths, gt.heights, strict=True):
        p = root / f
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (int(w), int(h))).save(p)


def _small_case(seed: int, crowd: float = 0.0):
    g, r = random_case(seed, n_images=8, crowd=crowd, tie_decimals=3)
    for im in g["images"]:
        im["width"], im["height"] = 500, 420
        im["file_name"] = f"img_{im['id']:03d}.png"
    for a in g["annotations"]:
        a["area"] = a["bbox"][2] * a["bbox"][3]
    return g, r


def test_yolo_round_trip(tmp_path: Path) -> None:
    g, r = _small_case(1)
    gt = coco.load_detection_gt(g)
    dt = coco.load_detection_results(r, gt)
    # YOLO orders images by path and classes by index: sort the COCO side the same way
    yolo.write_yolo(gt, tmp_path / "ds")
    _images_for(gt, tmp_path / "ds" / "images")
    yolo.write_yolo(gt, tmp_path / "pred", dt)
    gy = yolo.load_detection_gt(tmp_path / "ds")
    assert gy.classes == gt.classes and gy.n_images == gt.n_images
    order = np.argsort(gt.file_names)
    assert gy.file_names == [gt.file_names[i] for i in order]
    inv = np.argsort(order)
    key_c = np.lexsort((gt.boxes[:, 0], inv[gt.image]))
    key_y = np.lexsort((gy.boxes[:, 0], gy.image))
    np.testing.assert_allclose(gy.boxes[key_y], gt.boxes[key_c], atol=1e-9)
    np.testing.assert_array_equal(gy.labels[key_y], gt.labels[key_c])
    np.testing.assert_allclose(gy.area[key_y], gt.area[key_c], rtol=1e-9)
    dy = yolo.load_detection_results(tmp_path / "pred", gy)
    assert dy.n_boxes == dt.n_boxes
    a = _coco(evaluate_detections(gt, dt))
    b = _coco(evaluate_detections(gy, dy))
    np.testing.assert_allclose(a, b, atol=1e-9)
    assert _coco(evaluate_detections(tmp_path / "ds", tmp_path / "pred")) == b
    files = locate_images(gy)
    assert files.found == files.total == gy.n_images
    assert files.paths[0] == (tmp_path / "ds" / "images" / gy.file_names[0]).absolute()


@pytest.mark.parametrize(
    "text",
    [
        "path: x\nnames: ['cat', \"dog\", bird]\nnc: 3\n",
        "names:\n  0: cat\n  1: dog\n  2: bird\nnc: 3\n",
        "names:\n- cat\n- dog\n- bird\n",
        "names: {0: cat, 1: dog, 2: bird}\n",
    ],
)
def test_yaml_names(text: str) -> None:
    assert parse_yaml_names(text) == ["cat", "dog", "bird"]


def test_yolo_bad_lines(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    (root / "labels").mkdir(parents=True)
    (root / "images").mkdir()
    Image.new("RGB", (20, 10)).save(root / "images" / "a.png")
    (root / "data.yaml").write_text("names: [a, b]\n")
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n5 0.5 0.5 0.1 0.1\n")
    with pytest.raises(InputError, match=r"line 2: class must be an integer index in \[0, 2\)"):
        yolo.load_detection_gt(root)
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0 0.2\n")
    with pytest.raises(InputError, match="line 1: box has non-positive size"):
        yolo.load_detection_gt(root)
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.2\n")
    with pytest.raises(InputError, match="line 1: expected 5 columns"):
        yolo.load_detection_gt(root)
    (root / "labels" / "a.txt").write_text("1 0.5 0.5 0.2 0.4\n")
    gt = yolo.load_detection_gt(root)
    assert gt.boxes.tolist() == [[8.0, 3.0, 4.0, 4.0]] and gt.widths.tolist() == [20]


def test_voc_round_trip_with_difficult(tmp_path: Path) -> None:
    g, r = _small_case(2, crowd=0.25)
    gt = coco.load_detection_gt(g)
    voc.write_voc(gt, tmp_path / "voc")
    gv = voc.load_detection_gt(tmp_path / "voc")
    assert gv.classes == gt.classes and gv.file_names == gt.file_names
    np.testing.assert_allclose(gv.boxes, gt.boxes, atol=1e-9)
    np.testing.assert_array_equal(gv.labels, gt.labels)
    np.testing.assert_array_equal(gv.image, gt.image)
    np.testing.assert_array_equal(gv.iscrowd, gt.iscrowd)
    assert gv.iscrowd.any()
    dt = coco.load_detection_results(r, gt)
    a = _coco(evaluate_detections(gt, dt))
    dv = type(dt)(dt.boxes, dt.labels, dt.scores, dt.image)
    b = _coco(evaluate_detections(tmp_path / "voc", dv))
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_voc_bad_box(tmp_path: Path) -> None:
    d = tmp_path / "Annotations"
    d.mkdir()
    (d / "x.xml").write_text(
        "<annotation><object><name>a</name><bndbox><xmin>5</xmin>"
        "<ymin>1</ymin><xmax>5</xmax><ymax>9</ymax></bndbox></object>"
        "</annotation>"
    )
    with pytest.raises(InputError, match="object 0: box has non-positive size"):
        voc.load_detection_gt(tmp_path)
