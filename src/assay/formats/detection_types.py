"""Columnar domain types for object detection: ground truth and predictions, and where their images are.

Every detection format (COCO JSON, YOLO txt folders, Pascal VOC XML) is read into these two types;
the readers import only this module, and :mod:`assay.formats.detection` dispatches to them.
Boxes are ``[x, y, w, h]`` in pixels (float64), one row per box; no per-box Python object exists on
the hot path. Class indices point into ``classes``; image indices point into the image table.

>>> import numpy as np
>>> gt = DetectionGroundTruth.from_arrays(
...     classes=["cat"], image_ids=[1], file_names=["a.jpg"], widths=[64], heights=[48],
...     boxes=[[1.0, 2.0, 10.0, 20.0]], labels=[0], image=[0])
>>> gt.n_boxes, float(gt.area[0])
(1, 200.0)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assay.errors import InputError
from assay.formats.files import read_input_bytes
from assay.formats.media import is_inside, real_root, refusal

__all__ = [
    "DetectionGroundTruth",
    "DetectionPredictions",
    "ImageFiles",
    "check_boxes",
    "locate_images",
    "check_utf8_names",
    "read_utf8",
]


@dataclass(eq=False)
class DetectionGroundTruth:
    """Ground-truth boxes of a detection set plus its image table.

    ``category_ids`` keeps the ids the source used (COCO ``category_id``); ``classes[k]`` is the
    name of ``category_ids[k]``. Classes are ordered by category id, as pycocotools orders them.
    ``iscrowd`` marks COCO crowd regions (and Pascal VOC ``difficult`` objects): they are
    never missed and a prediction on them is neither right nor wrong.
    """

    classes: list[str]
    category_ids: np.ndarray  # (K,) int64
    image_ids: np.ndarray  # (I,) int64
    file_names: list[str]
    widths: np.ndarray  # (I,) int64, 0 when unknown
    heights: np.ndarray  # (I,) int64, 0 when unknown
    boxes: np.ndarray  # (N, 4) float64 xywh
    labels: np.ndarray  # (N,) int32 class index
    image: np.ndarray  # (N,) int32 image index
    area: np.ndarray  # (N,) float64
    iscrowd: np.ndarray  # (N,) bool
    ann_ids: np.ndarray  # (N,) int64
    images_root: Path | None = None
    source: str | None = None
    image_paths: list[Path | None] | None = field(default=None)
    image_places: list[str] | None = field(default=None)  # the file naming each image (VOC)
    warnings: list[str] = field(default_factory=list)  # "FILE: what", one line each, to print

    @classmethod
    def from_arrays(
        cls,
        *,
        classes: Sequence[str],
        image_ids: Sequence[int] | np.ndarray,
        file_names: Sequence[str],
        widths: Sequence[int] | np.ndarray,
        heights: Sequence[int] | np.ndarray,
        boxes: Sequence[Sequence[float]] | np.ndarray,
        labels: Sequence[int] | np.ndarray,
        image: Sequence[int] | np.ndarray,
        area: Sequence[float] | np.ndarray | None = None,
        iscrowd: Sequence[bool] | np.ndarray | None = None,
        category_ids: Sequence[int] | np.ndarray | None = None,
        ann_ids: Sequence[int] | np.ndarray | None = None,
        images_root: Path | None = None,
        source: str | None = None,
    ) -> DetectionGroundTruth:
        """Build from plain sequences; ``area`` defaults to ``w * h``, ``iscrowd`` to False."""
        b = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
        n = len(b)
        return cls(
            classes=list(classes),
            category_ids=np.arange(len(classes), dtype=np.int64)
            if category_ids is None
            else np.asarray(category_ids, dtype=np.int64),
            image_ids=np.asarray(image_ids, dtype=np.int64),
            file_names=list(file_names),
            widths=np.asarray(widths, dtype=np.int64),
            heights=np.asarray(heights, dtype=np.int64),
            boxes=b,
            labels=np.asarray(labels, dtype=np.int32).reshape(n),
            image=np.asarray(image, dtype=np.int32).reshape(n),
            area=b[:, 2] * b[:, 3] if area is None else np.asarray(area, dtype=np.float64),
            iscrowd=np.zeros(n, bool) if iscrowd is None else np.asarray(iscrowd, dtype=bool),
            ann_ids=np.arange(1, n + 1, dtype=np.int64)
            if ann_ids is None
            else np.asarray(ann_ids, dtype=np.int64),
            images_root=images_root,
            source=source,
        )

    @property
    def n_images(self) -> int:
        """Number of images in the image table."""
        return len(self.image_ids)

    @property
    def n_boxes(self) -> int:
        """Number of ground-truth boxes (crowd regions included)."""
        return len(self.boxes)

    def image_index(self) -> dict[int, int]:
        """Map image id -> image index."""
        return {int(v): i for i, v in enumerate(self.image_ids.tolist())}

    def category_index(self) -> dict[int, int]:
        """Map category id -> class index."""
        return {int(v): i for i, v in enumerate(self.category_ids.tolist())}


@dataclass(eq=False)
class DetectionPredictions:
    """Predicted boxes, aligned to a :class:`DetectionGroundTruth` (image and class indices)."""

    boxes: np.ndarray  # (M, 4) float64 xywh
    labels: np.ndarray  # (M,) int32
    scores: np.ndarray  # (M,) float64
    image: np.ndarray  # (M,) int32
    source: str | None = None
    warnings: list[str] = field(default_factory=list)  # "FILE: what", one line each, to print

    @property
    def n_boxes(self) -> int:
        """Number of predicted boxes."""
        return len(self.boxes)

    @classmethod
    def empty(cls, source: str | None = None) -> DetectionPredictions:
        """No predictions at all (valid: every AP is 0)."""
        return cls(
            np.zeros((0, 4)), np.zeros(0, np.int32), np.zeros(0), np.zeros(0, np.int32), source
        )


def check_boxes(boxes: np.ndarray, *, file: str | None, where: str) -> None:
    """Raise :class:`InputError` naming the first box that is not finite or has ``w, h <= 0``.

    ``where`` is a format string with ``{i}`` for the entry index, e.g. ``"annotations[{i}]"``.

    >>> check_boxes(np.array([[0.0, 0.0, 2.0, 2.0]]), file="a.json", where="entry {i}")
    """
    if len(boxes) == 0:
        return
    bad = ~np.isfinite(boxes).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError("bbox is not finite", file=file, where=where.format(i=i))
    bad = (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"bbox has non-positive size {boxes[i].tolist()}", file=file, where=where.format(i=i)
        )


def read_utf8(path: Path) -> str:
    """A text file's content; a file that is not UTF-8 raises :class:`InputError` naming the line.

    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "a.txt"; _ = p.write_bytes(b"ok\\n\\xff\\n")
    >>> read_utf8(p)
    Traceback (most recent call last):
    ...
    assay.errors.InputError: ...a.txt: line 2: is not valid UTF-8 text
    """
    data = read_input_bytes(path)  # a regular file within the cap: never a pipe or a device
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError("is not valid UTF-8 text", file=str(path), where=f"line {line}") from None


def check_utf8_names(paths: Sequence[Path]) -> None:
    """Raise :class:`InputError` for the first path whose name is not valid UTF-8.

    Such a name cannot be stored or served (a sample's ``file_name`` is UTF-8 text); the message
    shows the name with its bad bytes escaped.

    >>> check_utf8_names([Path("a.jpg"), Path(os.fsdecode(b"\\xff.jpg"))])
    Traceback (most recent call last):
    ...
    assay.errors.InputError: \\xff.jpg: file name is not valid UTF-8 (rename the file)
    """
    for p in paths:
        try:
            str(p).encode("utf-8")
        except UnicodeEncodeError:
            shown = os.fsencode(p).decode("utf-8", "backslashreplace")
            raise InputError("file name is not valid UTF-8 (rename the file)", file=shown) from None


@dataclass(frozen=True)
class ImageFiles:
    """Where the image files of a :class:`DetectionGroundTruth` were found.

    ``paths[i]`` is the real path of image ``i`` (None when not found); ``root`` is the folder
    the search started from (the one the user named, or the format's default); ``media_root``
    the folder every found file lies in (see :mod:`assay.formats.media`).
    """

    paths: list[Path | None]
    root: Path | None
    media_root: Path | None = None

    @property
    def found(self) -> int:
        """Number of images whose file was found."""
        return sum(p is not None for p in self.paths)

    @property
    def total(self) -> int:
        """Number of images in the image table."""
        return len(self.paths)

    def note(self) -> str | None:
        """ "found N of M image files under ROOT", or None when there is nothing to say."""
        if self.root is None or not self.paths:
            return None
        return f"found {self.found} of {self.total} image files under {self.root}"


def _place(gt: DetectionGroundTruth, i: int) -> tuple[str | None, str]:
    """The file and the place that name image ``i`` (COCO: ``images[i]``; VOC: its XML file)."""
    if gt.image_places is not None:
        return gt.image_places[i], "filename"
    return gt.source, f"images[{i}], field 'file_name'"


def _find(
    gt: DetectionGroundTruth, i: int, roots: list[Path], allow_outside: bool
) -> tuple[Path, Path] | None:
    """(real path, root it lies in) of image ``i``'s file, or None when not found. A name
    leading outside every root, or a link inside one that points outside, is refused."""
    name = gt.file_names[i]
    if not name:
        return None
    tries = [(r, name) for r in roots]
    base = os.path.basename(name.replace("\\", "/"))
    if roots and base and base != name:
        tries.append((roots[0], base))
    escapes = True
    for k, (folder, rel) in enumerate(tries):
        candidate = os.path.normpath(os.path.join(folder, rel))
        within = any(is_inside(candidate, r) and candidate != str(r) for r in roots)
        if k < len(roots):  # the name itself, not its last part
            escapes = escapes and not within
        if not (within or allow_outside) or not os.path.isfile(candidate):
            continue
        real = Path(os.path.realpath(candidate))
        holder = next((r for r in roots if is_inside(real, r)), None)
        if holder is None and not allow_outside:
            file, where = _place(gt, i)
            raise refusal("is a link to a file outside", roots[0], file=file, where=where)
        return real, holder or real.parent
    if escapes and not allow_outside:
        file, where = _place(gt, i)
        what = "is absolute, outside" if os.path.isabs(name) else "leads outside"
        raise refusal(what, roots[0], file=file, where=where)
    return None


def locate_images(gt: DetectionGroundTruth, *, allow_outside: bool = False) -> ImageFiles:
    """Find each image's file: ``file_name`` under the images folder, then under the annotation
    file's folder, then the file name's last part under the images folder (a ``file_name`` such as
    ``val2017/1.jpg`` with the images folder ``.../val2017``).

    A found file lies inside the folder it was found under, links followed; a ``file_name``
    leading outside every folder searched (``..``, absolute) or a link to outside is an
    :class:`InputError` naming the entry, unless ``allow_outside``
    (see :mod:`assay.formats.media`).

    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp()); (d / "b.jpg").write_bytes(b"x")
    1
    >>> gt = DetectionGroundTruth.from_arrays(classes=[], image_ids=[1, 2],
    ...     file_names=["sub/b.jpg", "c.jpg"], widths=[1, 1], heights=[1, 1], boxes=[],
    ...     labels=[], image=[], images_root=d)
    >>> files = locate_images(gt)
    >>> files.found, files.paths[0] == d.resolve() / "b.jpg"
    (1, True)
    """
    roots: list[Path] = []
    if gt.images_root is not None:
        roots.append(real_root(gt.images_root))
    if gt.source is not None:
        src = Path(gt.source)
        ann_dir = real_root(src if src.is_dir() else src.parent)
        if ann_dir not in roots:
            roots.append(ann_dir)
    roots = [r for r in roots if r.is_dir()]
    paths: list[Path | None] = []
    used: list[str] = []
    for i in range(gt.n_images):
        found = _find(gt, i, roots, allow_outside) if roots else None
        paths.append(None if found is None else found[0])
        if found is not None and str(found[1]) not in used:
            used.append(str(found[1]))
    media_root = None
    if used:
        media_root = Path(os.path.commonpath(used))
    elif roots:
        media_root = roots[0]
    named = None if gt.images_root is None else Path(os.path.abspath(gt.images_root))
    return ImageFiles(paths, named, media_root)
