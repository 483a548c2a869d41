"""COCO detection JSON: instances (ground truth) and results (predictions).

Parsed with orjson into the columnar types of :mod:`assay.formats.detection_types`. The common path is
vectorised; when it fails, a slower scan finds the offending entry so the error names it. A results
file of the plain shape (flat entries of numbers) is read by a numba scanner straight into columns
(:mod:`assay.formats._coco_scan`), with the same numbers; any other file takes the orjson path.

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
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import chain, repeat
from operator import is_, itemgetter, methodcaller
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from assay.errors import InputError
from assay.formats.detection_types import DetectionGroundTruth, DetectionPredictions, check_boxes
from assay.formats.files import read_input_bytes

__all__ = ["load_detection_gt", "load_detection_results", "read_json", "to_coco_dict"]


def read_json(path: str | Path) -> Any:
    """Read a JSON file with orjson; a truncated or invalid file raises :class:`InputError`."""
    p = Path(path)
    return _parse_json(read_input_bytes(p), p)  # a regular file within the cap


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector off: parsing a file makes millions of dicts and lists, and
    each collection while they live (during the parse, and while the columns are read out of
    them) would walk them all, for nothing: their time grew faster than the file."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse_json(data: bytes, p: Path) -> Any:
    """``data`` (the bytes of file ``p``) parsed with orjson, or :class:`InputError`."""
    with _gc_paused():
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as e:
            raise InputError(f"truncated or invalid JSON ({e})", file=str(p)) from None


SCAN_MIN_BYTES = 4 << 20
"""Results files from this size on are read by the numba scanner; a smaller one takes orjson's
path (well under a second), so a small evaluation never compiles the scanner (seconds, once)."""

ID_FIELDS = frozenset({"id", "image_id", "category_id"})
"""Integer ids: exact, within 64 bits (a float only when it is a whole number below 2**53)."""


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _is_id(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, int):
        return -(2**63) <= v < 2**63
    return isinstance(v, float) and v.is_integer() and abs(v) < 2**53


def _kind(v: Any) -> str:
    """What a JSON value is, for a message that does not echo it."""
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int | float):
        return "a number" if _is_num(v) else "not finite"
    if isinstance(v, str):
        return "text"
    if isinstance(v, list):
        return f"a list of {len(v)}"
    if isinstance(v, dict):
        return "an object"
    return "null"


def _bad_field(f: str, v: Any) -> str | None:
    """Why ``v`` is not a valid value of field ``f`` (None when it is)."""
    if f == "bbox":
        if isinstance(v, list) and len(v) == 4 and all(_is_num(x) for x in v):
            return None
        if isinstance(v, list) and len(v) == 4:
            j = next(j for j, x in enumerate(v) if not _is_num(x))
            return f"bbox[{j}] must be a finite number, got {_kind(v[j])}"
        return f"bbox must be 4 finite numbers [x, y, w, h], got {_kind(v)}"
    if f in ID_FIELDS:
        if _is_id(v):
            return None
        if isinstance(v, int) and not isinstance(v, bool):
            return f"field '{f}' is an integer beyond 64 bits"
        if isinstance(v, float) and math.isfinite(v):
            return f"field '{f}' must be an exact integer id (it has a fraction, or lies beyond 64 bits)"
        return f"field '{f}' must be an integer id, got {_kind(v)}"
    if _is_num(v):
        return None
    return f"field '{f}' must be a finite number, got {_kind(v)}"


def _check_entry(d: Any, fields: tuple[str, ...], *, file: str | None, where: str) -> None:
    """Slow-path validation of one entry: a dict with the numeric fields and a 4-number bbox."""
    if not isinstance(d, dict):
        raise InputError(f"expected an object, got {_kind(d)}", file=file, where=where)
    for f in fields:
        if f not in d:
            raise InputError(f"missing field '{f}'", file=file, where=where)
        why = _bad_field(f, d[f])
        if why is not None:
            raise InputError(why, file=file, where=where)


def _numbers(vals: list[Any], f: str) -> np.ndarray:
    """Values of field ``f`` as float64 (finite) or, for ids, int64; ValueError when one is not."""
    kinds = set(map(type, vals))
    if not kinds <= {int, float}:
        raise ValueError(f)
    if f in ID_FIELDS:
        if kinds == {int}:
            return np.array(vals, dtype=np.int64)  # OverflowError beyond 64 bits
        x = np.array(vals, dtype=np.float64)
        if not ((x == np.round(x)) & (np.abs(x) < 2**53)).all():
            raise ValueError(f)
        return x.astype(np.int64)
    x = np.array(vals, dtype=np.float64)
    if not np.isfinite(x).all():
        raise ValueError(f)
    return x


def _columns(
    items: list[Any], fields: tuple[str, ...], *, file: str | None, where: str
) -> dict[str, np.ndarray]:
    """Extract columns (``bbox`` as (n, 4) float64, ids as int64, numbers as float64) from a list
    of dicts, validating them: booleans, text, NaN / inf and ids beyond 64 bits are refused."""
    n = len(items)
    out: dict[str, np.ndarray] = {}
    try:
        for f in fields:
            vals = list(map(itemgetter(f), items))
            if f == "bbox":
                if not set(map(type, vals)) <= {list}:
                    raise ValueError(f)
                lens = np.fromiter(map(len, vals), np.int64, n)
                if n and (lens != 4).any():
                    raise ValueError(f)
                out["bbox"] = _numbers(list(chain.from_iterable(vals)), f).reshape(n, 4)
            else:
                out[f] = _numbers(vals, f)
    except (KeyError, TypeError, ValueError, IndexError, OverflowError):
        for i, d in enumerate(items):
            _check_entry(d, fields, file=file, where=where.format(i=i))
        raise InputError("invalid entries", file=file) from None
    return out


def _optional(
    items: list[dict[str, Any]], f: str, default: Any, *, file: str | None, where: str
) -> np.ndarray:
    """An optional field (absent or null -> ``default``), validated as :func:`_columns` does."""
    vals = list(map(methodcaller("get", f), items))
    if None in vals:
        vals = [default if v is None else v for v in vals]
    try:
        return _numbers(vals, f)
    except (ValueError, OverflowError):
        for i, v in enumerate(vals):
            why = _bad_field(f, v)
            if why is not None:
                raise InputError(why, file=file, where=where.format(i=i)) from None
        raise InputError(f"invalid '{f}' values", file=file) from None


def _absent(items: list[dict[str, Any]], f: str) -> np.ndarray:
    """Where field ``f`` is absent or null, as a bool mask."""
    vals = map(methodcaller("get", f), items)
    return np.fromiter(map(is_, vals, repeat(None)), bool, len(items))


def _text_field(items: list[dict[str, Any]], f: str, *, file: str | None, where: str) -> None:
    """A text field (``file_name``, ``name``) must be text (or a number, for names) when present."""
    if set(map(type, map(methodcaller("get", f), items))) <= {str, type(None)}:
        return  # the common case, checked without a loop in Python
    for i, d in enumerate(items):
        v = d.get(f)
        if v is not None and not isinstance(v, str) and not _is_num(v):
            raise InputError(
                f"field '{f}' must be text, got {_kind(v)}", file=file, where=where.format(i=i)
            )


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
        raise InputError(f"unknown {what} {int(ids[i])}", file=file, where=where.format(i=i))
    return order[pos_c].astype(np.int32)


def _size(imgs: list[dict[str, Any]], f: str, *, file: str | None) -> np.ndarray:
    """Image ``width`` / ``height``: absent or null is 0 (unknown); else a finite number >= 0."""
    vals = [0 if v is None else v for v in map(methodcaller("get", f), imgs)]
    if set(map(type, vals)) <= {int, float}:  # the common case, checked as arrays
        try:
            x = np.array(vals, dtype=np.float64)
        except OverflowError:
            x = np.full(1, np.nan)
        if (np.isfinite(x) & (x >= 0) & (x < 2**31)).all():
            return x.astype(np.int64)
    for i, v in enumerate(vals):
        if not _is_num(v) or not 0 <= v < 2**31:  # type: ignore[operator]
            raise InputError(
                f"field '{f}' must be a number of pixels, got {_kind(v)}",
                file=file,
                where=f"images[{i}]",
            )
    return np.array(vals, dtype=np.float64).astype(np.int64)


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
    with _gc_paused():
        return _load_gt(source, images_root)


def _load_gt(
    source: str | Path | dict[str, Any], images_root: str | Path | None
) -> DetectionGroundTruth:
    """:func:`load_detection_gt`'s work (the collector paused around it)."""
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
    cat_ids = _columns(cats, ("id",), file=file, where="categories[{i}]")["id"]
    _text_field(cats, "name", file=file, where="categories[{i}]")
    if len(np.unique(cat_ids)) != len(cat_ids):
        raise InputError("duplicate category id", file=file, where="categories")
    order = np.argsort(cat_ids, kind="stable")
    classes = [str(cats[i].get("name", cats[i]["id"])) for i in order]
    cat_ids = cat_ids[order]

    imgs = data["images"]
    image_ids = _columns(imgs, ("id",), file=file, where="images[{i}]")["id"]
    if len(np.unique(image_ids)) != len(image_ids):
        raise InputError("duplicate image id", file=file, where="images")
    _text_field(imgs, "file_name", file=file, where="images[{i}]")
    file_names = [str(im.get("file_name") or "") for im in imgs]
    widths = _size(imgs, "width", file=file)
    heights = _size(imgs, "height", file=file)

    anns = data["annotations"]
    where = "annotations[{i}]"
    cols = _columns(anns, ("image_id", "category_id", "bbox"), file=file, where=where)
    boxes = cols["bbox"]
    check_boxes(boxes, file=file, where=where)
    img_idx = _lookup(cols["image_id"], image_ids, "image_id", file=file, where=where)
    lab = _lookup(cols["category_id"], cat_ids, "category_id", file=file, where=where)
    n = len(anns)
    area = _optional(anns, "area", 0.0, file=file, where=where)
    if (area < 0).any():
        i = int(np.argmax(area < 0))
        raise InputError("field 'area' is negative", file=file, where=where.format(i=i))
    no_area = _absent(anns, "area")  # the box's area
    area[no_area] = boxes[no_area, 2] * boxes[no_area, 3]
    crowd = list(map(methodcaller("get", "iscrowd", 0), anns))
    if not set(map(type, crowd)) <= {int, bool} or not set(crowd) <= {0, 1}:
        i = next(i for i, c in enumerate(crowd) if type(c) not in (int, bool) or c not in (0, 1))
        raise InputError(
            f"field 'iscrowd' must be 0 or 1, got {_kind(crowd[i])}",
            file=file,
            where=where.format(i=i),
        )
    iscrowd = np.array(crowd, dtype=bool).reshape(n)
    ann_ids = _optional(anns, "id", 0, file=file, where=where)
    no_id = _absent(anns, "id")
    ann_ids[no_id] = np.flatnonzero(no_id) + 1  # the position, 1-based
    corners = corner_warning(boxes, img_idx, widths, heights, file=file)
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
        warnings=[] if corners is None else [corners],
    )


def corner_warning(
    boxes: np.ndarray,
    image: np.ndarray,
    widths: np.ndarray,
    heights: np.ndarray,
    *,
    file: str | None,
) -> str | None:
    """One line when the boxes look like corners ``[x1, y1, x2, y2]`` rather than COCO's
    ``[x, y, width, height]``: most boxes on images of known size run past their image read as
    x, y, w, h but fit inside it read as x1, y1, x2, y2. None otherwise.

    >>> b = np.array([[30., 30., 80., 90.], [50., 40., 90., 95.]])
    >>> corner_warning(b, np.array([0, 0]), np.array([100]), np.array([100]), file="d.json")
    'd.json: 2 of 2 boxes run past their image as [x, y, width, height] but fit as [x1, y1, x2, y2] corners; COCO boxes are [x, y, width, height]'
    """
    if not len(boxes) or not len(widths):
        return None
    w = widths[image].astype(np.float64)
    h = heights[image].astype(np.float64)
    known = (w > 0) & (h > 0)
    if not known.any():
        return None
    b, w, h = boxes[known], w[known], h[known]
    slack = 1.0  # a pixel of rounding
    past = (b[:, 0] + b[:, 2] > w + slack) | (b[:, 1] + b[:, 3] > h + slack)
    fits = (
        (b[:, 2] > b[:, 0]) & (b[:, 3] > b[:, 1]) & (b[:, 2] <= w + slack) & (b[:, 3] <= h + slack)
    )
    n_past = int(past.sum())
    if n_past * 2 <= len(b) or int((past & fits).sum()) * 10 < n_past * 9:
        return None
    return (
        f"{file or 'detections'}: {n_past} of {len(b)} boxes run past their image as "
        "[x, y, width, height] but fit as [x1, y1, x2, y2] corners; COCO boxes are "
        "[x, y, width, height]"
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
    with _gc_paused():
        return _load_results(source, gt)


def _load_results(source: str | Path | list[Any], gt: DetectionGroundTruth) -> DetectionPredictions:
    """:func:`load_detection_results`' work (the collector paused around it)."""
    file: str | None = None
    if isinstance(source, list):
        data = source
    else:
        file = str(source)
        raw = read_input_bytes(Path(source))  # a regular file within the cap
        if len(raw) >= SCAN_MIN_BYTES:
            from assay.formats._coco_scan import scan_results  # numba: loaded for a big file

            cols = scan_results(np.frombuffer(raw, np.uint8))
            if cols is not None:  # the plain shape, read straight into columns
                return _predictions(cols, gt, file)
        data = _parse_json(raw, Path(source))
        del raw
    if not isinstance(data, list):
        raise InputError("a COCO results file must be a JSON list of detections", file=file)
    if not data:
        return DetectionPredictions.empty(file)
    where = "entry {i}"
    first = data[0]
    if isinstance(first, dict) and "score" not in first and "bbox" in first:
        raise InputError(
            "detections without a 'score': Assay needs each box's confidence to rank them "
            "(AP, the confusion matrix at a confidence); give a score per box (1.0 if none)",
            file=file,
            where="entry 0",
        )
    cols = _columns(data, ("image_id", "category_id", "bbox", "score"), file=file, where=where)
    return _predictions(cols, gt, file)


def _predictions(
    cols: dict[str, np.ndarray], gt: DetectionGroundTruth, file: str | None
) -> DetectionPredictions:
    """The predictions from a results file's columns, checked against ``gt``."""
    where = "entry {i}"
    boxes = cols["bbox"]
    check_boxes(boxes, file=file, where=where)
    img = _lookup(cols["image_id"], gt.image_ids, "image_id", file=file, where=where)
    lab = _lookup(cols["category_id"], gt.category_ids, "category_id", file=file, where=where)
    corners = corner_warning(boxes, img, gt.widths, gt.heights, file=file)
    return DetectionPredictions(
        boxes=boxes,
        labels=lab,
        scores=cols["score"],
        image=img,
        source=file,
        warnings=[] if corners is None else [corners],
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
