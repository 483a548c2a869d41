"""Datasets without labels: what a model can run on when nobody has annotated the samples.

Three shapes are read (:func:`read_unlabeled`):

- a folder of images (at any depth; sample ids are the paths relative to the folder);
- a CSV / JSONL / Parquet table with ``id`` and ``path`` (images, relative to the table's
  folder) or ``text``; a ``label`` / ``labels`` column, if any, is ignored;
- a COCO JSON whose ``images`` are listed without ``annotations`` (ids: the image ids).

:func:`looks_unlabeled` says whether a source is unlabeled without being told: a table without
a ``label`` / ``labels`` column, a folder whose images lie directly in it (no class
sub-folders), a COCO file without an ``annotations`` list.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from assay.errors import InputError
from assay.formats.files import check_input
from assay.formats.media import confine, real_root
from assay.formats.table_files import check_unique_ids, null_row, read_table, str_list
from assay.formats.tables import IMAGE_SUFFIXES, GroundTruth

__all__ = ["looks_unlabeled", "read_unlabeled"]

TABLE_SUFFIXES = {".csv", ".jsonl", ".parquet", ".pq"}


def _images_in(folder: Path) -> list[Path]:
    return sorted(
        f
        for f in folder.rglob("*")
        if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES and not f.name.startswith(".")
    )


def looks_unlabeled(path: str | Path) -> bool:
    """True when ``path`` holds samples and no labels: a table without ``label`` / ``labels``,
    a folder with images directly in it and no sub-folders, a COCO JSON without
    ``annotations``. A missing or unreadable file is not unlabeled (its reader says why)."""
    path = Path(path)
    try:
        if path.is_dir():
            entries = [p for p in path.iterdir() if not p.name.startswith(".")]
            has_dirs = any(p.is_dir() for p in entries)
            has_images = any(p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES for p in entries)
            return has_images and not has_dirs
        if path.suffix.lower() == ".json":
            doc = json.loads(path.read_text(encoding="utf-8"))
            return isinstance(doc, dict) and "images" in doc and "annotations" not in doc
        if path.suffix.lower() in TABLE_SUFFIXES:
            names = read_table(path, string_columns=("id", "path", "text")).column_names
            return "label" not in names and "labels" not in names
    except (OSError, ValueError, InputError):
        return False
    return False


def read_unlabeled(path: str | Path, *, allow_outside: bool = False) -> GroundTruth:
    """The samples of an unlabeled source as a :class:`GroundTruth` without labels (``labels``
    and ``label_sets`` None; ``paths`` or ``text`` set). Bad input is an :class:`InputError`
    naming the file."""
    path = check_input(path, folder_ok=True)
    if path.is_dir():
        return _read_folder(path, allow_outside)
    if path.suffix.lower() == ".json":
        return _read_coco_images(path, allow_outside)
    table = read_table(path, string_columns=("id", "label", "labels", "text", "path"))
    names = table.column_names
    if "id" not in names:
        raise InputError("missing column 'id'", file=str(path))
    if "path" not in names and "text" not in names:
        raise InputError(
            "has neither a 'path' nor a 'text' column: an unlabeled set needs the samples",
            file=str(path),
        )
    ids_list = str_list(table, "id", path)
    null_row(ids_list, path, "id")
    ids = np.array(ids_list, dtype=object)
    check_unique_ids(ids, path)
    gt = GroundTruth(source=path.resolve(), ids=ids)
    if "text" in names:
        gt.text = list(str_list(table, "text", path))
    if "path" in names:
        root = real_root(path.resolve().parent)
        gt.media_root = root
        gt.paths = [
            None
            if p in (None, "")
            else str(
                confine(
                    p,
                    root,
                    allow_outside=allow_outside,
                    file=str(path),
                    where=f"row {i + 1}, column 'path'",
                )
            )  # fmt: skip
            for i, p in enumerate(str_list(table, "path", path))
        ]
    return gt


def _read_folder(path: Path, allow_outside: bool) -> GroundTruth:
    root = real_root(path)
    ids: list[str] = []
    paths: list[str | None] = []
    for f in _images_in(root):
        rel = f.relative_to(root).as_posix()
        shown = os.fsencode(str(f)).decode("utf-8", "backslashreplace")
        real = confine(rel, root, allow_outside=allow_outside, file=shown, where=None)
        ids.append(rel)
        paths.append(str(real))
    if not ids:
        raise InputError("holds no images", file=str(root))
    return GroundTruth(source=root, ids=np.array(ids, dtype=object), paths=paths, media_root=root)


def _read_coco_images(path: Path, allow_outside: bool) -> GroundTruth:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"is not JSON ({exc})", file=str(path)) from None
    images = doc.get("images") if isinstance(doc, dict) else None
    if not isinstance(images, list) or not images:
        raise InputError("has no 'images' list (a COCO file)", file=str(path))
    root = real_root(path.resolve().parent)
    ids: list[str] = []
    paths: list[str | None] = []
    for i, image in enumerate(images):
        if not isinstance(image, dict) or "id" not in image or "file_name" not in image:
            raise InputError(
                "an image without 'id' or 'file_name'", file=str(path), where=f"images[{i}]"
            )
        ids.append(str(image["id"]))
        name = str(image["file_name"])
        paths.append(
            str(
                confine(
                    name, root, allow_outside=allow_outside, file=str(path), where=f"images[{i}]"
                )
            )
        )
    arr = np.array(ids, dtype=object)
    check_unique_ids(arr, path)
    return GroundTruth(source=path.resolve(), ids=arr, paths=paths, media_root=root)
