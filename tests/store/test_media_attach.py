"""A dataset version stored without media gets it from a later run over the same content (the
stumble of issue D: evaluating detection files again with the right --images folder kept the
stored version, without images)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from assay.evaluation.run import evaluate_files
from assay.service.runs import save_run
from assay.store import Workspace


def _table(paths: list[str | None], ids: list[str] | None = None) -> pa.Table:
    ids = ids or [f"s{i}" for i in range(len(paths))]
    return pa.table({"id": ids, "path": pa.array(paths, pa.string()), "size": [1.5] * len(paths)})


@pytest.fixture
def gt_file(tmp_path: Path) -> Path:
    path = tmp_path / "gt.json"
    path.write_text("{}")
    return path


def test_a_later_run_attaches_media(tmp_path: Path, gt_file: Path) -> None:
    ws = Workspace(tmp_path / "home")
    first = ws.add_dataset_version(
        "d", task="detection", source=gt_file, samples=_table([None] * 3)
    )
    before = ws.samples_table(first.id)  # cached, as the server holds it
    assert before.column("path").to_pylist() == [None, None, None]
    files = [tmp_path / f"{i}.png" for i in range(3)]
    for f in files:
        f.write_bytes(b"x")
    again = ws.add_dataset_version(
        "d", task="detection", source=gt_file, samples=_table([str(files[0]), None, str(files[2])])
    )
    assert again == first  # the same content hash, the same version
    table = ws.samples_table(first.id)
    assert table.column("path").to_pylist() == [
        str(files[0].resolve()),
        None,
        str(files[2].resolve()),
    ]
    assert table.column("size").to_pylist() == [1.5] * 3  # the other columns kept
    assert ws.media_path(first.id, 0) == files[0].resolve()
    assert ws.media_path(first.id, 1) is None
    assert ws.peek_samples_table(first.id) is table
    # a fresh workspace (another process: the CLI while the server runs) reads the same
    assert Workspace(ws.home).samples_table(first.id).equals(table)
    names = [p.name for p in (ws.datasets_dir / str(first.id)).iterdir()]
    assert "samples.parquet" in names and not [n for n in names if n.startswith(".tmp-")]


def test_attached_media_is_never_dropped_or_replaced(tmp_path: Path, gt_file: Path) -> None:
    ws = Workspace(tmp_path / "home")
    kept = [str(tmp_path / "a.png"), None]
    dv = ws.add_dataset_version("d", task="detection", source=gt_file, samples=_table(kept))
    ws.add_dataset_version("d", task="detection", source=gt_file, samples=_table([None, None]))
    other = str(tmp_path / "other.png")
    ws.add_dataset_version("d", task="detection", source=gt_file, samples=_table([other, other]))
    paths = ws.samples_table(dv.id).column("path").to_pylist()
    assert paths == [str(Path(kept[0]).resolve()), str(Path(other).resolve())]


def test_other_samples_are_not_merged(tmp_path: Path, gt_file: Path) -> None:
    ws = Workspace(tmp_path / "home")
    dv = ws.add_dataset_version("d", task="detection", source=gt_file, samples=_table([None, None]))
    image = str(tmp_path / "a.png")
    ws.add_dataset_version(
        "d", task="detection", source=gt_file, samples=_table([image, image], ["x", "y"])
    )
    ws.add_dataset_version("d", task="detection", source=gt_file, samples=_table([image] * 3))
    assert ws.samples_table(dv.id).column("path").to_pylist() == [None, None]


def test_detection_files_evaluated_again_with_the_images_folder(tmp_path: Path) -> None:
    """End to end: ``file_name`` holds a subfolder the annotation file's folder lacks, so the
    first run finds no image; the run with the right --images folder attaches them."""
    images_root = tmp_path / "images"
    names = [f"sub/img{i}.png" for i in range(3)]
    for name in names:
        (images_root / name).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(images_root / name)
    gt = {
        "images": [
            {"id": i + 1, "file_name": name, "width": 30, "height": 20}
            for i, name in enumerate(names)
        ],
        "categories": [{"id": 1, "name": "cat"}],
        "annotations": [
            {"id": i + 1, "image_id": i + 1, "category_id": 1, "bbox": [1.0, 1.0, 9.0, 9.0],
             "area": 81.0, "iscrowd": 0}
            for i in range(3)
        ],
    }  # fmt: skip
    dets = [
        {"image_id": i + 1, "category_id": 1, "bbox": [1.0, 1.0, 9.0, 9.0], "score": 0.9}
        for i in range(3)
    ]
    ann = tmp_path / "annotations"
    ann.mkdir()
    (ann / "instances.json").write_text(json.dumps(gt))
    (ann / "dets.json").write_text(json.dumps(dets))
    ws = Workspace(tmp_path / "home")

    first = save_run(ws, evaluate_files(ann / "instances.json", ann / "dets.json"))
    dv = first.dataset_version.id
    assert ws.media_path(dv, 0) is None

    run = evaluate_files(ann / "instances.json", ann / "dets.json", images_root=images_root)
    second = save_run(ws, run)
    assert second.dataset_version.id == dv
    for i, name in enumerate(names):
        assert ws.media_path(dv, i) == (images_root / name).resolve()
