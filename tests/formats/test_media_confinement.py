"""Media confinement at import (issue E, item 3): media paths resolve, links followed, inside the
dataset's root folder; absolute and ``../`` paths leaving it, and links inside it pointing out,
are refused with one line naming the row / entry (never quoting the path); ``allow_outside``
lets them through; the run records the root."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from assay.errors import InputError
from assay.evaluation.run import evaluate_files
from assay.formats import voc, yolo
from assay.formats.tables import read_ground_truth, read_image_folder

SECRET = "s3cr3t-name"


def _png(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 6)).save(path)
    return path


@pytest.fixture
def layout(tmp_path: Path) -> tuple[Path, Path]:
    """tmp/ds/ (the dataset's folder, with images/a.png) and tmp/outside/<SECRET>.png."""
    _png(tmp_path / "ds" / "images" / "a.png")
    outside = _png(tmp_path / "outside" / f"{SECRET}.png")
    return tmp_path / "ds", outside


def _table(ds: Path, paths: list[str]) -> Path:
    gt = ds / "gt.csv"
    rows = "".join(f"s{i},cat,{p}\n" for i, p in enumerate(paths))
    gt.write_text("id,label,path\n" + rows)
    return gt


def _refused(gt: Path, row: int, what: str, **kwargs: bool) -> None:
    with pytest.raises(InputError) as info:
        read_ground_truth(gt, **kwargs)
    message = str(info.value)
    assert message.startswith(f"{gt}: row {row}, column 'path': media path {what}")
    assert "--allow-media-outside-root" in message and "\n" not in message
    assert SECRET not in message  # the path itself is never quoted


def test_table_paths_inside_the_folder(layout: tuple[Path, Path]) -> None:
    ds, _ = layout
    (ds / "images" / "link.png").symlink_to(ds / "images" / "a.png")  # a link inside: fine
    gt = read_ground_truth(
        _table(ds, ["images/a.png", str(ds / "images" / "a.png"), "images/link.png", ""])
    )
    real = str((ds / "images" / "a.png").resolve())
    assert gt.paths == [real, real, real, None]
    assert gt.media_root == ds.resolve()


def test_table_absolute_path_outside_refused(layout: tuple[Path, Path]) -> None:
    ds, outside = layout
    _refused(_table(ds, ["images/a.png", str(outside)]), 2, "is absolute, outside")


def test_table_dotdot_path_refused(layout: tuple[Path, Path]) -> None:
    ds, _ = layout
    _refused(_table(ds, [f"../outside/{SECRET}.png"]), 1, "leads outside")
    _refused(_table(ds, [f"images/../../outside/{SECRET}.png"]), 1, "leads outside")


def test_table_link_to_outside_refused(layout: tuple[Path, Path]) -> None:
    ds, outside = layout
    (ds / "images" / "evil.png").symlink_to(outside)
    _refused(_table(ds, ["images/evil.png"]), 1, "is a link to a file outside")
    (ds / "linked").symlink_to(outside.parent, target_is_directory=True)
    _refused(_table(ds, [f"linked/{SECRET}.png"]), 1, "is a link to a file outside")


def test_table_refusal_does_not_tell_whether_an_outside_file_exists(
    layout: tuple[Path, Path],
) -> None:
    ds, outside = layout
    answers = []
    for target in (outside, outside.with_name("missing.png")):
        with pytest.raises(InputError) as info:
            read_ground_truth(_table(ds, [str(target)]))
        answers.append(str(info.value))
    assert answers[0] == answers[1]


def test_table_opt_in_allows_outside(layout: tuple[Path, Path]) -> None:
    ds, outside = layout
    gt = read_ground_truth(
        _table(ds, ["images/a.png", str(outside), "../outside/x.png"]), allow_outside=True
    )
    assert gt.paths is not None and gt.paths[1] == str(outside.resolve())
    assert gt.media_root == ds.parent.resolve()  # widened just enough to hold them


def test_image_folder_link_to_outside_refused(layout: tuple[Path, Path]) -> None:
    ds, outside = layout
    tree = ds / "tree"
    _png(tree / "cat" / "1.png")
    (tree / "cat" / "2.png").symlink_to(outside)
    with pytest.raises(InputError, match="media path is a link to a file outside") as info:
        read_image_folder(tree)
    assert str(info.value).startswith(str(tree / "cat" / "2.png"))
    gt = read_image_folder(tree, allow_outside=True)
    assert gt.paths == [str((tree / "cat" / "1.png").resolve()), str(outside.resolve())]


def _coco(ds: Path, names: list[str]) -> Path:
    images = [{"id": i + 1, "file_name": n, "width": 8, "height": 6} for i, n in enumerate(names)]
    ann = [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2]}]
    data = {"images": images, "categories": [{"id": 1, "name": "a"}], "annotations": ann}
    path = ds / "instances.json"
    path.write_text(json.dumps(data))
    dets = ds / "dets.json"
    dets.write_text(
        json.dumps([{"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2], "score": 0.9}])
    )
    return path


@pytest.mark.parametrize(
    ("name", "what"),
    [("../outside/{secret}.png", "leads outside"), ("{outside}", "is absolute, outside")],
)
def test_coco_file_name_outside_refused(layout: tuple[Path, Path], name: str, what: str) -> None:
    ds, outside = layout
    gt = _coco(ds, ["images/a.png", name.format(secret=SECRET, outside=outside)])
    with pytest.raises(InputError) as info:
        evaluate_files(gt, ds / "dets.json")
    message = str(info.value)
    assert message.startswith(f"{gt}: images[1], field 'file_name': media path {what}")
    assert SECRET not in message
    run = evaluate_files(gt, ds / "dets.json", allow_outside=True)
    assert run.samples.column("path").to_pylist()[1] == str(outside.resolve())
    assert run.media_root == ds.parent.resolve()


def test_coco_link_to_outside_refused(layout: tuple[Path, Path]) -> None:
    ds, outside = layout
    (ds / "images" / "evil.png").symlink_to(outside)
    gt = _coco(ds, ["images/a.png", "images/evil.png"])
    with pytest.raises(InputError, match=r"images\[1\].*is a link to a file outside"):
        evaluate_files(gt, ds / "dets.json")
    (ds / "images" / "evil.png").unlink()
    (ds / "images" / "evil.png").symlink_to(ds / "images" / "a.png")  # inside: fine
    run = evaluate_files(gt, ds / "dets.json")
    assert run.samples.column("path").to_pylist() == [str((ds / "images" / "a.png").resolve())] * 2


def test_coco_inside_records_the_root(layout: tuple[Path, Path]) -> None:
    ds, _ = layout
    run = evaluate_files(_coco(ds, ["a.png"]), ds / "dets.json", images_root=ds / "images")
    assert run.media_root == (ds / "images").resolve()
    assert run.samples.column("path").to_pylist() == [str((ds / "images" / "a.png").resolve())]


def test_voc_file_name_outside_names_the_xml(layout: tuple[Path, Path]) -> None:
    ds, _ = layout
    ann = ds / "voc" / "Annotations"
    ann.mkdir(parents=True)
    xml = ann / "x.xml"
    xml.write_text(f"<annotation><filename>../../outside/{SECRET}.png</filename></annotation>")
    (ds / "voc" / "JPEGImages").mkdir()
    from assay.formats.detection import locate_images

    gt = voc.load_detection_gt(ds / "voc")
    with pytest.raises(InputError) as info:
        locate_images(gt)
    assert str(info.value).startswith(f"{xml}: filename: media path leads outside")
    assert SECRET not in str(info.value)


def test_yolo_image_link_to_outside_refused_before_it_is_read(layout: tuple[Path, Path]) -> None:
    ds, outside = layout
    root = ds / "yolo"
    _png(root / "images" / "a.png")
    (root / "images" / "b.png").symlink_to(outside)
    (root / "labels").mkdir()
    (root / "labels" / "a.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    (root / "names.txt").write_text("cat\n")
    with pytest.raises(InputError, match="is a link to a file outside") as info:
        yolo.load_detection_gt(root)
    assert str(info.value).startswith(str(root / "images" / "b.png"))
    gt = yolo.load_detection_gt(root, allow_outside=True)
    assert gt.n_images == 2
