"""Workspace.media_paths: every sample's media file at once, the same answers as media_path,
and no file whose real path has left the dataset's folder."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow as pa
import pytest

from assay.errors import NotFoundError
from assay.store import Workspace


def _one_by_one(ws: Workspace, dv: int, n: int) -> list[Path | None]:
    out: list[Path | None] = []
    for i in range(n):
        try:
            out.append(ws.media_path(dv, i))
        except NotFoundError:
            out.append(None)
    return out


def test_media_paths_match_media_path_and_stay_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "images"
    (root / "sub").mkdir(parents=True)
    outside = tmp_path / "secret.jpg"
    outside.write_bytes(b"secret")
    names = ["a.jpg", "sub/b.jpg", "gone.jpg", "link_in.jpg", "link_out.jpg", "sub/../a.jpg"]
    for name in ("a.jpg", "sub/b.jpg", "gone.jpg", "link_out.jpg"):
        (root / name).write_bytes(b"x")
    (root / "link_in.jpg").symlink_to(root / "sub" / "b.jpg")
    paths = [str(root / name) for name in names] + [None, str(root / "sub")]
    ws = Workspace(tmp_path / "home")
    dv = ws.add_dataset_version(
        "photos",
        task="classification",
        samples=pa.table({"id": [str(i) for i in range(len(paths))], "path": paths}),
        media_root=root,
    )
    # after registration: a file removed, another swapped for a link leaving the root
    (root / "gone.jpg").unlink()
    (root / "link_out.jpg").unlink()
    (root / "link_out.jpg").symlink_to(outside)
    got = ws.media_paths(dv.id)
    assert got == _one_by_one(ws, dv.id, len(paths))
    assert [p is not None for p in got] == [True, True, False, True, False, True, False, False]
    # a folder swapped for a link to outside the root: none of its files is served
    os.rename(root / "sub", tmp_path / "moved")
    (root / "sub").symlink_to(tmp_path / "moved")
    (tmp_path / "moved" / "b.jpg").write_bytes(b"y")
    got = ws.media_paths(dv.id)
    assert got == _one_by_one(ws, dv.id, len(paths))
    assert got[1] is None and got[3] is None and got[0] is not None
    with pytest.raises(NotFoundError):
        ws.media_paths(dv.id + 100)
    ws.close()
