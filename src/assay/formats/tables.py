"""Classification ground truth and prediction tables: CSV, JSONL, Parquet and ImageFolder trees.

Everything a user hands us goes through here once; what comes out is checked and aligned, so the
evaluation layer trusts it. Every problem is an :class:`~assay.errors.InputError` naming the file and
the row (1-based, counting data rows after the header) or column, never quoting a cell's text (ids
and labels are quoted, cut to 40 characters). Refused: missing, NaN and infinite scores; lists and
structs in ``id`` / ``label`` / ``text`` / ``path`` / ``fold`` / ``group``; numeric ids that are not exact
(a float, or a JSON integer beyond 64 bits that the parser turned into one); CSV rows longer than
:data:`~assay.formats.table_files.CSV_BLOCK_BYTES`.

Questionable but usable input is not an error: it gives warnings, one line each, that the caller
prints. :attr:`Predictions.warnings` holds the reader's (boolean score columns, read as 1 / 0);
:attr:`ClassificationInput.warnings` adds what :func:`~assay.formats.align.align` finds
(single-label score rows that do not sum to 1 within its ``SUM_TOLERANCE``, counted once over all
rows). The readers are here; lining ground truth and predictions up is :mod:`assay.formats.align`.

>>> gt = read_ground_truth("gt.csv")                     # doctest: +SKIP
>>> pred = read_predictions("pred.csv")                  # doctest: +SKIP
>>> data = align(gt, pred)                               # doctest: +SKIP
>>> data.y_score.shape                                   # doctest: +SKIP
(1000, 10)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa

from assay.errors import InputError
from assay.formats.files import check_input
from assay.formats.media import confine, real_root
from assay.formats.table_files import (
    check_file,
    check_unique_ids,
    first_valid,
    null_row,
    read_table,
    short,
    str_list,
    type_name,
)

Task = Literal["classification", "multilabel"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
RESERVED = {"id", "label", "labels", "text", "path", "fold", "group"}


@dataclass
class GroundTruth:
    """A labeled test set: one row a sample, in file order."""

    source: Path
    ids: np.ndarray  # str objects
    labels: list[str] | None = None  # single-label
    label_sets: list[list[str]] | None = None  # multi-label
    text: list[str] | None = None
    paths: list[str | None] | None = None  # absolute media paths
    folds: list[str] | None = None
    groups: list[str] | None = None  # cluster of each sample (patient, video, source image)
    metadata: pa.Table | None = None
    declared_classes: list[str] | None = None  # ImageFolder: the folder order
    media_root: Path | None = None  # the folder every media path lies in (see formats.media)
    warnings: list[str] = field(default_factory=list)  # "FILE: PLACE: what", to print

    @property
    def classes(self) -> list[str]:
        """The class names: the declared order (ImageFolder), else the labels sorted."""
        if self.declared_classes is not None:
            return list(self.declared_classes)
        if self.label_sets is not None:
            return sorted({x for s in self.label_sets for x in s})
        return sorted(set(self.labels or []))

    @property
    def media(self) -> str | None:
        """What a sample is: "image" (a media path), "text", or None (neither)."""
        if self.paths is not None:
            return "image"
        if self.text is not None:
            return "text"
        return None

    @property
    def multilabel(self) -> bool:
        return self.label_sets is not None

    def __len__(self) -> int:
        return len(self.ids)

    def samples_table(self) -> pa.Table:
        """The per-sample table the workspace keeps with a dataset version."""
        cols: dict[str, pa.Array | list] = {"id": pa.array(self.ids.tolist(), pa.string())}
        if self.labels is not None:
            cols["label"] = pa.array(self.labels, pa.string())
        if self.label_sets is not None:
            cols["labels"] = pa.array(self.label_sets, pa.list_(pa.string()))
        if self.text is not None:
            cols["text"] = pa.array(self.text, pa.string())
        if self.paths is not None:
            cols["path"] = pa.array(self.paths, pa.string())
        if self.folds is not None:
            cols["fold"] = pa.array(self.folds, pa.string())
        if self.groups is not None:
            cols["group"] = pa.array(self.groups, pa.string())
        table = pa.table(cols)
        if self.metadata is not None:
            for name in self.metadata.column_names:
                table = table.append_column(name, self.metadata.column(name))
        return table


@dataclass
class Predictions:
    """Scores per sample and class, in file order."""

    source: Path
    ids: np.ndarray
    classes: list[str]
    scores: np.ndarray  # float64 (N, C)
    wide: bool = True
    warnings: list[str] = field(default_factory=list)  # "FILE: PLACE: what", to print
    labels: list[str] | None = None  # hard labels (no scores): the predicted class per row
    label_sets: list[list[str]] | None = None  # hard multi-label predictions
    groups: list[str] | None = None  # a wide table's ``group`` column (not a class)

    @property
    def hard(self) -> bool:
        """Predicted classes without scores (``id,label`` / ``id,prediction`` / ``id,labels``)."""
        return self.labels is not None or self.label_sets is not None


@dataclass
class ClassificationInput:
    """Ground truth and predictions aligned row for row, ready for the metrics."""

    gt: GroundTruth
    classes: list[str]
    y_true: np.ndarray  # int (N,) or bool (N, C)
    y_score: np.ndarray  # float64 (N, C), probabilities
    task: Task
    folds: np.ndarray | None = None
    groups: np.ndarray | None = (
        None  # str objects: the cluster of each row (intervals resample them)
    )
    warnings: list[str] = field(default_factory=list)  # the reader's, then align's; one line each
    hard_labels: bool = False  # predictions without scores: y_score is one-hot (multi-hot)


# --------------------------------------------------------------------------------------------
# Ground truth


def read_ground_truth(path: str | Path, *, allow_outside: bool = False) -> GroundTruth:
    """Read a labeled test set: a CSV / JSONL / Parquet table or an ImageFolder tree.

    A table needs ``id`` and ``label`` (single-label) or ``labels`` (multi-label: a list, or
    ``|``-separated in CSV); ``text``, ``path``, ``fold`` and ``group`` (the cluster a sample belongs
    to: patient, video, source image; intervals then resample whole groups) are optional; other
    columns are kept as
    metadata. A ``path`` is relative to the table's folder and must lie inside it, links
    followed (:func:`~assay.formats.media.confine`), unless ``allow_outside``.
    """
    path = check_input(path, folder_ok=True)
    if path.is_dir():
        return read_image_folder(path, allow_outside=allow_outside)
    table = read_table(
        path, string_columns=("id", "label", "labels", "text", "path", "fold", "group")
    )
    names = table.column_names
    if "id" not in names:
        raise InputError("missing column 'id'", file=str(path))
    if "label" not in names and "labels" not in names:
        raise InputError("missing column 'label' (or 'labels' for multi-label)", file=str(path))
    if "label" in names and "labels" in names:
        raise InputError("has both 'label' and 'labels' columns; keep one", file=str(path))
    ids_list = str_list(table, "id", path)
    null_row(ids_list, path, "id")
    ids = np.array(ids_list, dtype=object)
    check_unique_ids(ids, path)
    gt = GroundTruth(source=path.resolve(), ids=ids)
    if "label" in names:
        labels = str_list(table, "label", path)
        null_row(labels, path, "label")
        gt.labels = labels
        note = comma_warning(labels, path, "label")
        if note is not None:
            gt.warnings.append(note)
    else:
        gt.label_sets = _label_sets(table, path)
    if "text" in names:
        gt.text = list(str_list(table, "text", path))
    if "path" in names:
        gt.media_root = real_root(path.resolve().parent)
        gt.paths = [
            None
            if p in (None, "")
            else str(
                confine(
                    p,
                    gt.media_root,
                    allow_outside=allow_outside,
                    file=str(path),
                    where=f"row {i + 1}, column 'path'",
                )
            )
            for i, p in enumerate(str_list(table, "path", path))
        ]
        if allow_outside:
            gt.media_root = _common_root(gt.media_root, gt.paths)
    if "fold" in names:
        folds = str_list(table, "fold", path)
        null_row(folds, path, "fold")
        gt.folds = folds
    if "group" in names:
        groups = str_list(table, "group", path)
        null_row(groups, path, "group")
        gt.groups = groups
    extra = [c for c in names if c not in RESERVED]
    if extra:
        gt.metadata = table.select(extra)
    return gt


def comma_warning(labels: list[str], path: Path, column: str) -> str | None:
    """One line when labels of a single-label column look like several labels joined by commas
    (at least 5 % of the rows, or a part that is itself a label elsewhere), else None.

    >>> comma_warning(["cat", "cat,dog", "dog"], Path("gt.csv"), "label")
    "gt.csv: row 2, column 'label': 1 of 3 labels hold commas ('cat,dog'); for several labels a sample use a 'labels' column with '|' between them (multi-label)"
    """
    rows = [i for i, v in enumerate(labels) if v and "," in v]
    if not rows:
        return None
    known = set(labels)
    parts = {p.strip() for i in rows for p in labels[i].split(",")}
    if len(rows) < 0.05 * len(labels) and not parts & known:
        return None
    return (
        f"{path}: row {rows[0] + 1}, column '{column}': {len(rows)} of {len(labels)} labels "
        f"hold commas ('{short(labels[rows[0]])}'); for several labels a sample use a 'labels' "
        "column with '|' between them (multi-label)"
    )


def _label_sets(table: pa.Table, path: Path) -> list[list[str]]:
    col = table.column("labels")
    t = col.type
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        if pa.types.is_nested(t.value_type):
            raise InputError(
                f"column 'labels' holds lists of {type_name(t.value_type)}, expected text",
                file=str(path),
                where=f"row {first_valid(col) + 1}",
            )
        out = []
        for i, v in enumerate(col.to_pylist()):
            if v is None:
                raise InputError("empty 'labels'", file=str(path), where=f"row {i + 1}")
            out.append([str(x) for x in v])
        return out
    values = str_list(table, "labels", path)
    return [[p.strip() for p in (v or "").split("|") if p.strip()] for v in values]


def _common_root(root: Path, paths: list[str | None]) -> Path:
    """The folder holding ``root`` and every path (the media root when outside paths are
    allowed: as narrow as they let it be)."""
    return Path(os.path.commonpath([str(root), *(os.path.dirname(p) for p in paths if p)]))


def read_image_folder(path: str | Path, *, allow_outside: bool = False) -> GroundTruth:
    """An ImageFolder tree: one sub-folder per class holding that class's images.

    Sample ids are the paths relative to the root; class order is the sorted folder names. An
    image that is a link to a file outside the tree is refused unless ``allow_outside``.
    """
    root = real_root(path)
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise InputError(
            "is a folder without class sub-folders (expected an ImageFolder tree)", file=str(root)
        )
    ids: list[str] = []
    labels: list[str] = []
    paths: list[str | None] = []
    for cls in classes:
        for f in sorted((root / cls).rglob("*")):
            if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES:
                rel = f.relative_to(root).as_posix()
                shown = os.fsencode(str(f)).decode("utf-8", "backslashreplace")
                real = confine(rel, root, allow_outside=allow_outside, file=shown, where=None)
                ids.append(rel)
                labels.append(cls)
                paths.append(str(real))
    if not ids:
        raise InputError("holds no images", file=str(root))
    for p in paths:
        try:
            str(p).encode("utf-8")
        except UnicodeEncodeError:
            shown = os.fsencode(str(p)).decode("utf-8", "backslashreplace")
            raise InputError("file name is not valid UTF-8 (rename the file)", file=shown) from None
    return GroundTruth(
        source=root,
        ids=np.array(ids, dtype=object),
        labels=labels,
        paths=paths,
        declared_classes=classes,
        media_root=_common_root(root, paths) if allow_outside else root,
    )


# --------------------------------------------------------------------------------------------
# Predictions


HARD_LABEL_COLUMNS = ("label", "prediction", "predicted")
"""A predictions table of ``id`` and one of these columns holds hard labels (no scores)."""

HARD_LABELS_NOTE = (
    "hard labels: no scores, so ROC AUC, AP, log loss, calibration and curves are not computed"
)


def read_predictions(path: str | Path) -> Predictions:
    """Read scores: a wide table (``id`` + one column per class) or a long one (``id,label,score``).

    A table of ``id`` and one of :data:`HARD_LABEL_COLUMNS` (or ``labels``, multi-label: a list or
    ``|``-separated) holds hard labels: the predicted class of each row, without scores
    (:attr:`Predictions.hard`); :func:`align` reads them as one-hot scores.
    """
    path = Path(path)
    check_file(path)
    table = read_table(path, string_columns=("id", "labels", "group", *HARD_LABEL_COLUMNS))
    names = table.column_names
    if "id" not in names:
        raise InputError("missing column 'id'", file=str(path))
    ids_list = str_list(table, "id", path)
    null_row(ids_list, path, "id")
    groups = None
    if "group" in names:  # the cluster of each row, as in a ground-truth table
        groups = str_list(table, "group", path)
        null_row(groups, path, "group")
        names = [c for c in names if c != "group"]
        table = table.select(names)
    if set(names) == {"id", "label", "score"}:
        if groups is not None:
            raise InputError(
                "has a 'group' column in a long table (id,label,score); put it in the ground truth",
                file=str(path),
            )
        return _long_predictions(table, ids_list, path)
    rest = [c for c in names if c != "id"]
    if len(rest) == 1 and rest[0] in (*HARD_LABEL_COLUMNS, "labels"):
        hard = _hard_predictions(table, ids_list, path, rest[0])
        hard.groups = groups
        return hard
    classes = [c for c in names if c != "id"]
    if not classes:
        raise InputError("has no score columns besides 'id'", file=str(path))
    ids = np.array(ids_list, dtype=object)
    check_unique_ids(ids, path)
    scores = np.empty((table.num_rows, len(classes)), dtype=np.float64)
    warnings: list[str] = []
    for j, c in enumerate(classes):
        scores[:, j] = _float_column(table.column(c), path, c, warnings)
    return Predictions(
        source=path.resolve(),
        ids=ids,
        classes=classes,
        scores=scores,
        warnings=warnings,
        groups=groups,
    )


def _float_column(
    col: pa.ChunkedArray, path: Path, name: str, warnings: list[str] | None = None
) -> np.ndarray:
    """A score column as float64; missing, non-numeric, NaN and infinite scores name their row.

    Booleans are read as 1 / 0 with a line added to ``warnings``.
    """
    t = col.type
    if pa.types.is_dictionary(t):
        col, t = col.cast(t.value_type), t.value_type
    where = f"column '{short(name)}'"
    if pa.types.is_null(t) or col.null_count:
        row = int(np.argmax(col.is_null().to_numpy(zero_copy_only=False)))
        raise InputError("missing score", file=str(path), where=f"row {row + 1}, {where}")
    if pa.types.is_boolean(t):
        if warnings is not None:
            warnings.append(
                f"{path}: {where} holds booleans, read as scores 1 and 0 (expected probabilities)"
            )
        values = col.to_numpy(zero_copy_only=False).astype(np.float64)
    elif pa.types.is_floating(t) or pa.types.is_integer(t) or pa.types.is_decimal(t):
        values = np.asarray(col.to_numpy(zero_copy_only=False), dtype=np.float64)
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        raw = col.to_pylist()
        values = np.empty(len(raw), dtype=np.float64)
        for i, v in enumerate(raw):
            if v == "":
                raise InputError("missing score", file=str(path), where=f"row {i + 1}, {where}")
            try:
                values[i] = float(v)
            except (TypeError, ValueError):
                raise InputError(
                    "score is not a number", file=str(path), where=f"row {i + 1}, {where}"
                ) from None
    else:
        raise InputError(
            f"holds {type_name(t)}, expected numbers",
            file=str(path),
            where=f"row {first_valid(col) + 1}, {where}",
        )
    bad = np.nonzero(~np.isfinite(values))[0]
    if bad.size:
        raise InputError(
            f"score is {values[bad[0]]}", file=str(path), where=f"row {bad[0] + 1}, {where}"
        )
    return values


def _hard_predictions(table: pa.Table, ids_list: list[str], path: Path, column: str) -> Predictions:
    """Hard labels: one predicted class (or, ``labels``, a set of classes) per row."""
    ids = np.array(ids_list, dtype=object)
    check_unique_ids(ids, path)
    pred = Predictions(source=path.resolve(), ids=ids, classes=[], scores=np.zeros((len(ids), 0)))
    if column == "labels":
        pred.label_sets = _label_sets(table, path)
        pred.classes = sorted({x for s in pred.label_sets for x in s})
    else:
        labels = str_list(table, column, path)
        null_row(labels, path, column)
        pred.labels = labels
        pred.classes = sorted(set(labels))
        note = comma_warning(labels, path, column)
        if note is not None:
            pred.warnings.append(note)
    return pred


def _long_predictions(table: pa.Table, ids_list: list[str], path: Path) -> Predictions:
    labels = str_list(table, "label", path)
    null_row(labels, path, "label")
    warnings: list[str] = []
    score = _float_column(table.column("score"), path, "score", warnings)
    ids_arr = np.array(ids_list, dtype=object)
    uniq_ids, id_idx = np.unique(ids_arr, return_inverse=True)
    # Keep the ids in order of first appearance.
    first = np.full(len(uniq_ids), len(ids_arr))
    np.minimum.at(first, id_idx, np.arange(len(ids_arr)))
    rank = np.argsort(np.argsort(first))
    id_idx = rank[id_idx]
    uniq_ids = uniq_ids[np.argsort(first)]
    classes = sorted(set(labels))
    cls_index = {c: i for i, c in enumerate(classes)}
    lab_idx = np.fromiter((cls_index[x] for x in labels), dtype=np.int64, count=len(labels))
    flat = id_idx * len(classes) + lab_idx
    order = np.argsort(flat, kind="stable")
    dup = np.nonzero(flat[order][1:] == flat[order][:-1])[0]
    if dup.size:
        row = int(order[dup[0] + 1])
        raise InputError(
            f"id '{short(ids_list[row])}' has label '{short(labels[row])}' twice",
            file=str(path),
            where=f"row {row + 1}",
        )
    scores = np.full((len(uniq_ids), len(classes)), np.nan)
    scores.reshape(-1)[flat] = score
    missing = np.argwhere(np.isnan(scores))
    if missing.size:
        i, j = missing[0]
        raise InputError(
            f"id '{short(uniq_ids[i])}' has no score for label '{short(classes[j])}'"
            " (a long table needs every id x label)",
            file=str(path),
        )
    return Predictions(
        source=path.resolve(),
        ids=uniq_ids,
        classes=classes,
        scores=scores,
        wide=False,
        warnings=warnings,
    )
