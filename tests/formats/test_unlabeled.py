"""Reading datasets without labels: a table of paths or texts (a label column ignored), a
folder of images, COCO images without annotations; what is detected as unlabeled; one-line
refusals naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from assay.errors import InputError
from assay.formats.unlabeled import looks_unlabeled, read_unlabeled


def _png(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("L", (4, 4)).save(path)
    return path


def test_a_table_of_texts_or_paths(tmp_path: Path) -> None:
    texts = tmp_path / "texts.csv"
    texts.write_text("id,text\n1,hello\n2,bye\n")
    gt = read_unlabeled(texts)
    assert gt.text == ["hello", "bye"] and gt.labels is None and gt.paths is None
    assert looks_unlabeled(texts)
    _png(tmp_path / "img" / "a.png")
    paths = tmp_path / "paths.csv"
    paths.write_text("id,path,label\nx,img/a.png,cat\n")
    gt = read_unlabeled(paths)  # the label column ignored
    assert gt.paths == [str((tmp_path / "img" / "a.png").resolve())] and gt.labels is None
    assert "label" not in gt.samples_table().column_names
    assert not looks_unlabeled(paths)


def test_a_folder_and_coco_images(tmp_path: Path) -> None:
    flat = tmp_path / "flat"
    _png(flat / "b.png")
    _png(flat / "a.jpg")
    gt = read_unlabeled(flat)
    assert list(gt.ids) == ["a.jpg", "b.png"] and looks_unlabeled(flat)
    tree = tmp_path / "tree"
    _png(tree / "cat" / "1.png")
    assert not looks_unlabeled(tree)  # an ImageFolder: labels in its folders
    assert list(read_unlabeled(tree).ids) == ["cat/1.png"]
    coco = flat / "images.json"
    coco.write_text(json.dumps({"images": [{"id": 7, "file_name": "b.png"}]}))
    assert looks_unlabeled(coco)
    assert list(read_unlabeled(coco).ids) == ["7"]
    coco.write_text(json.dumps({"images": [], "annotations": []}))
    assert not looks_unlabeled(coco)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("name,text\n1,a\n", "missing column 'id'"),
        ("id,score\n1,0.5\n", "neither a 'path' nor a 'text'"),
        ("id,path\n1,../outside.png\n", "outside"),
    ],
)
def test_refusals_name_the_file(tmp_path: Path, text: str, needle: str) -> None:
    table = tmp_path / "sub" / "t.csv"
    table.parent.mkdir()
    table.write_text(text)
    with pytest.raises(InputError, match=needle) as info:
        read_unlabeled(table)
    assert "t.csv" in str(info.value) and "\n" not in str(info.value)
