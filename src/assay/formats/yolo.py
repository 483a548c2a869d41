"""YOLO txt folders: ``labels/*.txt`` rows ``cls cx cy w h`` (normalised), predictions add a score.

Layout: ``root/images/...`` and ``root/labels/...`` with the same relative paths; class names in
``root/names.txt`` (or ``classes.txt``, one per line) or in a ``data.yaml`` ``names:`` entry (a
flow list, a block list or an index -> name map; read without a yaml dependency). Image sizes are
read from the image headers with Pillow. Image ids are 0, 1, ... in sorted path order.

>>> parse_yaml_names("names: [cat, 'dog']\\n")
['cat', 'dog']
>>> parse_yaml_names("names:\\n  0: cat\\n  1: dog\\n")
['cat', 'dog']
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from assay.errors import InputError
from assay.formats.detection_types import (
    DetectionGroundTruth,
    DetectionPredictions,
    check_boxes,
    check_utf8_names,
    read_utf8,
)
from assay.formats.media import confine

__all__ = ["load_detection_gt", "load_detection_results", "parse_yaml_names", "write_yolo"]

_NAME_FILES = ("names.txt", "classes.txt", "obj.names")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


def _unquote(s: str) -> str:
    s = s.split(" #")[0].strip()
    if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"":
        return s[1:-1]
    return s


def parse_yaml_names(text: str, file: str | None = None) -> list[str]:
    """The ``names:`` entry of a YOLO data.yaml: ``[a, b]``, ``- a`` lines or ``0: a`` lines."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("names:"):
            continue
        rest = line[len("names:") :].strip()
        if rest.startswith("["):
            body = rest.strip()
            j = i
            while not body.rstrip().endswith("]") and j + 1 < len(lines):
                j += 1
                body += " " + lines[j].strip()
            return [_unquote(x) for x in body.strip()[1:-1].split(",") if x.strip()]
        if rest.startswith("{"):
            pairs = [x.split(":", 1) for x in rest.strip().strip("{}").split(",") if x.strip()]
            try:
                d = {int(k.strip()): _unquote(v) for k, v in pairs}
            except ValueError:
                raise InputError("cannot read 'names'", file=file, where=f"line {i + 1}") from None
            return [d[k] for k in sorted(d)]
        out: dict[int, str] = {}
        items: list[str] = []
        for raw in lines[i + 1 :]:
            if raw.strip() == "" or raw.lstrip().startswith("#"):
                continue
            if not raw[:1].isspace() and not raw.startswith("-"):
                break
            s = raw.strip()
            if s.startswith("- "):
                items.append(_unquote(s[2:]))
            elif ":" in s:
                k, v = s.split(":", 1)
                try:
                    out[int(k.strip())] = _unquote(v)
                except ValueError:
                    raise InputError("names keys must be integers", file=file) from None
        return items if items else [out[k] for k in sorted(out)]
    raise InputError("no 'names:' entry", file=file)


def _class_names(root: Path, yaml_path: Path | None) -> list[str]:
    if yaml_path is not None:
        return parse_yaml_names(read_utf8(yaml_path), str(yaml_path))
    for name in _NAME_FILES:
        p = root / name
        if p.is_file():
            return [ln.strip() for ln in read_utf8(p).splitlines() if ln.strip()]
    for name in ("data.yaml", "dataset.yaml", "data.yml"):
        p = root / name
        if p.is_file():
            return parse_yaml_names(read_utf8(p), str(p))
    raise InputError("no class names: add names.txt (one per line) or data.yaml", file=str(root))


_COLUMNS = ("class", "x_center", "y_center", "width", "height", "score")


def _read_rows(path: Path, ncols: int, n_classes: int) -> np.ndarray:
    """Rows of a label file as (n, ncols) float64; bad lines raise InputError naming the line.

    Every value must be a finite number (``nan`` / ``inf`` are refused), the class an integer in
    ``[0, n_classes)``, the box size positive. Messages name the line and column, not the text.
    """
    rows = []
    for n, line in enumerate(read_utf8(path).splitlines(), 1):
        s = line.split()
        if not s:
            continue
        if ncols == 6 and len(s) == 5:
            raise InputError(
                "a detection without a score (6th column): Assay needs each box's confidence "
                "to rank them; give a score per box (1.0 if none)",
                file=str(path),
                where=f"line {n}",
            )
        if len(s) != ncols:
            raise InputError(
                f"expected {ncols} columns, got {len(s)}", file=str(path), where=f"line {n}"
            )
        try:
            v = [float(x) for x in s]
        except ValueError:
            j = next(j for j, x in enumerate(s) if not _is_float(x))
            raise InputError(
                f"{_COLUMNS[j]} is not a number", file=str(path), where=f"line {n}"
            ) from None
        bad = [j for j, x in enumerate(v) if not math.isfinite(x)]
        if bad:
            raise InputError(
                f"{_COLUMNS[bad[0]]} is not a finite number", file=str(path), where=f"line {n}"
            )
        if not (v[0] == int(v[0]) and 0 <= v[0] < n_classes):
            raise InputError(
                f"class must be an integer index in [0, {n_classes})",
                file=str(path),
                where=f"line {n}",
            )
        if v[3] <= 0 or v[4] <= 0:
            raise InputError("box has non-positive size", file=str(path), where=f"line {n}")
        rows.append(v)
    return np.array(rows, np.float64).reshape(-1, ncols)


def _is_float(x: str) -> bool:
    try:
        float(x)
    except ValueError:
        return False
    return True


def _to_xywh(rows: np.ndarray, w: float, h: float) -> np.ndarray:
    cx, cy, bw, bh = rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 4]
    return np.stack([(cx - bw / 2) * w, (cy - bh / 2) * h, bw * w, bh * h], axis=1)


def load_detection_gt(
    source: str | Path, *, images_root: str | Path | None = None, allow_outside: bool = False
) -> DetectionGroundTruth:
    """Read a YOLO folder (or its data.yaml) into a DetectionGroundTruth.

    An image that is a link to a file outside the images folder is refused (before it is
    opened) unless ``allow_outside`` (see :mod:`assay.formats.media`)."""
    src = Path(source)
    yaml_path = src if src.is_file() else None
    root = src.parent if yaml_path else src
    img_root = Path(images_root) if images_root is not None else root / "images"
    lab_root = root / "labels"
    if not lab_root.is_dir():
        raise InputError("no labels/ folder", file=str(root))
    classes = _class_names(root, yaml_path)
    images = (
        sorted(p for p in img_root.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if img_root.is_dir()
        else []
    )
    check_utf8_names(images)
    rel = [p.relative_to(img_root) for p in images]
    if not allow_outside:
        for p, r in zip(images, rel, strict=True):
            confine(r.as_posix(), img_root, file=str(p), where=None)
    known = {r.with_suffix("").as_posix() for r in rel}
    for lp in sorted(lab_root.rglob("*.txt")):
        stem = lp.relative_to(lab_root).with_suffix("").as_posix()
        if stem not in known:
            raise InputError("label file has no image in images/", file=str(lp))
    widths, heights, boxes, labels, image = [], [], [], [], []
    for i, (p, r) in enumerate(zip(images, rel, strict=True)):
        try:
            with Image.open(p) as im:
                w, h = im.size
        except OSError:
            raise InputError("cannot read image size", file=str(p)) from None
        widths.append(w)
        heights.append(h)
        lp = lab_root / r.with_suffix(".txt")
        if lp.is_file():
            rows = _read_rows(lp, 5, len(classes))
            boxes.append(_to_xywh(rows, w, h))
            labels.append(rows[:, 0].astype(np.int32))
            image.append(np.full(len(rows), i, np.int32))
    b = np.concatenate(boxes) if boxes else np.zeros((0, 4))
    return DetectionGroundTruth.from_arrays(
        classes=classes,
        image_ids=np.arange(len(images)),
        file_names=[r.as_posix() for r in rel],
        widths=widths,
        heights=heights,
        boxes=b,
        labels=np.concatenate(labels) if labels else np.zeros(0, np.int32),
        image=np.concatenate(image) if image else np.zeros(0, np.int32),
        images_root=img_root,
        source=str(src),
    )


def load_detection_results(source: str | Path, gt: DetectionGroundTruth) -> DetectionPredictions:
    """Read YOLO prediction txt files (``cls cx cy w h score``) matched to ``gt`` images by stem.

    ``source`` is a folder of .txt files (or one holding ``labels/``).
    """
    root = Path(source)
    if (root / "labels").is_dir():
        root = root / "labels"
    by_stem: dict[str, int] = {}
    for i, f in enumerate(gt.file_names):
        by_stem.setdefault(Path(f).with_suffix("").as_posix(), i)
        by_stem.setdefault(Path(f).stem, i)
    boxes, labels, scores, image = [], [], [], []
    for lp in sorted(root.rglob("*.txt")):
        if lp.name in _NAME_FILES:
            continue
        stem = lp.relative_to(root).with_suffix("").as_posix()
        found = by_stem.get(stem, by_stem.get(lp.stem))
        if found is None:
            raise InputError("predictions for an unknown image", file=str(lp))
        i = found
        w, h = int(gt.widths[i]), int(gt.heights[i])
        if w <= 0 or h <= 0:
            raise InputError("image size unknown, cannot denormalise", file=str(lp))
        rows = _read_rows(lp, 6, len(gt.classes))
        bx = _to_xywh(rows, w, h)
        check_boxes(bx, file=str(lp), where="box {i}")
        boxes.append(bx)
        labels.append(rows[:, 0].astype(np.int32))
        scores.append(rows[:, 5])
        image.append(np.full(len(rows), i, np.int32))
    if not boxes:
        return DetectionPredictions.empty(str(source))
    return DetectionPredictions(
        np.concatenate(boxes),
        np.concatenate(labels),
        np.concatenate(scores),
        np.concatenate(image),
        str(source),
    )


def write_yolo(
    gt: DetectionGroundTruth, root: str | Path, dt: DetectionPredictions | None = None
) -> Path:
    """Write ``labels/*.txt`` (and ``names.txt``) for ``gt``, or prediction files for ``dt``.

    Images are not written; crowd regions are dropped (YOLO has no crowd). Returns the folder.
    """
    root = Path(root)
    lab = root / "labels"
    lab.mkdir(parents=True, exist_ok=True)
    if dt is None:
        (root / "names.txt").write_text("".join(c + "\n" for c in gt.classes))
        b, cls, img, sc = gt.boxes, gt.labels, gt.image, None
        keep = ~gt.iscrowd
        b, cls, img = b[keep], cls[keep], img[keep]
    else:
        b, cls, img, sc = dt.boxes, dt.labels, dt.image, dt.scores
    for i, f in enumerate(gt.file_names):
        w, h = float(gt.widths[i]), float(gt.heights[i])
        sel = np.flatnonzero(img == i)
        lines = []
        for j in sel:
            x, y, bw, bh = b[j]
            row = [
                f"{int(cls[j])}",
                f"{(x + bw / 2) / w:.17g}",
                f"{(y + bh / 2) / h:.17g}",
                f"{bw / w:.17g}",
                f"{bh / h:.17g}",
            ]
            if sc is not None:
                row.append(f"{sc[j]:.17g}")
            lines.append(" ".join(row))
        p = lab / Path(f).with_suffix(".txt")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("".join(ln + "\n" for ln in lines))
    return root
