"""Classification ground truth and prediction tables: CSV, JSONL, Parquet and ImageFolder trees.

Everything a user hands us goes through here once; what comes out is checked and aligned, so the
evaluation layer trusts it. Every problem is an :class:`~assay.errors.InputError` naming the file and
the row (1-based, counting data rows after the header) or column.

>>> gt = read_ground_truth("gt.csv")                     # doctest: +SKIP
>>> pred = read_predictions("pred.csv")                  # doctest: +SKIP
>>> data = align(gt, pred)                               # doctest: +SKIP
>>> data.y_score.shape                                   # doctest: +SKIP
(1000, 10)
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa

from assay.errors import InputError

Task = Literal["classification", "multilabel"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
RESERVED = {"id", "label", "labels", "text", "path", "fold"}


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
    metadata: pa.Table | None = None
    declared_classes: list[str] | None = None  # ImageFolder: the folder order

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


@dataclass
class ClassificationInput:
    """Ground truth and predictions aligned row for row, ready for the metrics."""

    gt: GroundTruth
    classes: list[str]
    y_true: np.ndarray  # int (N,) or bool (N, C)
    y_score: np.ndarray  # float64 (N, C), probabilities
    task: Task
    folds: np.ndarray | None = None
    warnings: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Reading raw tables


def _check_file(path: Path) -> None:
    if not path.exists():
        raise InputError("no such file", file=str(path))
    if path.is_dir():
        raise InputError("is a folder, expected a file", file=str(path))


def _text_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\x00" in data[:8192]:
        raise InputError("is a binary file, expected UTF-8 text (CSV or JSONL)", file=str(path))
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError("is not valid UTF-8", file=str(path), where=f"line {line}") from None
    if not data.strip():
        raise InputError("is empty", file=str(path))
    return data


def read_table(path: str | Path, *, string_columns: tuple[str, ...] = ()) -> pa.Table:
    """Read a CSV, JSONL or Parquet file into an Arrow table (format from the suffix).

    ``string_columns`` are read as text whatever they look like (ids such as ``007``).
    """
    path = Path(path)
    _check_file(path)
    suffix = path.suffix.lower()
    if suffix in {".parquet", ".pq"}:
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except (pa.ArrowInvalid, OSError) as exc:
            raise InputError(f"is not a readable Parquet file ({exc})", file=str(path)) from None
    elif suffix in {".jsonl", ".ndjson", ".json"}:
        table = _read_jsonl(path)
    elif suffix in {".csv", ".tsv", ".txt"}:
        table = _read_csv(path, string_columns, delimiter="\t" if suffix == ".tsv" else ",")
    else:
        raise InputError(
            f"unknown table format '{suffix}' (use .csv, .jsonl or .parquet)", file=str(path)
        )
    if table.num_rows == 0:
        raise InputError("has no rows", file=str(path))
    return table


def _read_csv(path: Path, string_columns: tuple[str, ...], delimiter: str) -> pa.Table:
    import pyarrow.csv as pcsv

    data = _text_bytes(path)
    header = next(iter(io.StringIO(data.decode("utf-8"))), "")
    names = [h.strip().strip('"') for h in header.rstrip("\r\n").split(delimiter)]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"column '{dupes[0]}' appears twice in the header", file=str(path))
    types = {c: pa.string() for c in string_columns if c in names}
    try:
        return pcsv.read_csv(
            io.BytesIO(data),
            parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pcsv.ConvertOptions(
                column_types=types,
                null_values=[""],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        msg = str(exc).splitlines()[0]
        raise InputError(f"cannot parse CSV: {msg}", file=str(path)) from None


def _read_jsonl(path: Path) -> pa.Table:
    import orjson

    data = _text_bytes(path)
    stripped = data.lstrip()
    rows: list[dict]
    if stripped.startswith(b"["):
        try:
            rows = orjson.loads(stripped)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"is not valid JSON ({exc})", file=str(path)) from None
    else:
        rows = []
        for lineno, line in enumerate(data.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                raise InputError(
                    "is not valid JSON", file=str(path), where=f"line {lineno}"
                ) from None
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            raise InputError("expected a JSON object", file=str(path), where=f"row {i + 1}")
    if not rows:
        raise InputError("has no rows", file=str(path))
    try:
        return pa.Table.from_pylist(rows)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise InputError(f"rows have inconsistent types ({exc})", file=str(path)) from None


def _str_list(table: pa.Table, name: str) -> list[str]:
    col = table.column(name)
    if not pa.types.is_string(col.type) and not pa.types.is_large_string(col.type):
        col = col.cast(pa.string())
    return col.to_pylist()


def _null_row(values: list, path: Path, column: str) -> None:
    for i, v in enumerate(values):
        if v is None or v == "":
            raise InputError(f"empty '{column}'", file=str(path), where=f"row {i + 1}")


def _check_unique_ids(ids: np.ndarray, path: Path) -> None:
    order = np.argsort(ids, kind="stable")
    s = ids[order]
    dup = np.nonzero(s[1:] == s[:-1])[0]
    if dup.size:
        second = int(max(order[dup[0]], order[dup[0] + 1]))
        raise InputError(
            f"id '{ids[second]}' appears twice", file=str(path), where=f"row {second + 1}"
        )


# --------------------------------------------------------------------------------------------
# Ground truth


def read_ground_truth(path: str | Path) -> GroundTruth:
    """Read a labeled test set: a CSV / JSONL / Parquet table or an ImageFolder tree.

    A table needs ``id`` and ``label`` (single-label) or ``labels`` (multi-label: a list, or
    ``|``-separated in CSV); ``text``, ``path`` and ``fold`` are optional; other columns are kept as
    metadata.
    """
    path = Path(path)
    if path.is_dir():
        return read_image_folder(path)
    table = read_table(path, string_columns=("id", "label", "labels", "text", "path", "fold"))
    names = table.column_names
    if "id" not in names:
        raise InputError("missing column 'id'", file=str(path))
    if "label" not in names and "labels" not in names:
        raise InputError("missing column 'label' (or 'labels' for multi-label)", file=str(path))
    if "label" in names and "labels" in names:
        raise InputError("has both 'label' and 'labels' columns; keep one", file=str(path))
    ids_list = _str_list(table, "id")
    _null_row(ids_list, path, "id")
    ids = np.array(ids_list, dtype=object)
    _check_unique_ids(ids, path)
    gt = GroundTruth(source=path.resolve(), ids=ids)
    if "label" in names:
        labels = _str_list(table, "label")
        _null_row(labels, path, "label")
        gt.labels = labels
    else:
        gt.label_sets = _label_sets(table.column("labels"), path)
    if "text" in names:
        gt.text = list(_str_list(table, "text"))
    if "path" in names:
        base = path.resolve().parent
        gt.paths = [
            None if p in (None, "") else str((base / p).resolve()) for p in _str_list(table, "path")
        ]
    if "fold" in names:
        folds = _str_list(table, "fold")
        _null_row(folds, path, "fold")
        gt.folds = folds
    extra = [c for c in names if c not in RESERVED]
    if extra:
        gt.metadata = table.select(extra)
    return gt


def _label_sets(col: pa.ChunkedArray, path: Path) -> list[list[str]]:
    if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
        out = []
        for i, v in enumerate(col.to_pylist()):
            if v is None:
                raise InputError("empty 'labels'", file=str(path), where=f"row {i + 1}")
            out.append([str(x) for x in v])
        return out
    values = col.cast(pa.string()).to_pylist()
    return [[p.strip() for p in (v or "").split("|") if p.strip()] for v in values]


def read_image_folder(path: str | Path) -> GroundTruth:
    """An ImageFolder tree: one sub-folder per class holding that class's images.

    Sample ids are the paths relative to the root; class order is the sorted folder names.
    """
    root = Path(path).resolve()
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
                ids.append(f.relative_to(root).as_posix())
                labels.append(cls)
                paths.append(str(f))
    if not ids:
        raise InputError("holds no images", file=str(root))
    return GroundTruth(
        source=root,
        ids=np.array(ids, dtype=object),
        labels=labels,
        paths=paths,
        declared_classes=classes,
    )


# --------------------------------------------------------------------------------------------
# Predictions


def read_predictions(path: str | Path) -> Predictions:
    """Read scores: a wide table (``id`` + one column per class) or a long one (``id,label,score``)."""
    path = Path(path)
    _check_file(path)
    table = read_table(path, string_columns=("id", "label"))
    names = table.column_names
    if "id" not in names:
        raise InputError("missing column 'id'", file=str(path))
    ids_list = _str_list(table, "id")
    _null_row(ids_list, path, "id")
    if set(names) == {"id", "label", "score"}:
        return _long_predictions(table, ids_list, path)
    classes = [c for c in names if c != "id"]
    if not classes:
        raise InputError("has no score columns besides 'id'", file=str(path))
    ids = np.array(ids_list, dtype=object)
    _check_unique_ids(ids, path)
    scores = np.empty((table.num_rows, len(classes)), dtype=np.float64)
    for j, c in enumerate(classes):
        scores[:, j] = _float_column(table.column(c), path, c)
    return Predictions(source=path.resolve(), ids=ids, classes=classes, scores=scores)


def _float_column(col: pa.ChunkedArray, path: Path, name: str) -> np.ndarray:
    if pa.types.is_floating(col.type) or pa.types.is_integer(col.type):
        if col.null_count:
            row = int(np.nonzero(col.is_null().to_numpy(zero_copy_only=False))[0][0])
            raise InputError(
                "missing score", file=str(path), where=f"row {row + 1}, column '{name}'"
            )
        values = col.to_numpy().astype(np.float64, copy=False)
    else:
        raw = col.to_pylist()
        values = np.empty(len(raw), dtype=np.float64)
        for i, v in enumerate(raw):
            if v is None or v == "":
                raise InputError(
                    "missing score", file=str(path), where=f"row {i + 1}, column '{name}'"
                )
            try:
                values[i] = float(v)
            except (TypeError, ValueError):
                raise InputError(
                    f"score {v!r} is not a number",
                    file=str(path),
                    where=f"row {i + 1}, column '{name}'",
                ) from None
    bad = np.nonzero(~np.isfinite(values))[0]
    if bad.size:
        raise InputError(
            f"score is {values[bad[0]]}", file=str(path), where=f"row {bad[0] + 1}, column '{name}'"
        )
    return values


def _long_predictions(table: pa.Table, ids_list: list[str], path: Path) -> Predictions:
    labels = _str_list(table, "label")
    _null_row(labels, path, "label")
    score = _float_column(table.column("score"), path, "score")
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
            f"id '{ids_list[row]}' has label '{labels[row]}' twice",
            file=str(path),
            where=f"row {row + 1}",
        )
    scores = np.full((len(uniq_ids), len(classes)), np.nan)
    scores.reshape(-1)[flat] = score
    missing = np.argwhere(np.isnan(scores))
    if missing.size:
        i, j = missing[0]
        raise InputError(
            f"id '{uniq_ids[i]}' has no score for label '{classes[j]}' (a long table needs every id x label)",
            file=str(path),
        )
    return Predictions(
        source=path.resolve(), ids=uniq_ids, classes=classes, scores=scores, wide=False
    )


# --------------------------------------------------------------------------------------------
# Alignment


def _order_classes(gt: GroundTruth, pred: Predictions) -> list[str]:
    if pred.wide:
        return list(pred.classes)
    if gt.declared_classes and set(pred.classes) <= set(gt.declared_classes):
        return [c for c in gt.declared_classes if c in set(pred.classes)]
    return sorted(pred.classes)


def align(
    gt: GroundTruth, pred: Predictions, *, task: Task | None = None, logits: bool = False
) -> ClassificationInput:
    """Check ground truth against predictions and line them up row for row (ground-truth order)."""
    if task is None:
        task = "multilabel" if gt.multilabel else "classification"
    if task == "classification" and gt.multilabel:
        raise InputError(
            "has a 'labels' column (multi-label) but the task is classification",
            file=str(gt.source),
        )
    if len(pred.classes) < 2 and task == "classification":
        raise InputError("needs scores for at least two classes", file=str(pred.source))
    classes = _order_classes(gt, pred)
    col_of = {c: i for i, c in enumerate(pred.classes)}
    scores = pred.scores[:, [col_of[c] for c in classes]]

    # Row alignment: every ground-truth id once in the predictions, nothing extra.
    pred_order = np.argsort(pred.ids, kind="stable")
    sorted_ids = pred.ids[pred_order]
    pos = np.searchsorted(sorted_ids, gt.ids)
    pos_clipped = np.minimum(pos, len(sorted_ids) - 1)
    found = sorted_ids[pos_clipped] == gt.ids
    if not found.all():
        row = int(np.nonzero(~found)[0][0])
        raise InputError(
            f"no prediction for id '{gt.ids[row]}' (ground truth row {row + 1})",
            file=str(pred.source),
        )
    take = pred_order[pos_clipped]
    if len(pred.ids) != len(gt.ids):
        used = np.zeros(len(pred.ids), dtype=bool)
        used[take] = True
        row = int(np.nonzero(~used)[0][0])
        raise InputError(
            f"prediction for id '{pred.ids[row]}' that is not in the ground truth {gt.source.name}",
            file=str(pred.source),
            where=f"row {row + 1}" if pred.wide else None,
        )
    scores = scores[take]

    if logits:
        scores = _softmax(scores) if task == "classification" else 1.0 / (1.0 + np.exp(-scores))
    else:
        bad = np.argwhere((scores < 0) | (scores > 1))
        if bad.size:
            i, j = bad[0]
            raise InputError(
                f"score {scores[i, j]:g} is outside [0, 1] (pass --logits for raw scores)",
                file=str(pred.source),
                where=f"row {int(take[i]) + 1}, column '{classes[j]}'",
            )

    index = {c: i for i, c in enumerate(classes)}
    if task == "classification":
        labels = gt.labels if gt.labels is not None else []
        y_true = np.empty(len(labels), dtype=np.int64)
        for i, lab in enumerate(labels):
            k = index.get(lab)
            if k is None:
                raise InputError(
                    f"label '{lab}' is not among the score columns of {pred.source.name}",
                    file=str(gt.source),
                    where=f"row {i + 1}",
                )
            y_true[i] = k
    else:
        sets = gt.label_sets if gt.label_sets is not None else [[x] for x in (gt.labels or [])]
        y_true = np.zeros((len(sets), len(classes)), dtype=bool)
        for i, labs in enumerate(sets):
            for lab in labs:
                k = index.get(lab)
                if k is None:
                    raise InputError(
                        f"label '{lab}' is not among the score columns of {pred.source.name}",
                        file=str(gt.source),
                        where=f"row {i + 1}",
                    )
                y_true[i, k] = True
    folds = np.array(gt.folds, dtype=object) if gt.folds is not None else None
    return ClassificationInput(
        gt=gt, classes=classes, y_true=y_true, y_score=scores, task=task, folds=folds
    )


def _softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z
