"""The media root recorded with a dataset version, and ``media_path`` checking the real path of a
file against it at every look-up (a link swapped in after registration reads nothing outside)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest
from PIL import Image

from assay.errors import InputError, NotFoundError
from assay.evaluation.run import evaluate_files
from assay.service.runs import save_run
from assay.store import Workspace


def _png(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (4, 4)).save(path)
    return path


@pytest.fixture
def run_files(tmp_path: Path) -> tuple[Path, Path]:
    ds = tmp_path / "ds"
    _png(ds / "img" / "a.png")
    _png(ds / "img" / "b.png")
    gt, pred = ds / "gt.csv", ds / "pred.csv"
    gt.write_text("id,label,path\na,cat,img/a.png\nb,dog,img/b.png\n")
    pred.write_text("id,cat,dog\na,0.9,0.1\nb,0.2,0.8\n")
    return gt, pred


def test_a_run_records_its_media_root(tmp_path: Path, run_files: tuple[Path, Path]) -> None:
    ws = Workspace(tmp_path / "home")
    record = save_run(ws, evaluate_files(*run_files))
    dv = record.dataset_version.id
    assert ws.media_root(dv) == run_files[0].parent.resolve()
    assert ws.media_path(dv, 0) == (run_files[0].parent / "img" / "a.png").resolve()


def test_a_link_swapped_in_after_registration_is_not_served(
    tmp_path: Path, run_files: tuple[Path, Path]
) -> None:
    ws = Workspace(tmp_path / "home")
    dv = save_run(ws, evaluate_files(*run_files)).dataset_version.id
    secret = _png(tmp_path / "outside" / "secret.png")
    registered = run_files[0].parent / "img" / "b.png"
    registered.unlink()
    registered.symlink_to(secret)
    with pytest.raises(NotFoundError, match=f"sample {dv}:1 has no media file inside its dataset"):
        ws.media_path(dv, 1)  # the real path now lies outside the root
    assert ws.media_path(dv, 0) is not None
    registered.unlink()
    registered.symlink_to(run_files[0].parent / "img" / "a.png")  # a link inside: still fine
    assert ws.media_path(dv, 1) == registered


def test_explicit_media_root_is_checked(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "home")
    inside = _png(tmp_path / "root" / "a.png")
    outside = _png(tmp_path / "elsewhere" / "b.png")
    samples = pa.table({"id": ["a", "b"], "path": [str(inside), str(outside)]})
    with pytest.raises(InputError, match=r"row 2: media path lies outside the dataset's folder"):
        ws.add_dataset_version(
            "d", task="classification", samples=samples, media_root=inside.parent
        )
    assert ws.list_datasets() == []
    dv = ws.add_dataset_version("d", task="classification", samples=samples)  # no root named
    assert ws.media_root(dv.id) == tmp_path.resolve()  # the folder holding them all
    assert ws.media_path(dv.id, 1) == outside.resolve()


def test_attached_media_widen_the_root(tmp_path: Path) -> None:
    ws = Workspace(tmp_path / "home")
    gt = tmp_path / "gt.json"
    gt.write_text("{}")
    bare = pa.table({"id": ["a", "b"], "path": pa.array([None, None], pa.string())})
    dv = ws.add_dataset_version("d", task="detection", source=gt, samples=bare)
    assert ws.media_root(dv.id) is None
    first = _png(tmp_path / "one" / "a.png")
    ws.add_dataset_version(
        "d",
        task="detection",
        source=gt,
        samples=pa.table({"id": ["a", "b"], "path": [str(first), None]}),
        media_root=first.parent,
    )
    assert ws.media_root(dv.id) == first.parent.resolve()
    second = _png(tmp_path / "two" / "b.png")
    ws.add_dataset_version(
        "d",
        task="detection",
        source=gt,
        samples=pa.table({"id": ["a", "b"], "path": [None, str(second)]}),
        media_root=second.parent,
    )
    assert ws.media_root(dv.id) == tmp_path.resolve()  # both roots, no wider
    assert ws.media_path(dv.id, 0) == first.resolve()
    assert ws.media_path(dv.id, 1) == second.resolve()


def test_opt_in_run_records_a_root_holding_its_media(
    tmp_path: Path, run_files: tuple[Path, Path]
) -> None:
    gt, pred = run_files
    outside = _png(tmp_path / "shared" / "c.png")
    gt.write_text(f"id,label,path\na,cat,img/a.png\nb,dog,{outside}\n")
    with pytest.raises(InputError, match="--allow-media-outside-root"):
        evaluate_files(gt, pred)
    ws = Workspace(tmp_path / "home")
    dv = save_run(ws, evaluate_files(gt, pred, allow_outside=True)).dataset_version.id
    assert ws.media_root(dv) == tmp_path.resolve()
    assert ws.media_path(dv, 1) == outside.resolve()
