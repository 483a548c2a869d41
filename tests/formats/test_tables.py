"""Ground truth and prediction tables: every format, every encoding quirk, every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from assay.errors import InputError
from assay.formats.align import align
from assay.formats.tables import read_ground_truth, read_predictions


def write(path: Path, text: str, *, bom: bool = False, crlf: bool = False) -> Path:
    if crlf:
        text = text.replace("\n", "\r\n")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


GT_CSV = (
    'id,label,text,source\n1,cat,"a cat, sitting",web\n2,dog,a dog,web\n3,cat,"multi\nline",book\n'
)
PRED_CSV = "id,dog,cat\n3,0.2,0.8\n1,0.4,0.6\n2,0.9,0.1\n"


@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("crlf", [False, True])
def test_csv_with_bom_crlf_and_quotes(tmp_path: Path, bom: bool, crlf: bool) -> None:
    gt = read_ground_truth(write(tmp_path / "gt.csv", GT_CSV, bom=bom, crlf=crlf))
    pred = read_predictions(write(tmp_path / "pred.csv", PRED_CSV, bom=bom, crlf=crlf))
    assert list(gt.ids) == ["1", "2", "3"]
    assert gt.text is not None and gt.text[0] == "a cat, sitting"
    assert gt.metadata is not None and gt.metadata.column_names == ["source"]
    data = align(gt, pred)
    assert data.classes == ["dog", "cat"]  # the score columns' order
    assert data.y_true.tolist() == [1, 0, 1]
    np.testing.assert_allclose(data.y_score, [[0.4, 0.6], [0.9, 0.1], [0.2, 0.8]])


def test_ids_stay_text(tmp_path: Path) -> None:
    gt = read_ground_truth(write(tmp_path / "gt.csv", "label,id\na,007\nb,7\n"))
    assert list(gt.ids) == ["007", "7"]


def test_jsonl_and_parquet_multilabel(tmp_path: Path) -> None:
    rows = [
        {"id": "a", "labels": ["x", "y"]},
        {"id": "b", "labels": []},
        {"id": "c", "labels": ["z"]},
    ]
    jl = tmp_path / "gt.jsonl"
    jl.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    pqf = tmp_path / "gt.parquet"
    pq.write_table(pa.Table.from_pylist(rows), pqf)
    csvf = write(tmp_path / "gt.csv", "id,labels\na,x|y\nb,\nc,z\n")
    pred = read_predictions(
        write(tmp_path / "p.csv", "id,x,y,z\na,.9,.8,.1\nb,.1,.2,.3\nc,.2,.1,.7\n")
    )
    for path in (jl, pqf, csvf):
        gt = read_ground_truth(path)
        assert gt.multilabel
        data = align(gt, pred)
        assert data.task == "multilabel"
        assert data.y_true.tolist() == [
            [True, True, False],
            [False, False, False],
            [False, False, True],
        ]


def test_long_predictions_pivot(tmp_path: Path) -> None:
    gt = read_ground_truth(write(tmp_path / "gt.csv", "id,label\n1,b\n2,a\n"))
    pred = read_predictions(
        write(tmp_path / "p.csv", "id,label,score\n1,a,0.3\n1,b,0.7\n2,b,0.1\n2,a,0.9\n")
    )
    data = align(gt, pred)
    assert data.classes == ["a", "b"]
    np.testing.assert_allclose(data.y_score, [[0.3, 0.7], [0.9, 0.1]])


def test_logits(tmp_path: Path) -> None:
    gt = read_ground_truth(write(tmp_path / "gt.csv", "id,label\n1,a\n2,b\n"))
    pred = read_predictions(write(tmp_path / "p.csv", "id,a,b\n1,2.0,-1.0\n2,0.0,3.5\n"))
    with pytest.raises(InputError, match=r"p\.csv: row 1, column 'a': score 2 is outside \[0, 1\]"):
        align(gt, pred)
    data = align(gt, pred, logits=True)
    np.testing.assert_allclose(data.y_score.sum(axis=1), 1.0)
    assert data.y_score[0, 0] == pytest.approx(np.exp(2) / (np.exp(2) + np.exp(-1)))
    ml = align(gt, pred, task="multilabel", logits=True)
    assert ml.y_score[1, 1] == pytest.approx(1 / (1 + np.exp(-3.5)))


def test_image_folder(tmp_path: Path) -> None:
    for cls, n in (("dog", 2), ("cat", 1)):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(n):
            Image.new("RGB", (4, 4)).save(tmp_path / "imgs" / cls / f"{i}.png")
    (tmp_path / "imgs" / "cat" / "notes.txt").write_text("not an image")
    gt = read_ground_truth(tmp_path / "imgs")
    assert gt.declared_classes == ["cat", "dog"]
    assert list(gt.ids) == ["cat/0.png", "dog/0.png", "dog/1.png"]
    assert gt.paths is not None and Path(gt.paths[0]).is_file()
    pred = read_predictions(
        write(
            tmp_path / "p.csv",
            "id,label,score\ncat/0.png,dog,.2\ncat/0.png,cat,.8\n"
            "dog/0.png,dog,.6\ndog/0.png,cat,.4\ndog/1.png,dog,.3\ndog/1.png,cat,.7\n",
        )
    )
    data = align(gt, pred)
    assert data.classes == ["cat", "dog"]
    assert data.y_true.tolist() == [0, 1, 1]


def test_relative_media_paths_resolve_against_the_table(tmp_path: Path) -> None:
    (tmp_path / "img").mkdir()
    gt = read_ground_truth(write(tmp_path / "gt.csv", "id,label,path\n1,a,img/1.png\n"))
    assert gt.paths == [str((tmp_path / "img" / "1.png").resolve())]


BAD_CASES = [
    # (ground truth, predictions, expected message)
    ("id,lab\n1,a\n", "id,a,b\n1,.5,.5\n", r"gt\.csv: missing column 'label'"),
    ("label\na\n", "id,a,b\n1,.5,.5\n", r"gt\.csv: missing column 'id'"),
    ("id,label\n1,a\n1,b\n", "id,a,b\n1,.5,.5\n", r"gt\.csv: row 2: id '1' appears twice"),
    (
        "id,label\n1,a\n2,c\n",
        "id,a,b\n1,.5,.5\n2,.5,.5\n",
        r"gt\.csv: row 2: label 'c' is not among",
    ),
    (
        "id,label\n1,a\n2,b\n",
        "id,a,b\n1,.5,.5\n",
        r"pred\.csv: no prediction for id '2' \(ground truth row 2\)",
    ),
    ("id,label\n1,a\n", "id,a,b\n1,.5,.5\n9,.5,.5\n", r"pred\.csv: row 2: prediction for id '9'"),
    ("id,label\n1,a\n", "id,a,b\n1,nan,.5\n", r"pred\.csv: row 1, column 'a': score is nan"),
    (
        "id,label\n1,a\n",
        "id,a,b\n1,high,.5\n",
        r"pred\.csv: row 1, column 'a': score is not a number",
    ),
    ("id,label\n1,a\n", "id,a,b\n1,,.5\n", r"pred\.csv: row 1, column 'a': missing score"),
    (
        "id,label\n1,a\n",
        "id,a,b\n1,1.5,.5\n",
        r"pred\.csv: row 1, column 'a': score 1.5 is outside",
    ),
    ("id,label\n1,a\n", "id,a,b\n1,.5,.5\n1,.2,.8\n", r"pred\.csv: row 2: id '1' appears twice"),
    ("id,label\n", "id,a,b\n1,.5,.5\n", r"gt\.csv: has no rows"),
    ("", "id,a,b\n1,.5,.5\n", r"gt\.csv: is empty"),
    ("id,label\n1,a\n", "id,label,score\n1,a,.5\n", r"needs scores for at least two classes"),
    (
        "id,label\n1,a\n",
        "id,label,score\n1,a,.5\n1,b,.4\n1,a,.1\n",
        r"pred\.csv: row 3: id '1' has label 'a' twice",
    ),
    (
        "id,label\n1,a\n2,b\n",
        "id,label,score\n1,a,.5\n1,b,.4\n2,a,.1\n",
        r"id '2' has no score for label 'b'",
    ),
    ("id,label\n1,a\n", "id,a,a\n1,.5,.5\n", r"pred\.csv: column 'a' appears twice"),
]


@pytest.mark.parametrize(("gt_text", "pred_text", "message"), BAD_CASES)
def test_bad_input_names_file_and_place(
    tmp_path: Path, gt_text: str, pred_text: str, message: str
) -> None:
    gt_path = write(tmp_path / "gt.csv", gt_text)
    pred_path = write(tmp_path / "pred.csv", pred_text)
    with pytest.raises(InputError, match=message) as info:
        align(read_ground_truth(gt_path), read_predictions(pred_path))
    assert "\n" not in str(info.value)


def test_binary_folder_and_unknown_suffix(tmp_path: Path) -> None:
    (tmp_path / "bin.csv").write_bytes(b"\x00\x01\x02PK\x03\x04")
    with pytest.raises(InputError, match=r"bin\.csv: is a binary file"):
        read_predictions(tmp_path / "bin.csv")
    (tmp_path / "latin.csv").write_bytes("id,label\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin\.csv: line 2: is not valid UTF-8"):
        read_ground_truth(tmp_path / "latin.csv")
    (tmp_path / "folder").mkdir()
    with pytest.raises(InputError, match=r"folder: is a folder, expected a file"):
        read_predictions(tmp_path / "folder")
    with pytest.raises(InputError, match=r"unknown table format '.xlsx'"):
        read_predictions(write(tmp_path / "p.xlsx", "x"))
    with pytest.raises(InputError, match=r"p\.jsonl: line 2: is not valid JSON"):
        read_predictions(write(tmp_path / "p.jsonl", '{"id": 1, "a": 0.5}\n{"id": 2, \n'))
    with pytest.raises(InputError, match=r"no such file"):
        read_predictions(tmp_path / "missing.csv")


def test_multilabel_labels_under_classification_task(tmp_path: Path) -> None:
    gt = read_ground_truth(write(tmp_path / "gt.csv", "id,labels\n1,a|b\n"))
    pred = read_predictions(write(tmp_path / "p.csv", "id,a,b\n1,.5,.5\n"))
    with pytest.raises(InputError, match="multi-label"):
        align(gt, pred, task="classification")


def test_group_column_is_read_like_fold(tmp_path: Path) -> None:
    gt = read_ground_truth(
        write(tmp_path / "gt.csv", "id,label,group,site\n1,cat,p7,a\n2,dog,p7,b\n3,cat,007,a\n")
    )
    assert gt.groups == ["p7", "p7", "007"]  # text, leading zeros kept
    assert gt.metadata is not None and gt.metadata.column_names == ["site"]  # reserved
    assert gt.samples_table().column("group").to_pylist() == ["p7", "p7", "007"]
    data = align(gt, read_predictions(write(tmp_path / "pred.csv", PRED_CSV)))
    assert data.groups is not None and data.groups.tolist() == ["p7", "p7", "007"]
    # JSON integers are group names too
    jl = tmp_path / "gt.jsonl"
    jl.write_text(
        '{"id": "1", "label": "cat", "group": 17}\n{"id": "2", "label": "dog", "group": 3}\n'
    )
    assert read_ground_truth(jl).groups == ["17", "3"]


def test_group_column_of_predictions_is_not_a_class(tmp_path: Path) -> None:
    gt = read_ground_truth(write(tmp_path / "gt.csv", "id,label\n1,cat\n2,dog\n3,cat\n"))
    pred = read_predictions(
        write(tmp_path / "pred.csv", "id,dog,group,cat\n3,0.2,v2,0.8\n1,0.4,v1,0.6\n2,0.9,v1,0.1\n")
    )
    assert pred.classes == ["dog", "cat"] and pred.groups == ["v2", "v1", "v1"]
    data = align(gt, pred)
    assert data.groups is not None and data.groups.tolist() == ["v1", "v1", "v2"]  # gt order
    hard = read_predictions(
        write(tmp_path / "hard.csv", "id,label,group\n1,cat,v1\n2,dog,v1\n3,cat,v2\n")
    )
    assert hard.hard and align(gt, hard).groups.tolist() == ["v1", "v1", "v2"]


@pytest.mark.parametrize(
    ("gt_text", "pred_text", "message"),
    [
        ("id,label,group\n1,cat,a\n2,dog,\n", PRED_CSV, r"gt.csv: row 2: .*group"),
        (
            "id,label,group\n1,cat,a\n2,dog,b\n3,cat,c\n",
            "id,dog,cat,group\n3,0.2,0.8,c\n1,0.4,0.6,a\n2,0.9,0.1,x\n",
            r"gt.csv: row 2: group 'b' differs from the predictions' 'x' \(pred.csv\)",
        ),
        (
            "id,label\n1,cat\n",
            "id,label,score,group\n1,cat,0.5,a\n",
            r"pred.csv: has a 'group' column",
        ),
    ],
)
def test_bad_group_column_is_one_line(
    tmp_path: Path, gt_text: str, pred_text: str, message: str
) -> None:
    with pytest.raises(InputError, match=message) as info:
        gt = read_ground_truth(write(tmp_path / "gt.csv", gt_text))
        align(gt, read_predictions(write(tmp_path / "pred.csv", pred_text)))
    assert "\n" not in str(info.value)
