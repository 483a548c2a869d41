"""Hostile and careless inputs: every one ends in one InputError line naming the file and the place
(row / column / line / entry), never echoing the file's text; booleans as scores and score rows
that do not sum to 1 are warnings the caller prints. Last, the exit path: a parse error never ends
in an abort (exit 134) or a hang, checked by repetition in fresh processes."""

from __future__ import annotations

import decimal
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from assay.errors import InputError
from assay.formats import coco, voc, yolo
from assay.formats.align import align
from assay.formats.table_files import CSV_BLOCK_BYTES
from assay.formats.tables import read_ground_truth, read_predictions

SECRET = "s3cr3t-row-text"


def one_line(info: pytest.ExceptionInfo[InputError]) -> str:
    text = str(info.value)
    assert "\n" not in text and SECRET not in text and len(text) < 400
    return text


def jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in rows))
    return path


def parquet(path: Path, table: pa.Table) -> Path:
    pq.write_table(table, path)
    return path


# --------------------------------------------------------------------------------------------
# JSONL and Parquet tables


@pytest.mark.parametrize("column", ["id", "label", "text", "path"])
@pytest.mark.parametrize("value", [[SECRET, "b"], {"k": SECRET}])
def test_jsonl_nested_values_in_text_columns(tmp_path: Path, column: str, value: Any) -> None:
    rows: list[dict[str, Any]] = [{"id": "1", "label": "a"}, {"id": "2", "label": "b"}]
    rows[1][column] = value
    kind = "a list" if isinstance(value, list) else "an object"
    with pytest.raises(InputError) as info:
        read_ground_truth(jsonl(tmp_path / "gt.jsonl", rows))
    assert one_line(info).endswith(
        f"gt.jsonl: row 2: column '{column}' holds {kind}, expected text"
    )


@pytest.mark.parametrize("column", ["id", "label", "text", "path"])
def test_parquet_nested_values_in_text_columns(tmp_path: Path, column: str) -> None:
    cols: dict[str, pa.Array] = {
        "id": pa.array(["1", "2", "3"]),
        "label": pa.array(["a", "b", "a"]),
    }
    cols[column] = pa.array([None, [SECRET], ["x"]], pa.list_(pa.string()))
    with pytest.raises(InputError) as info:
        read_ground_truth(parquet(tmp_path / "gt.parquet", pa.table(cols)))
    assert one_line(info).endswith(
        f"gt.parquet: row 2: column '{column}' holds lists, expected text"
    )
    cols[column] = pa.array([{"k": SECRET}] * 3)
    with pytest.raises(InputError) as info:
        read_ground_truth(parquet(tmp_path / "gt2.parquet", pa.table(cols)))
    assert "row 1: column" in one_line(info) and "holds objects (structs)" in str(info.value)


def test_parquet_nested_scores_and_labels(tmp_path: Path) -> None:
    t = pa.table({"id": ["1", "2"], "a": [[0.5], [0.2]], "b": [0.5, 0.8]})
    with pytest.raises(InputError) as info:
        read_predictions(parquet(tmp_path / "p.parquet", t))
    assert one_line(info).endswith("row 1, column 'a': holds lists, expected numbers")
    t = pa.table({"id": ["1"], "labels": pa.array([[["x"]]], pa.list_(pa.list_(pa.string())))})
    with pytest.raises(InputError) as info:
        read_ground_truth(parquet(tmp_path / "gt.parquet", t))
    assert "column 'labels' holds lists of lists" in one_line(info)


def test_ids_beyond_64_bits(tmp_path: Path) -> None:
    # orjson turns an integer beyond 64 bits into a float: refused, never rounded into an id.
    big = b'{"id": 123456789012345678901234567890, "label": "a"}\n'
    (tmp_path / "gt.jsonl").write_bytes(b'{"id": 1, "label": "a"}\n' + big)
    with pytest.raises(InputError) as info:
        read_ground_truth(tmp_path / "gt.jsonl")
    assert one_line(info).endswith(
        "gt.jsonl: row 2: column 'id' holds a number that is not an"
        " exact integer (beyond 64 bits?); write it as text"
    )
    # Up to 2**64 - 1 the integer is exact, and read as its digits.
    u64 = jsonl(tmp_path / "u64.jsonl", [{"id": 2**64 - 1, "label": "a"}, {"id": 7, "label": "b"}])
    assert list(read_ground_truth(u64).ids) == ["18446744073709551615", "7"]
    # Parquet: exact decimals and unsigned 64-bit ints are read exactly; inexact floats refused.
    dec = pa.array([decimal.Decimal(10**30), decimal.Decimal(10**30 + 1)], pa.decimal128(38, 0))
    t = pa.table({"id": dec, "label": ["a", "b"]})
    gt = read_ground_truth(parquet(tmp_path / "dec.parquet", t))
    assert list(gt.ids) == [str(10**30), str(10**30 + 1)]
    t = pa.table({"id": pa.array([2**64 - 1, 2**63], pa.uint64()), "label": ["a", "b"]})
    assert list(read_ground_truth(parquet(tmp_path / "u.parquet", t)).ids) == [
        str(2**64 - 1),
        str(2**63),
    ]
    t = pa.table({"id": [1.0, 1e20, 2.0], "label": ["a", "b", "a"]})
    with pytest.raises(InputError) as info:
        read_ground_truth(parquet(tmp_path / "f.parquet", t))
    assert one_line(info).endswith(
        "row 2: column 'id' holds numbers that are not exact integers"
        " (beyond 64 bits?); write them as text"
    )
    t = pa.table({"id": [1.0, 2.0], "label": ["a", "b"]})
    assert list(read_ground_truth(parquet(tmp_path / "ok.parquet", t)).ids) == ["1", "2"]


def test_jsonl_mixed_types_name_column_and_row(tmp_path: Path) -> None:
    rows = [{"id": "1", "a": 0.5, "b": 0.5}, {"id": "2", "a": True, "b": 0.5}]
    with pytest.raises(InputError) as info:
        read_predictions(jsonl(tmp_path / "p.jsonl", rows))
    assert one_line(info).endswith("p.jsonl: row 2: column 'a' mixes a number and a boolean")


GT2 = "id,label\n1,a\n2,b\n"


def _gt(tmp_path: Path) -> Any:
    (tmp_path / "gt.csv").write_text(GT2)
    return read_ground_truth(tmp_path / "gt.csv")


def test_boolean_scores_warn(tmp_path: Path) -> None:
    gt = _gt(tmp_path)
    sources = [
        _w(tmp_path / "p.csv", "id,a,b\n1,true,false\n2,false,true\n"),
        jsonl(
            tmp_path / "p.jsonl",
            [{"id": "1", "a": True, "b": False}, {"id": "2", "a": False, "b": True}],
        ),
        parquet(
            tmp_path / "p.parquet",
            pa.table({"id": ["1", "2"], "a": [True, False], "b": [False, True]}),
        ),
    ]
    for path in sources:
        pred = read_predictions(path)
        assert pred.warnings == [
            f"{path}: column 'a' holds booleans, read as scores 1 and 0 (expected probabilities)",
            f"{path}: column 'b' holds booleans, read as scores 1 and 0 (expected probabilities)",
        ]
        data = align(gt, pred)
        assert data.warnings == pred.warnings  # they sum to 1: no second kind of warning
        np.testing.assert_array_equal(data.y_score, [[1.0, 0.0], [0.0, 1.0]])
    long = _w(tmp_path / "l.csv", "id,label,score\n1,a,true\n1,b,false\n2,a,false\n2,b,true\n")
    assert (
        read_predictions(long)
        .warnings[0]
        .endswith("column 'score' holds booleans, read as scores 1 and 0 (expected probabilities)")
    )
    plain = read_predictions(_w(tmp_path / "ok.csv", "id,a,b\n1,1,0\n2,0,1\n"))
    assert plain.warnings == []


def _w(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_scores_not_summing_to_one_warn_once(tmp_path: Path) -> None:
    gt = read_ground_truth(
        _w(tmp_path / "gt.csv", "id,label\n" + "".join(f"{i},a\n" for i in range(1000)))
    )
    scores = np.tile([0.25, 0.75], (1000, 1))
    scores[[3, 500, 999]] = [0.2, 0.3]
    text = "id,a,b\n" + "".join(f"{i},{a},{b}\n" for i, (a, b) in enumerate(scores))
    pred = read_predictions(_w(tmp_path / "p.csv", text))
    data = align(gt, pred)
    assert [w for w in data.warnings if "predicted class not in" not in w] == [
        f"{pred.source}: row 4: scores do not sum to 1 in 3 of 1000 rows (first sum 0.5);"
        " single-label metrics read them as probabilities (raw scores: pass --logits)"
    ]
    others = [w for w in align(gt, pred, task="multilabel").warnings if "do not sum" in w]
    assert others == []
    assert [w for w in align(gt, pred, logits=True).warnings if "do not sum" in w] == []
    near = _w(
        tmp_path / "near.csv", "id,a,b\n" + "".join(f"{i},0.333,0.666\n" for i in range(1000))
    )
    near_warnings = align(gt, read_predictions(near)).warnings
    assert [w for w in near_warnings if "do not sum" in w] == []  # rounding within 0.01 is fine


@pytest.mark.parametrize("token", ["nan", "NaN", "inf", "-inf", "Infinity"])
def test_nan_inf_scores_name_row_and_column(tmp_path: Path, token: str) -> None:
    text = "id,a,b\n1,0.5,0.5\n2,0.1," + token + "\n"
    with pytest.raises(InputError) as info:
        read_predictions(_w(tmp_path / "p.csv", text))
    assert "p.csv: row 2, column 'b': score is " in one_line(info)
    t = pa.table({"id": ["1", "2"], "a": [0.5, float(token)], "b": [0.5, 0.5]})
    with pytest.raises(InputError) as info:
        read_predictions(parquet(tmp_path / "p.parquet", t))
    assert "p.parquet: row 2, column 'a': score is " in one_line(info)


def test_nan_in_jsonl_is_invalid_json(tmp_path: Path) -> None:
    (tmp_path / "p.jsonl").write_text('{"id": "1", "a": 0.5}\n{"id": "2", "a": NaN}\n')
    with pytest.raises(InputError) as info:
        read_predictions(tmp_path / "p.jsonl")
    assert one_line(info).endswith("p.jsonl: line 2: is not valid JSON")


# --------------------------------------------------------------------------------------------
# CSV: long fields, bad rows


def test_csv_field_longer_than_a_block_names_the_row(tmp_path: Path) -> None:
    p = tmp_path / "p.csv"
    with p.open("w") as f:
        f.write("id,a,b\n1,0.5,0.5\n2,0.5,0.5\n")
        f.write('"' + SECRET + "x" * 50_000_000 + '",0.5,0.5\n4,0.5,0.5\n')
    with pytest.raises(InputError) as info:
        read_predictions(p)
    assert one_line(info).endswith(
        f"p.csv: row 3: longer than {CSV_BLOCK_BYTES >> 20} MiB, the longest row that can be read"
    )


def test_csv_field_of_several_mb_reads_correctly(tmp_path: Path) -> None:
    p = tmp_path / "gt.csv"
    doc = "word, " * 700_000  # ~4 MB of text, commas and a newline inside quotes
    p.write_text(f'id,label,text\n1,a,"{doc}\nend"\n2,b,short\n')
    gt = read_ground_truth(p)
    assert gt.text is not None and gt.text[0] == doc + "\nend" and gt.text[1] == "short"


def test_csv_bad_row_named_without_its_text(tmp_path: Path) -> None:
    rows = "".join(f"{i},0.5,0.5\n" for i in range(300_000))
    p = _w(tmp_path / "p.csv", "id,a,b\n" + rows + f"{SECRET},0.5\n")
    with pytest.raises(InputError) as info:
        read_predictions(p)
    assert one_line(info).endswith("p.csv: row 300001: expected 3 columns, got 2")
    q = _w(tmp_path / "q.csv", 'id,a,b\n1,0.5,0.5\n"2' + SECRET + ",0.5,0.5\n")  # unbalanced quote
    with pytest.raises(InputError) as info:
        read_predictions(q)
    assert "q.csv" in one_line(info)


def test_type_guessed_early_failing_late_names_the_row(tmp_path: Path) -> None:
    rows = "".join(f"{i},1,0\n" for i in range(400_000))  # more than one block of integers
    p = _w(tmp_path / "p.csv", "id,a,b\n" + rows + "x,high,0\n")
    with pytest.raises(InputError) as info:
        read_predictions(p)
    assert one_line(info).endswith("p.csv: row 400001, column 'a': score is not a number")


# --------------------------------------------------------------------------------------------
# COCO

IMG = {"id": 1, "file_name": "a.jpg", "width": 100, "height": 80}
ANN = {"id": 1, "image_id": 1, "category_id": 3, "bbox": [1, 2, 30, 40], "area": 1200}
CAT = {"id": 3, "name": "cat"}


def _coco(
    images: list[Any] | None = None, anns: list[Any] | None = None, cats: list[Any] | None = None
) -> dict[str, Any]:
    return {"images": images or [IMG], "annotations": anns or [ANN], "categories": cats or [CAT]}


COCO_GT_CASES = [
    (
        _coco(images=[{**IMG, "width": SECRET}]),
        "images[0]",
        "field 'width' must be a number of pixels, got text",
    ),
    (
        _coco(images=[{**IMG, "height": float("nan")}]),
        "images[0]",
        "field 'height' must be a number of pixels, got not finite",
    ),
    (
        _coco(images=[{**IMG, "width": True}]),
        "images[0]",
        "field 'width' must be a number of pixels, got a boolean",
    ),
    (
        _coco(images=[{**IMG, "width": -3}]),
        "images[0]",
        "field 'width' must be a number of pixels, got a number",
    ),
    (
        _coco(images=[{**IMG, "id": SECRET}]),
        "images[0]",
        "field 'id' must be an integer id, got text",
    ),
    (_coco(images=[{**IMG, "id": 2**64}]), "images[0]", "field 'id' is an integer beyond 64 bits"),
    (_coco(images=[{**IMG, "id": 1.5}]), "images[0]", "field 'id' must be an exact integer id"),
    (
        _coco(images=[{**IMG, "file_name": [SECRET]}]),
        "images[0]",
        "field 'file_name' must be text, got a list of 1",
    ),
    (
        _coco(cats=[{"id": True, "name": "cat"}]),
        "categories[0]",
        "field 'id' must be an integer id, got a boolean",
    ),
    (
        _coco(cats=[{"id": 3, "name": {"x": SECRET}}]),
        "categories[0]",
        "field 'name' must be text, got an object",
    ),
    (
        _coco(anns=[ANN, {**ANN, "area": SECRET}]),
        "annotations[1]",
        "field 'area' must be a finite number, got text",
    ),
    (
        _coco(anns=[ANN, {**ANN, "area": float("inf")}]),
        "annotations[1]",
        "field 'area' must be a finite number, got not finite",
    ),
    (
        _coco(anns=[ANN, {**ANN, "id": SECRET}]),
        "annotations[1]",
        "field 'id' must be an integer id, got text",
    ),
    (
        _coco(anns=[ANN, {**ANN, "id": 2**70}]),
        "annotations[1]",
        "field 'id' is an integer beyond 64 bits",
    ),
    (
        _coco(anns=[ANN, {**ANN, "image_id": "1"}]),
        "annotations[1]",
        "field 'image_id' must be an integer id, got text",
    ),
    (
        _coco(anns=[ANN, {**ANN, "category_id": True}]),
        "annotations[1]",
        "field 'category_id' must be an integer id, got a boolean",
    ),
    (
        _coco(anns=[ANN, {**ANN, "bbox": [1, float("nan"), 3, 4]}]),
        "annotations[1]",
        "bbox[1] must be a finite number, got not finite",
    ),
    (
        _coco(anns=[ANN, {**ANN, "bbox": [1, 2, True, 4]}]),
        "annotations[1]",
        "bbox[2] must be a finite number, got a boolean",
    ),
    (
        _coco(anns=[ANN, {**ANN, "bbox": SECRET}]),
        "annotations[1]",
        "bbox must be 4 finite numbers [x, y, w, h], got text",
    ),
    (
        _coco(anns=[ANN, {**ANN, "iscrowd": SECRET}]),
        "annotations[1]",
        "field 'iscrowd' must be 0 or 1, got text",
    ),
]


@pytest.mark.parametrize(("data", "where", "message"), COCO_GT_CASES)
def test_coco_gt_bad_values(tmp_path: Path, data: dict[str, Any], where: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        coco.load_detection_gt(data)
    assert one_line(info).startswith(f"{where}: {message}")
    if "nan" in repr(data) or "inf" in repr(data):
        return  # JSON has no NaN: the file case is below
    p = tmp_path / "gt.json"
    p.write_text(json.dumps(data))  # the standard library writes integers beyond 64 bits
    with pytest.raises(InputError) as info:
        coco.load_detection_gt(p)
    assert one_line(info).startswith(f"{p}: {where}: ")


def test_coco_ids_beyond_64_bits_in_a_file(tmp_path: Path) -> None:
    # orjson reads integers beyond 2**64 as floats: refused, never rounded into another id.
    p = tmp_path / "gt.json"
    p.write_text(json.dumps(_coco(images=[IMG, {**IMG, "id": 10**25}])))
    with pytest.raises(InputError) as info:
        coco.load_detection_gt(p)
    assert one_line(info).endswith(
        "images[1]: field 'id' must be an exact integer id"
        " (it has a fraction, or lies beyond 64 bits)"
    )


def test_coco_large_ids_stay_exact() -> None:
    a, b = 2**62, 2**62 + 1  # equal as float64: a float lookup would swap them
    gt = coco.load_detection_gt(
        _coco(
            images=[{**IMG, "id": a}, {**IMG, "id": b}],
            anns=[{**ANN, "image_id": b, "id": 2**63 - 1}],
        )
    )
    assert gt.image_ids.tolist() == [a, b] and gt.image.tolist() == [1]
    assert gt.ann_ids.tolist() == [2**63 - 1]
    dt = coco.load_detection_results(
        [{"image_id": a, "category_id": 3, "bbox": [1, 1, 2, 2], "score": 0.4}], gt
    )
    assert dt.image.tolist() == [0]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("score", float("nan"), "field 'score' must be a finite number, got not finite"),
        ("score", float("-inf"), "field 'score' must be a finite number, got not finite"),
        ("score", True, "field 'score' must be a finite number, got a boolean"),
        ("bbox", [0, 0, float("inf"), 1], "bbox[2] must be a finite number, got not finite"),
        ("image_id", 2**64, "field 'image_id' is an integer beyond 64 bits"),
        ("category_id", 3.5, "field 'category_id' must be an exact integer id"),
    ],
)
def test_coco_results_bad_values(field: str, value: Any, message: str) -> None:
    gt = coco.load_detection_gt(_coco())
    det = {"image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4], "score": 0.5}
    with pytest.raises(InputError) as info:
        coco.load_detection_results([det, {**det, field: value}], gt)
    assert one_line(info).startswith(f"entry 1: {message}")


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_coco_file_nan_literals_are_invalid_json(tmp_path: Path, literal: bytes) -> None:
    gt = coco.load_detection_gt(_coco())
    p = tmp_path / "dt.json"
    p.write_bytes(
        b'[{"image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4], "score": ' + literal + b"}]"
    )
    with pytest.raises(InputError) as info:
        coco.load_detection_results(p, gt)
    assert one_line(info).startswith(f"{p}: truncated or invalid JSON (")
    assert "line 1 column" in str(info.value)


# --------------------------------------------------------------------------------------------
# YOLO


def _yolo(tmp_path: Path) -> Path:
    root = tmp_path / "ds"
    (root / "labels").mkdir(parents=True)
    (root / "images").mkdir()
    Image.new("RGB", (20, 10)).save(root / "images" / "a.png")
    (root / "names.txt").write_text("a\nb\n")
    return root


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("nan 0.5 0.5 0.2 0.2", "class is not a finite number"),
        ("inf 0.5 0.5 0.2 0.2", "class is not a finite number"),
        ("-inf 0.5 0.5 0.2 0.2", "class is not a finite number"),
        ("1.5 0.5 0.5 0.2 0.2", r"class must be an integer index in [0, 2)"),
        (f"{SECRET} 0.5 0.5 0.2 0.2", "class is not a number"),
        ("0 nan 0.5 0.2 0.2", "x_center is not a finite number"),
        ("0 0.5 0.5 inf 0.2", "width is not a finite number"),
        ("0 0.5 0.5 0.2 NaN", "height is not a finite number"),
    ],
)
def test_yolo_gt_bad_lines(tmp_path: Path, line: str, message: str) -> None:
    root = _yolo(tmp_path)
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n" + line + "\n")
    with pytest.raises(InputError) as info:
        yolo.load_detection_gt(root)
    assert one_line(info) == f"{root / 'labels' / 'a.txt'}: line 2: {message}"


@pytest.mark.parametrize("score", ["nan", "inf", "-inf", "1e999"])
def test_yolo_prediction_scores_must_be_finite(tmp_path: Path, score: str) -> None:
    root = _yolo(tmp_path)
    gt = yolo.load_detection_gt(root)
    pred = tmp_path / "pred"
    pred.mkdir()
    (pred / "a.txt").write_text(f"0 0.5 0.5 0.2 0.2 0.9\n1 0.5 0.5 0.2 0.2 {score}\n")
    with pytest.raises(InputError) as info:
        yolo.load_detection_results(pred, gt)
    assert one_line(info) == f"{pred / 'a.txt'}: line 2: score is not a finite number"


def test_yolo_non_utf8_files(tmp_path: Path) -> None:
    root = _yolo(tmp_path)
    (root / "labels" / "a.txt").write_bytes(b"0 0.5 0.5 0.2 0.2\n\xff\xfe 0.5\n")
    with pytest.raises(InputError) as info:
        yolo.load_detection_gt(root)
    assert one_line(info) == f"{root / 'labels' / 'a.txt'}: line 2: is not valid UTF-8 text"
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "names.txt").write_bytes("a\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError) as info:
        yolo.load_detection_gt(root)
    assert one_line(info) == f"{root / 'names.txt'}: line 2: is not valid UTF-8 text"
    (root / "names.txt").unlink()
    (root / "data.yaml").write_bytes(b"names: [a, \xff]\n")
    with pytest.raises(InputError) as info:
        yolo.load_detection_gt(root)
    assert one_line(info) == f"{root / 'data.yaml'}: line 1: is not valid UTF-8 text"


# --------------------------------------------------------------------------------------------
# Pascal VOC


def _voc(tmp_path: Path, xml: bytes | str) -> Path:
    root = tmp_path / "voc"
    (root / "Annotations").mkdir(parents=True, exist_ok=True)
    data = xml.encode() if isinstance(xml, str) else xml
    (root / "Annotations" / "a.xml").write_bytes(data)
    return root


def _voc_xml(
    width: str = "50", height: str = "40", box: tuple[str, ...] = ("1", "2", "11", "22")
) -> str:
    tags = "".join(
        f"<{t}>{v}</{t}>" for t, v in zip(("xmin", "ymin", "xmax", "ymax"), box, strict=True)
    )
    return (
        f"<annotation><filename>a.jpg</filename><size><width>{width}</width><height>{height}</height>"
        f"</size><object><name>cat</name><bndbox>{tags}</bndbox></object></annotation>"
    )


@pytest.mark.parametrize(
    ("xml", "where", "message"),
    [
        (_voc_xml(width="nan"), "size", "<width> is not a finite number"),
        (_voc_xml(height="inf"), "size", "<height> is not a finite number"),
        (_voc_xml(width=SECRET), "size", "<width> is not a number"),
        (_voc_xml(width="-5"), "size", "<width> must be a number of pixels >= 0"),
        (_voc_xml(box=("1", SECRET, "11", "22")), "object 0", "<ymin> is not a number"),
        (_voc_xml(box=("nan", "2", "11", "22")), "object 0", "<xmin> is not a finite number"),
        (_voc_xml(box=("1", "2", "inf", "22")), "object 0", "<xmax> is not a finite number"),
        (_voc_xml(box=("1", "2", "11", "-Infinity")), "object 0", "<ymax> is not a finite number"),
    ],
)
def test_voc_bad_numbers(tmp_path: Path, xml: str, where: str, message: str) -> None:
    root = _voc(tmp_path, xml)
    with pytest.raises(InputError) as info:
        voc.load_detection_gt(root)
    assert one_line(info) == f"{root / 'Annotations' / 'a.xml'}: {where}: {message}"


@pytest.mark.parametrize(
    "xml",
    [
        "<annotation><size>" + SECRET,  # truncated
        "<annotation><a></b></annotation>",  # mismatched
        '<?xml version="1.0" encoding="utf-8"?><annotation><filename>caf\xe9</filename></annotation>'.encode(
            "latin-1"
        ),
        b'<?xml version="1.0" encoding="x-unknown"?><annotation/>',
        '<?xml version="1.0"?><!DOCTYPE a [<!ENTITY l "lol">'  # "billion laughs"
        + "".join(f'<!ENTITY l{i + 1} "{("&l" + str(i) + ";") * 10}">' for i in range(9)).replace(
            "&l0;", "&l;"
        )
        + "]><annotation><filename>&l9;</filename></annotation>",
    ],
)
def test_voc_malformed_or_non_utf8_xml(tmp_path: Path, xml: str | bytes) -> None:
    root = _voc(tmp_path, xml)
    with pytest.raises(InputError) as info:
        voc.load_detection_gt(root)
    assert one_line(info).startswith(f"{root / 'Annotations' / 'a.xml'}: invalid XML (")


def test_voc_non_utf8_labels_file(tmp_path: Path) -> None:
    root = _voc(tmp_path, _voc_xml())
    (root / "labels.txt").write_bytes(b"cat\n\xe9\n")
    with pytest.raises(InputError) as info:
        voc.load_detection_gt(root)
    assert one_line(info) == f"{root / 'labels.txt'}: line 2: is not valid UTF-8 text"


# --------------------------------------------------------------------------------------------
# The exit path: a parse error never ends in an abort (exit 134) or a hang

READ_AND_FAIL = """
import sys
from assay.errors import InputError
from assay.formats.tables import read_predictions
try:
    read_predictions(sys.argv[1])
except InputError as exc:
    print(exc, file=sys.stderr)
    sys.exit(2)
"""

# The parse itself, failing on a field longer than a 1 MB block and exiting at once: with
# pyarrow's threaded reader on a Python file object this aborted about 1 run in 3 (exit 134,
# "terminate called without an active exception") or hung; the locating pass of
# read_predictions gives pending tasks time to end, so this raw run is the sharper check.
PARSE_AND_EXIT = """
import sys
from pathlib import Path
import pyarrow as pa
from assay.formats.table_files import _arrow_csv
try:
    _arrow_csv(Path(sys.argv[1]).read_bytes(), ",", {}, block_size=1 << 20)
except pa.ArrowInvalid:
    sys.exit(2)
"""


def _runs(cmd: list[str], n: int, env: dict[str, str]) -> list[tuple[int | str, str]]:
    """Run ``cmd`` ``n`` times, two at a time; (exit code or "hang", stderr) for each."""
    out: list[tuple[int | str, str]] = []
    for _ in range(0, n, 2):
        procs = [
            subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
            for _ in range(2)
        ]
        for p in procs:
            try:
                _, err = p.communicate(timeout=30)
                out.append((p.returncode, err.decode(errors="replace")))
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
                out.append(("hang", ""))
    return out


@pytest.fixture(scope="module")
def long_field_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A predictions CSV whose third row holds a 50 MB field, and its ground truth."""
    d = tmp_path_factory.mktemp("exit")
    (d / "gt.csv").write_text("id,label\n1,a\n2,b\n3,a\n")
    with (d / "big.csv").open("w") as f:
        f.write("id,a,b\n1,0.5,0.5\n2,0.5,0.5\n")
        f.write('"3' + "x" * 50_000_000 + '",0.5,0.5\n')
    return d / "big.csv"


def test_parse_error_never_aborts_or_hangs_at_exit(long_field_csv: Path) -> None:
    start = time.monotonic()
    results = _runs(
        [sys.executable, "-c", PARSE_AND_EXIT, str(long_field_csv)], 24, dict(os.environ)
    )
    assert [code for code, _ in results] == [2] * 24, results
    assert time.monotonic() - start < 60


def test_reader_never_aborts_or_hangs_at_exit(long_field_csv: Path) -> None:
    start = time.monotonic()
    results = _runs(
        [sys.executable, "-c", READ_AND_FAIL, str(long_field_csv)], 10, dict(os.environ)
    )
    expected = f"{long_field_csv}: row 3: longer than {CSV_BLOCK_BYTES >> 20} MiB, the longest row that can be read\n"
    assert results == [(2, expected)] * 10
    assert time.monotonic() - start < 60


def test_cli_never_aborts_or_hangs_at_exit(long_field_csv: Path, tmp_path: Path) -> None:
    gt = long_field_csv.parent / "gt.csv"
    nan = _w(tmp_path / "nan.csv", "id,a,b\n1,0.5,0.5\n2,nan,0.5\n3,0.5,0.5\n")
    env = {**os.environ, "ASSAY_HOME": str(tmp_path / "home")}
    cli = [sys.executable, "-m", "assay.cli", "evaluate", "--gt", str(gt), "--pred"]
    for pred, message in (
        (
            long_field_csv,
            f"row 3: longer than {CSV_BLOCK_BYTES >> 20} MiB, the longest row that can be read",
        ),
        (nan, "row 2, column 'a': score is nan"),
    ):
        results = _runs([*cli, str(pred)], 6, env)
        assert [code for code, _ in results] == [2] * 6, results
        assert all(err == f"Error: {pred}: {message}\n" for _, err in results), results
    assert not list((tmp_path / "home").glob("evaluations/*"))


def test_coco_absent_area_and_id_default_and_negative_area_refused() -> None:
    anns = [{**ANN, "area": 7.0}, {k: v for k, v in ANN.items() if k not in ("area", "id")}]
    gt = coco.load_detection_gt(_coco(anns=anns))
    assert gt.area.tolist() == [7.0, 1200.0] and gt.ann_ids.tolist() == [1, 2]
    with pytest.raises(InputError) as info:
        coco.load_detection_gt(_coco(anns=[ANN, {**ANN, "area": -1.0}]))
    assert one_line(info) == "annotations[1]: field 'area' is negative"


def _bad_name(folder: Path, suffix: str) -> Path:
    return Path(os.fsdecode(os.fsencode(folder) + b"/caf\xe9" + suffix.encode()))


def test_non_utf8_file_names_are_refused(tmp_path: Path) -> None:
    root = _yolo(tmp_path)
    bad = _bad_name(root / "images", ".png")
    (root / "images" / "a.png").rename(bad)
    with pytest.raises(InputError) as info:
        yolo.load_detection_gt(root)
    assert (
        one_line(info)
        == f"{root}/images/caf\\xe9.png: file name is not valid UTF-8 (rename the file)"
    )
    vroot = _voc(tmp_path, _voc_xml())
    (vroot / "Annotations" / "a.xml").rename(_bad_name(vroot / "Annotations", ".xml"))
    with pytest.raises(InputError) as info:
        voc.load_detection_gt(vroot)
    assert "Annotations/caf\\xe9.xml: file name is not valid UTF-8" in one_line(info)
    (tmp_path / "imgs" / "cat").mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(_bad_name(tmp_path / "imgs" / "cat", ".png"))
    with pytest.raises(InputError) as info:
        read_ground_truth(tmp_path / "imgs")
    assert "imgs/cat/caf\\xe9.png: file name is not valid UTF-8" in one_line(info)


def test_csv_header_longer_than_a_block(tmp_path: Path) -> None:
    p = _w(tmp_path / "p.csv", "id," + "x" * 20_000_000 + ",b\n1,0.5,0.5\n")
    with pytest.raises(InputError) as info:
        read_predictions(p)
    assert one_line(info).endswith(
        "p.csv: header: longer than 8 MiB, the longest row that can be read"
    )


HOSTILE = [None, True, "", "nan", SECRET * 10, [], [SECRET], {}, {"k": SECRET}, 2**63, 2**64 - 1]
HOSTILE += [-(2**63) - 1, 10**30, 1.5, 1e308, -0.0, "1", "\u0000", "a\nb", [1, 2, 3, 4]]


def _only_input_errors(fn: Any) -> None:
    try:
        fn()
    except InputError as exc:
        text = str(exc)
        assert "\n" not in text and SECRET not in text and len(text) < 400, text


@pytest.mark.parametrize("value", HOSTILE, ids=repr)
def test_any_value_anywhere_is_read_or_one_line(tmp_path: Path, value: Any) -> None:
    """A hostile value in every column of a table and every field of COCO: the readers either
    read it or raise one InputError line; never another exception, never the value echoed."""
    gt_csv = _w(tmp_path / "g.csv", "id,label\n1,a\n2,b\n")
    base_gt = [
        {"id": "1", "label": "a", "text": "t", "fold": "f", "m": 1},
        {"id": "2", "label": "b"},
    ]
    base_pr = [{"id": "1", "a": 0.4, "b": 0.6}, {"id": "2", "a": 0.3, "b": 0.7}]
    pr_jsonl = jsonl(tmp_path / "p0.jsonl", base_pr)
    for col in ("id", "label", "text", "fold", "m"):
        rows = [dict(r) for r in base_gt]
        rows[1][col] = value
        p = _w(tmp_path / "g.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
        _only_input_errors(lambda p=p: align(read_ground_truth(p), read_predictions(pr_jsonl)))
        try:
            t = pa.Table.from_pylist(rows)
        except (pa.ArrowException, OverflowError):
            continue
        q = parquet(tmp_path / "g.parquet", t)
        _only_input_errors(lambda q=q: align(read_ground_truth(q), read_predictions(pr_jsonl)))
    for col in ("id", "a"):
        rows = [dict(r) for r in base_pr]
        rows[1][col] = value
        p = _w(tmp_path / "p.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
        _only_input_errors(lambda p=p: align(read_ground_truth(gt_csv), read_predictions(p)))
    for where, entry in (
        ("images", IMG),
        ("annotations", {**ANN, "iscrowd": 0}),
        ("categories", CAT),
    ):
        for key in entry:
            data = _coco()
            data[where] = [{**entry, key: value}]
            _only_input_errors(lambda data=data: coco.load_detection_gt(data))
    gt = coco.load_detection_gt(_coco())
    det = {"image_id": 1, "category_id": 3, "bbox": [1, 2, 3, 4], "score": 0.5}
    for key in det:
        _only_input_errors(
            lambda key=key: coco.load_detection_results([det, {**det, key: value}], gt)
        )


def test_csv_header_of_many_duplicate_columns_answers_at_once(tmp_path: Path) -> None:
    n = 200_000  # a quadratic duplicate check would take minutes here
    p = _w(tmp_path / "p.csv", "id," + ",".join(["a"] * n) + "\n1," + ",".join(["0.5"] * n) + "\n")
    start = time.monotonic()
    with pytest.raises(InputError) as info:
        read_predictions(p)
    assert one_line(info).endswith("p.csv: column 'a' appears twice in the header")
    assert time.monotonic() - start < 60  # linear: about a second; quadratic: minutes
