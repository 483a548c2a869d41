"""Where detection images are: file_name under the images folder, the annotation file's folder,
or by its last part; nothing outside the folders searched; and no import circle in formats."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from assay.errors import InputError
from assay.formats import coco, voc
from assay.formats.detection import locate_images

SRC = Path(__file__).resolve().parents[2] / "src" / "assay" / "formats"


def _gt(names: list[str]) -> dict:
    return {
        "images": [{"id": i + 1, "file_name": n} for i, n in enumerate(names)],
        "categories": [],
        "annotations": [],
    }


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\xff\xd8")
    return path


@pytest.fixture
def coco_layout(tmp_path: Path) -> Path:
    """tmp/annotations/instances.json and tmp/images/val2017/{1,2}.jpg; file_names carry
    the subfolder."""
    _touch(tmp_path / "images" / "val2017" / "000001.jpg")
    _touch(tmp_path / "images" / "val2017" / "000002.jpg")
    (tmp_path / "annotations").mkdir()
    gt = _gt(["val2017/000001.jpg", "val2017/000002.jpg", "val2017/000003.jpg"])
    path = tmp_path / "annotations" / "instances.json"
    path.write_text(json.dumps(gt))
    return path


@pytest.mark.parametrize("images", ["images", "images/val2017"])
def test_subfolder_in_file_name(coco_layout: Path, images: str) -> None:
    root = coco_layout.parents[1] / images
    files = locate_images(coco.load_detection_gt(coco_layout, images_root=root))
    assert files.found == 2 and files.total == 3
    assert files.paths[0] == (root.parents[0] if images == "images/val2017" else root).joinpath(
        "val2017", "000001.jpg"
    )
    assert files.paths[2] is None
    assert files.note() == f"found 2 of 3 image files under {root}"


def test_annotation_folder_is_searched(tmp_path: Path) -> None:
    _touch(tmp_path / "val2017" / "a.jpg")
    path = tmp_path / "gt.json"
    path.write_text(
        '{"images": [{"id": 1, "file_name": "val2017/a.jpg"}], "categories": [], "annotations": []}'
    )
    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    files = locate_images(coco.load_detection_gt(path, images_root=elsewhere))
    assert files.paths == [tmp_path / "val2017" / "a.jpg"]
    assert files.note() == f"found 1 of 1 image files under {elsewhere}"
    files = locate_images(coco.load_detection_gt(path))  # default: the annotation's folder
    assert files.found == 1 and files.root == tmp_path


def test_nothing_outside_the_folders_is_followed(tmp_path: Path) -> None:
    _touch(tmp_path / "secret.jpg")
    _touch(tmp_path / "data" / "ok.jpg")
    names = ["../secret.jpg", str(tmp_path / "secret.jpg"), "ok.jpg", ""]
    gt = coco.load_detection_gt(_gt(names), images_root=tmp_path / "data")
    with pytest.raises(
        InputError, match=r"images\[0\], field 'file_name': media path leads outside"
    ):
        locate_images(gt)
    gt.file_names[0] = "sub/../ok.jpg"
    with pytest.raises(InputError, match=r"images\[1\].*is absolute, outside"):
        locate_images(gt)
    gt.file_names[1] = "/elsewhere/ok.jpg"  # its last part is found inside: that file
    files = locate_images(gt)
    assert files.paths == [tmp_path / "data" / "ok.jpg"] * 3 + [None]
    assert files.media_root == tmp_path / "data"
    gt.file_names[:2] = names[:2]
    files = locate_images(gt, allow_outside=True)  # the explicit opt-in follows them
    assert files.paths == [tmp_path / "secret.jpg"] * 2 + [tmp_path / "data" / "ok.jpg", None]
    assert files.media_root == tmp_path


def test_voc_file_names_under_the_images_folder(tmp_path: Path) -> None:
    ann = tmp_path / "voc" / "Annotations"
    ann.mkdir(parents=True)
    (ann / "x.xml").write_text("<annotation><filename>sub/x.jpg</filename></annotation>")
    _touch(tmp_path / "pics" / "x.jpg")
    gt = voc.load_detection_gt(tmp_path / "voc", images_root=tmp_path / "pics")
    assert locate_images(gt).paths == [tmp_path / "pics" / "x.jpg"]
    assert locate_images(voc.load_detection_gt(tmp_path / "voc")).found == 0


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


@pytest.mark.parametrize("reader", ["coco", "yolo", "voc"])
def test_readers_do_not_import_the_dispatcher(reader: str) -> None:
    imported = _imports(SRC / f"{reader}.py")
    assert "assay.formats.detection" not in imported
    assert "assay.formats.detection_types" in imported
    assert not {f"assay.formats.{r}" for r in ("coco", "yolo", "voc")} & _imports(
        SRC / "detection_types.py"
    )


@pytest.mark.parametrize("first", ["coco", "yolo", "voc", "detection_types"])
def test_a_reader_imports_first_in_a_fresh_interpreter(first: str) -> None:
    code = (
        f"import assay.formats.{first}\n"
        "import assay.formats.detection as d\n"
        "print(d.read_detection_gt({'images': [], 'categories': [], 'annotations': []}).n_images)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
