"""COCO detection JSON: instances (ground truth) and results (predictions).

Parsed with orjson into the columnar types of :mod:`assay.formats.detection_types`. The common path is
vectorised; when it fails, a slower scan finds the offending entry so the error names it.

>>> gt = load_detection_gt({"images": [{"id": 1, "file_name": "a.jpg", "width": 9, "height": 9}],
...     "categories": [{"id": 3, "name": "cat"}],
...     "annotations": [{"id": 1, "image_id": 1, "category_id": 3, "bbox": [0, 0, 4, 4]}]})
>>> dt = load_detection_results([{"image_id": 1, "category_id": 3, "bbox": [0, 0, 4, 4],
...     "score": 0.9}], gt)
>>> gt.classes, int(dt.labels[0]), float(gt.area[0])
(['cat'], 0, 16.0)
"""

from __future__ import annotations

import gc
import math
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from assay.errors import InputError
from assay.formats.detection_types import DetectionGroundTruth, DetectionPredictions, check_boxes

__all__ = ["load_detection_gt", "load_detection_results", "read_json", "to_coco_dict"]


def read_json(path: str | Path) -> Any:
    """Read a JSON file with orjson; a truncated or invalid file raises :class:`InputError`."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as e:
        raise InputError(f"cannot read file ({e.strerror})", file=str(p)) from None
    enabled = gc.isenabled()
    gc.disable()  # millions of fresh dicts and lists would trigger useless full collections
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as e:
        raise InputError(f"truncated or invalid JSON ({e})", file=str(p)) from None
    finally:
        if enabled:
            gc.enable()


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _check_entry(d: Any, fields: tuple[str, ...], *, file: str | None, where: str) -> None:
    """Slow-path validation of one entry: a dict with the numeric fields and a 4-number bbox."""
    if not isinstance(d, dict):
        raise InputError(f"expected an object, got {type(d).__name__}", file=file, where=where)
    for f in fields:
        if f not in d:
            raise InputError(f"missing field '{f}'", file=file, where=where)
        v = d[f]
        if f == "bbox":
            if not (isinstance(v, list) and len(v) == 4 and all(_is_num(x) for x in v)):
                raise InputError(
                    f"bbox must be 4 numbers [x, y, w, h], got {v!r}", file=file, where=where
                )
        elif not _is_num(v):
            raise InputError(f"field '{f}' must be a number, got {v!r}", file=file, where=where)


def _columns(
    items: list[Any], fields: tuple[str, ...], *, file: str | None, where: str
) -> dict[str, np.ndarray]:
    """Extract numeric columns (and ``bbox`` as (n, 4)) from a list of dicts, validating them."""
    n = len(items)
    out: dict[str, np.ndarray] = {}
    try:
        for f in fields:
            if f == "bbox":
                bbs = [d["bbox"] for d in items]
                lens = np.fromiter(map(len, bbs), np.int64, n)
                if n and (lens != 4).any():
                    raise ValueError
                flat = np.fromiter(chain.from_iterable(bbs), np.float64, 4 * n)
                out["bbox"] = flat.reshape(n, 4)
            else:
                out[f] = np.fromiter((d[f] for d in items), np.float64, n)
        for f, v in out.items():
            if not np.isfinite(v).all():
                raise ValueError(f)
    except (KeyError, TypeError, ValueError, IndexError):
        for i, d in enumerate(items):
            _check_entry(d, fields, file=file, where=where.format(i=i))
        raise InputError("invalid entries", file=file) from None
    return out


def _lookup(
    ids: np.ndarray, table: np.ndarray, what: str, *, file: str | None, where: str
) -> np.ndarray:
    """Map ids to indices in ``table`` (unsorted ids allowed); unknown ids raise InputError."""
    order = np.argsort(table, kind="stable")
    st = table[order]
    pos = np.searchsorted(st, ids)
    pos_c = np.minimum(pos, max(len(st) - 1, 0))
    ok = (pos < len(st)) & (st[pos_c] == ids) if len(st) else np.zeros(len(ids), bool)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise InputError(f"unknown {what} {ids[i]:g}", file=file, where=where.format(i=i))
    return order[pos_c].astype(np.int32)


def load_detection_gt(
    source: str | Path | dict[str, Any], *, images_root: str | Path | None = None
) -> DetectionGroundTruth:
    """Read a COCO instances file (or an already loaded dict) into a DetectionGroundTruth.

    Classes are ordered by category id; images keep the order of the file. ``area`` defaults to
    ``w * h`` and ``iscrowd`` to 0 when absent.

    >>> gt = load_detection_gt({"images": [{"id": 5}], "categories": [{"id": 1, "name": "a"}],
    ...     "annotations": []})
    >>> gt.n_images, gt.n_boxes
    (1, 0)
    """
    file: str | None = None
    root = Path(images_root) if images_root is not None else None
    if isinstance(source, dict):
        data = source
    else:
        file = str(source)
        data = read_json(source)
        if root is None:
            root = Path(source).resolve().parent
    if not isinstance(data, dict):
        raise InputError("a COCO instances file must be a JSON object", file=file)
    for key in ("images", "annotations", "categories"):
        if key not in data:
            raise InputError(f"missing key '{key}'", file=file)
        if not isinstance(data[key], list):
            raise InputError(f"'{key}' must be a list", file=file)
    cats = data["categories"]
    for i, c in enumerate(cats):
        _check_entry(c, ("id",), file=file, where=f"categories[{i}]")
    cat_ids = np.array([c["id"] for c in cats], dtype=np.int64)
    if len(np.unique(cat_ids)) != len(cat_ids):
        raise InputError("duplicate category id", file=file, where="categories")
    order = np.argsort(cat_ids, kind="stable")
    classes = [str(cats[i].get("name", cats[i]["id"])) for i in order]
    cat_ids = cat_ids[order]

    imgs = data["images"]
    for i, im in enumerate(imgs):
        if not isinstance(im, dict) or not _is_num(im.get("id")):
            raise InputError("image needs a numeric 'id'", file=file, where=f"images[{i}]")
    image_ids = np.array([im["id"] for im in imgs], dtype=np.int64)
    if len(np.unique(image_ids)) != len(image_ids):
        raise InputError("duplicate image id", file=file, where="images")
    file_names = [str(im.get("file_name", "")) for im in imgs]
    widths = np.array([im.get("width", 0) or 0 for im in imgs], dtype=np.int64)
    heights = np.array([im.get("height", 0) or 0 for im in imgs], dtype=np.int64)

    anns = data["annotations"]
    where = "annotations[{i}]"
    cols = _columns(anns, ("image_id", "category_id", "bbox"), file=file, where=where)
    boxes = cols["bbox"]
    check_boxes(boxes, file=file, where=where)
    img_idx = _lookup(
        cols["image_id"], image_ids.astype(np.float64), "image_id", file=file, where=where
    )
    lab = _lookup(
        cols["category_id"], cat_ids.astype(np.float64), "category_id", file=file, where=where
    )
    n = len(anns)
    if all("area" in a for a in anns):
        area = _columns(anns, ("area",), file=file, where=where)["area"]
    else:
        area = np.array(
            [a.get("area", b[2] * b[3]) for a, b in zip(anns, boxes.tolist(), strict=True)],
            np.float64,
        )
    iscrowd = np.fromiter((bool(a.get("iscrowd", 0)) for a in anns), bool, n)
    ann_ids = np.fromiter((a.get("id", i + 1) for i, a in enumerate(anns)), np.int64, n)
    return DetectionGroundTruth(
        classes=classes,
        category_ids=cat_ids,
        image_ids=image_ids,
        file_names=file_names,
        widths=widths,
        heights=heights,
        boxes=boxes,
        labels=lab,
        image=img_idx,
        area=area,
        iscrowd=iscrowd,
        ann_ids=ann_ids,
        images_root=root,
        source=file,
    )


def load_detection_results(
    source: str | Path | list[Any], gt: DetectionGroundTruth
) -> DetectionPredictions:
    """Read a COCO results list ``[{image_id, category_id, bbox, score}, ...]`` aligned to ``gt``.

    An empty list is valid. Unknown images or categories, missing fields, non-positive box sizes and
    a file that is not a list raise :class:`InputError` naming the entry (``"entry 34"``).

    >>> gt = load_detection_gt({"images": [{"id": 1}], "categories": [{"id": 1, "name": "a"}],
    ...     "annotations": []})
    >>> load_detection_results([], gt).n_boxes
    0
    """
    file: str | None = None
    if isinstance(source, list):
        data = source
    else:
        file = str(source)
        data = read_json(source)
    if not isinstance(data, list):
        raise InputError("a COCO results file must be a JSON list of detections", file=file)
    if not data:
        return DetectionPredictions.empty(file)
    where = "entry {i}"
    cols = _columns(data, ("image_id", "category_id", "bbox", "score"), file=file, where=where)
    boxes = cols["bbox"]
    check_boxes(boxes, file=file, where=where)
    img = _lookup(
        cols["image_id"], gt.image_ids.astype(np.float64), "image_id", file=file, where=where
    )
    lab = _lookup(
        cols["category_id"],
        gt.category_ids.astype(np.float64),
        "category_id",
        file=file,
        where=where,
    )
    return DetectionPredictions(
        boxes=boxes, labels=lab, scores=cols["score"], image=img, source=file
    )


def to_coco_dict(gt: DetectionGroundTruth) -> dict[str, Any]:
    """Write a DetectionGroundTruth back as a COCO instances dict (for tests and exports)."""
    return {
        "images": [
            {"id": int(i), "file_name": f, "width": int(w), "height": int(h)}
            for i, f, w, h in zip(
                gt.image_ids.tolist(),
                gt.file_names,
                gt.widths.tolist(),
                gt.heights.tolist(),
                strict=True,
            )
        ],
        "categories": [
            {"id": int(c), "name": n}
            for c, n in zip(gt.category_ids.tolist(), gt.classes, strict=True)
        ],
        "annotations": [
            {
                "id": int(a),
                "image_id": int(gt.image_ids[im]),
                "category_id": int(gt.category_ids[lb]),
                "bbox": b,
                "area": ar,
                "iscrowd": int(c),
            }
            for a, im, lb, b, ar, c in zip(
                gt.ann_ids.tolist(),
                gt.image.tolist(),
                gt.labels.tolist(),
                gt.boxes.tolist(),
                gt.area.tolist(),
                gt.iscrowd.tolist(),
                strict=True,
            )
        ],
    }
