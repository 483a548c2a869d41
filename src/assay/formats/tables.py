"""Classification ground truth and prediction tables: CSV, JSONL, Parquet and ImageFolder trees.

Everything a user hands us goes through here once; what comes out is checked and aligned, so the
evaluation layer trusts it. Every problem is an :class:`~assay.errors.InputError` naming the file and
the row (1-based, counting data rows after the header) or column, never quoting a cell's text (ids
and labels are quoted, cut to 40 characters). Refused: missing, NaN and infinite scores; lists and
structs in ``id`` / ``label`` / ``text`` / ``path`` / ``fold``; numeric ids that are not exact
(a float, or a JSON integer beyond 64 bits that the parser turned into one); CSV rows longer than
:data:`CSV_BLOCK_BYTES`.

Questionable but usable input is not an error: it gives warnings, one line each, that the caller
prints. :attr:`Predictions.warnings` holds the reader's (boolean score columns, read as 1 / 0);
:attr:`ClassificationInput.warnings` adds what :func:`align` finds (single-label score rows that do
not sum to 1 within :data:`SUM_TOLERANCE`, counted once over all rows).

>>> gt = read_ground_truth("gt.csv")                     # doctest: +SKIP
>>> pred = read_predictions("pred.csv")                  # doctest: +SKIP
>>> data = align(gt, pred)                               # doctest: +SKIP
>>> data.y_score.shape                                   # doctest: +SKIP
(1000, 10)
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from assay.errors import InputError

Task = Literal["classification", "multilabel"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
RESERVED = {"id", "label", "labels", "text", "path", "fold"}
TEXT_COLUMNS = {"id", "label", "text", "path", "fold"}  # one text value a row


def _short(value: object, limit: int = 40) -> str:
    """A value quoted in a message: one line, at most ``limit`` characters.

    >>> _short("x" * 50)
    'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'
    """
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit] + "..."


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
    warnings: list[str] = field(default_factory=list)  # "FILE: PLACE: what", to print


@dataclass
class ClassificationInput:
    """Ground truth and predictions aligned row for row, ready for the metrics."""

    gt: GroundTruth
    classes: list[str]
    y_true: np.ndarray  # int (N,) or bool (N, C)
    y_score: np.ndarray  # float64 (N, C), probabilities
    task: Task
    folds: np.ndarray | None = None
    warnings: list[str] = field(default_factory=list)  # the reader's, then align's; one line each


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
            table = pq.read_table(path, use_threads=False)  # no pool left running on an error
        except (pa.ArrowException, OSError) as exc:
            reason = (str(exc).splitlines() or ["unknown error"])[0][:200]
            raise InputError(f"is not a readable Parquet file ({reason})", file=str(path)) from None
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


CSV_BLOCK_BYTES = 8 << 20
"""The longest CSV row (quoted text included) read; a longer one is an error naming the row."""


def _read_csv(path: Path, string_columns: tuple[str, ...], delimiter: str) -> pa.Table:
    """Parse with pyarrow, single-threaded, from an in-memory buffer.

    Threads are off on purpose: when pyarrow's threaded CSV reader fails mid-file (a field longer
    than a block, a bad row), its pool still holds running tasks as the error reaches Python, and
    the process then aborts at exit ("terminate called without an active exception", exit 134)
    or, reading a Python file object, deadlocks on the GIL. A parse error is located again with
    the standard csv module so the message names the row, never echoing its text.
    """

    data = _text_bytes(path)
    end = data.find(b"\n")
    header = data[: end if end >= 0 else len(data)].decode("utf-8")
    names = [h.strip().strip('"') for h in header.rstrip("\r").split(delimiter)]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"column '{_short(dupes[0])}' appears twice in the header", file=str(path))
    types = {c: pa.string() for c in string_columns if c in names}
    for _ in range(len(names) + 1):
        try:
            return _arrow_csv(data, delimiter, types)
        except pa.ArrowInvalid as exc:
            msg = str(exc)
            column = re.match(r"In CSV column #(\d+): CSV conversion error", msg)
            if column is None or not 0 <= int(column.group(1)) < len(names):
                _locate_csv_error(data, path, delimiter, len(names), too_long_row="straddl" in msg)
                raise InputError(
                    f"cannot parse CSV ({_arrow_reason(msg)})", file=str(path)
                ) from None
            # A type guessed from the first rows fails later on: read that column as text, and
            # let the column's reader name the row that is not a number.
            types[names[int(column.group(1))]] = pa.string()
    raise InputError("cannot parse CSV", file=str(path))


def _arrow_csv(
    data: bytes, delimiter: str, types: dict[str, pa.DataType], block_size: int = CSV_BLOCK_BYTES
) -> pa.Table:
    """pyarrow's CSV parse of ``data``: one thread, from an Arrow buffer (no Python file object)."""
    import pyarrow.csv as pcsv

    return pcsv.read_csv(
        pa.BufferReader(data),
        read_options=pcsv.ReadOptions(use_threads=False, block_size=block_size),
        parse_options=pcsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
        convert_options=pcsv.ConvertOptions(
            column_types=types,
            null_values=[""],
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _arrow_reason(msg: str) -> str:
    """Pyarrow's message without the row text it quotes after the last colon."""
    first = msg.splitlines()[0] if msg else "unknown error"
    m = re.match(r"(CSV parse error: Expected \d+ columns?, got \d+)", first)
    if m:
        return m.group(1)
    if "straddl" in first:
        return f"a row is longer than {CSV_BLOCK_BYTES >> 20} MiB"
    return re.sub(r"'[^']*'", "'...'", first.split(": ", 2)[-1] if ": " in first else first)[:200]


def _locate_csv_error(
    data: bytes, path: Path, delimiter: str, n_columns: int, *, too_long_row: bool
) -> None:
    """Find the first row pyarrow could not parse and raise: with ``too_long_row`` (pyarrow found
    a row spanning blocks) the first row longer than a block, else one with a wrong column count
    or unbalanced quotes."""
    import csv

    # The module-wide limit is raised, never lowered (another thread may be reading), and the
    # row length is checked here, so the answer does not depend on it.
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="")
    reader = csv.reader(text, delimiter=delimiter)
    row = 0
    too_long = f"longer than {CSV_BLOCK_BYTES >> 20} MiB, the longest row that can be read"
    try:
        header = next(reader, [])
        if sum(map(len, header)) >= CSV_BLOCK_BYTES - len(header):
            raise InputError(too_long, file=str(path), where="header")
        for fields in reader:
            if not fields:
                continue  # a blank line, skipped by pyarrow too
            row += 1
            if too_long_row and sum(map(len, fields)) >= CSV_BLOCK_BYTES - len(fields):
                raise InputError(too_long, file=str(path), where=f"row {row}")
            if len(fields) != n_columns:
                raise InputError(
                    f"expected {n_columns} columns, got {len(fields)}",
                    file=str(path),
                    where=f"row {row}",
                )
    except csv.Error:
        where = f"row {row + 1}" if row else "header"
        raise InputError(
            "cannot parse CSV (unbalanced quotes?)", file=str(path), where=where
        ) from None
    finally:
        text.detach()


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
    names = list(dict.fromkeys(k for row in rows for k in row))
    columns = {c: [row.get(c) for row in rows] for c in names}
    for c in TEXT_COLUMNS & set(names):
        columns[c] = _json_text_values(columns[c], path, c)
    arrays = {}
    for c, values in columns.items():
        kinds = {_TYPE_KIND.get(t, "other") for t in set(map(type, values))} - {"null"}
        try:
            if len(kinds) > 1:  # pyarrow would read [0.5, true] as [0.5, 1.0]
                raise pa.ArrowTypeError(c)
            arrays[c] = pa.array(values)
        except (pa.ArrowException, OverflowError):
            raise InputError(
                f"column '{_short(c)}' {_json_mixed(values)}",
                file=str(path),
                where=f"row {_json_first_odd(values) + 1}",
            ) from None
    return pa.table(arrays)


_TYPE_KIND = {
    bool: "boolean",
    int: "number",
    float: "number",
    str: "text",
    list: "list",
    dict: "object",
    type(None): "null",
}


def _json_kind(v: object) -> str:
    if isinstance(v, bool):
        return "a boolean"
    if isinstance(v, int | float):
        return "a number"
    if isinstance(v, str):
        return "text"
    if isinstance(v, list):
        return "a list"
    if isinstance(v, dict):
        return "an object"
    return "null"


def _json_first_odd(values: list) -> int:
    """Index of the first value whose kind differs from the first non-null value's."""
    kinds = [_json_kind(v) for v in values]
    first = next((k for k in kinds if k != "null"), "null")
    for i, k in enumerate(kinds):
        if k not in (first, "null"):
            return i
    for i, v in enumerate(values):  # same kinds, yet unconvertible: an integer beyond 64 bits
        if isinstance(v, int) and not isinstance(v, bool) and not -(2**63) <= v < 2**64:
            return i
    return 0


def _json_mixed(values: list) -> str:
    i = _json_first_odd(values)
    first = next((_json_kind(v) for v in values if v is not None), "null")
    odd = _json_kind(values[i])
    if odd == first:
        return "holds a number that does not fit 64 bits"
    return f"mixes {first} and {odd}"


def _json_text_values(values: list, path: Path, column: str) -> list:
    """Ids, labels, text, paths and folds from JSON: text, or integers written as text.

    A number that is not an exact integer (a float, or an integer beyond 64 bits that the JSON
    parser turned into a float) cannot name a sample: it is an error, not a rounded id.
    """
    kinds = set(map(type, values))
    if kinds <= {str, type(None)}:
        return values
    out: list = []
    for i, v in enumerate(values):
        if v is None or isinstance(v, str):
            out.append(v)
        elif isinstance(v, bool):
            out.append("true" if v else "false")
        elif isinstance(v, int):
            out.append(str(v))
        elif isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
            out.append(str(int(v)))
        else:
            what = (
                "a number that is not an exact integer (beyond 64 bits?); write it as text"
                if isinstance(v, float)
                else f"{_json_kind(v)}, expected text"
            )
            raise InputError(
                f"column '{column}' holds {what}", file=str(path), where=f"row {i + 1}"
            )
    return out


def _first_valid(col: pa.ChunkedArray) -> int:
    valid = col.is_valid().to_numpy(zero_copy_only=False)
    return int(np.argmax(valid)) if valid.any() else 0


def _type_name(t: pa.DataType) -> str:
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return "lists"
    if pa.types.is_struct(t):
        return "objects (structs)"
    if pa.types.is_map(t):
        return "maps"
    return f"{t} values"


def _str_list(table: pa.Table, name: str, path: Path | None = None) -> list[str]:
    """A column as text: integers, exact decimals and integral floats below 2**53 are written out.

    Nested values (lists, structs), floats that are not exact integers (an id beyond 64 bits
    stored as a float) and binary data are an :class:`InputError` naming the column and row.
    """
    col = table.column(name)
    t = col.type
    if pa.types.is_dictionary(t):
        col, t = col.cast(t.value_type), t.value_type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return col.to_pylist()
    where = None
    if pa.types.is_floating(t):
        values = col.fill_null(0).to_numpy(zero_copy_only=False)
        with np.errstate(invalid="ignore"):
            inexact = (
                ~np.isfinite(values) | (values != np.round(values)) | (np.abs(values) >= 2**53)
            )
        if inexact.any():
            where = f"row {int(np.argmax(inexact)) + 1}"
            what = "numbers that are not exact integers (beyond 64 bits?); write them as text"
        else:
            out = pc.cast(col, pa.int64(), safe=False).cast(pa.string()).to_pylist()
            return out
    elif pa.types.is_decimal(t) and t.scale > 0:
        what = "decimal numbers; write them as text"
    elif (
        pa.types.is_integer(t)
        or pa.types.is_decimal(t)
        or pa.types.is_boolean(t)
        or pa.types.is_null(t)
        or pa.types.is_string_view(t)
    ):
        return col.cast(pa.string()).to_pylist()
    else:
        what = f"{_type_name(t)}, expected text"
    if where is None:
        where = f"row {_first_valid(col) + 1}"
    raise InputError(
        f"column '{_short(name)}' holds {what}",
        file=None if path is None else str(path),
        where=where,
    )


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
            f"id '{_short(ids[second])}' appears twice", file=str(path), where=f"row {second + 1}"
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
    ids_list = _str_list(table, "id", path)
    _null_row(ids_list, path, "id")
    ids = np.array(ids_list, dtype=object)
    _check_unique_ids(ids, path)
    gt = GroundTruth(source=path.resolve(), ids=ids)
    if "label" in names:
        labels = _str_list(table, "label", path)
        _null_row(labels, path, "label")
        gt.labels = labels
    else:
        gt.label_sets = _label_sets(table, path)
    if "text" in names:
        gt.text = list(_str_list(table, "text", path))
    if "path" in names:
        base = path.resolve().parent
        gt.paths = [
            None if p in (None, "") else str((base / p).resolve())
            for p in _str_list(table, "path", path)
        ]
    if "fold" in names:
        folds = _str_list(table, "fold", path)
        _null_row(folds, path, "fold")
        gt.folds = folds
    extra = [c for c in names if c not in RESERVED]
    if extra:
        gt.metadata = table.select(extra)
    return gt


def _label_sets(table: pa.Table, path: Path) -> list[list[str]]:
    col = table.column("labels")
    t = col.type
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        if pa.types.is_nested(t.value_type):
            raise InputError(
                f"column 'labels' holds lists of {_type_name(t.value_type)}, expected text",
                file=str(path),
                where=f"row {_first_valid(col) + 1}",
            )
        out = []
        for i, v in enumerate(col.to_pylist()):
            if v is None:
                raise InputError("empty 'labels'", file=str(path), where=f"row {i + 1}")
            out.append([str(x) for x in v])
        return out
    values = _str_list(table, "labels", path)
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
    ids_list = _str_list(table, "id", path)
    _null_row(ids_list, path, "id")
    if set(names) == {"id", "label", "score"}:
        return _long_predictions(table, ids_list, path)
    classes = [c for c in names if c != "id"]
    if not classes:
        raise InputError("has no score columns besides 'id'", file=str(path))
    ids = np.array(ids_list, dtype=object)
    _check_unique_ids(ids, path)
    scores = np.empty((table.num_rows, len(classes)), dtype=np.float64)
    warnings: list[str] = []
    for j, c in enumerate(classes):
        scores[:, j] = _float_column(table.column(c), path, c, warnings)
    return Predictions(
        source=path.resolve(), ids=ids, classes=classes, scores=scores, warnings=warnings
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
    where = f"column '{_short(name)}'"
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
            f"holds {_type_name(t)}, expected numbers",
            file=str(path),
            where=f"row {_first_valid(col) + 1}, {where}",
        )
    bad = np.nonzero(~np.isfinite(values))[0]
    if bad.size:
        raise InputError(
            f"score is {values[bad[0]]}", file=str(path), where=f"row {bad[0] + 1}, {where}"
        )
    return values


def _long_predictions(table: pa.Table, ids_list: list[str], path: Path) -> Predictions:
    labels = _str_list(table, "label", path)
    _null_row(labels, path, "label")
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
            f"id '{_short(ids_list[row])}' has label '{_short(labels[row])}' twice",
            file=str(path),
            where=f"row {row + 1}",
        )
    scores = np.full((len(uniq_ids), len(classes)), np.nan)
    scores.reshape(-1)[flat] = score
    missing = np.argwhere(np.isnan(scores))
    if missing.size:
        i, j = missing[0]
        raise InputError(
            f"id '{_short(uniq_ids[i])}' has no score for label '{_short(classes[j])}'"
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
            f"no prediction for id '{_short(gt.ids[row])}' (ground truth row {row + 1})",
            file=str(pred.source),
        )
    take = pred_order[pos_clipped]
    if len(pred.ids) != len(gt.ids):
        used = np.zeros(len(pred.ids), dtype=bool)
        used[take] = True
        row = int(np.nonzero(~used)[0][0])
        raise InputError(
            f"prediction for id '{_short(pred.ids[row])}' that is not in the ground truth {gt.source.name}",
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
                where=f"row {int(take[i]) + 1}, column '{_short(classes[j])}'",
            )

    index = {c: i for i, c in enumerate(classes)}
    if task == "classification":
        labels = gt.labels if gt.labels is not None else []
        y_true = np.empty(len(labels), dtype=np.int64)
        for i, lab in enumerate(labels):
            k = index.get(lab)
            if k is None:
                raise InputError(
                    f"label '{_short(lab)}' is not among the score columns of {pred.source.name}",
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
                        f"label '{_short(lab)}' is not among the score columns of {pred.source.name}",
                        file=str(gt.source),
                        where=f"row {i + 1}",
                    )
                y_true[i, k] = True
    folds = np.array(gt.folds, dtype=object) if gt.folds is not None else None
    warnings = list(pred.warnings)
    if task == "classification" and not logits:
        note = _sum_warning(scores, take, pred)
        if note is not None:
            warnings.append(note)
    return ClassificationInput(
        gt=gt,
        classes=classes,
        y_true=y_true,
        y_score=scores,
        task=task,
        folds=folds,
        warnings=warnings,
    )


SUM_TOLERANCE = 0.01


def _sum_warning(scores: np.ndarray, take: np.ndarray, pred: Predictions) -> str | None:
    """One line when single-label score rows do not sum to 1 (within ``SUM_TOLERANCE``), else None.

    >>> p = Predictions(Path("p.csv"), np.array(["a", "b"], object), ["x", "y"], np.zeros((2, 2)))
    >>> _sum_warning(np.array([[0.5, 0.5], [0.2, 0.3]]), np.array([0, 1]), p)
    'p.csv: row 2: scores do not sum to 1 in 1 of 2 rows (first sum 0.5); single-label metrics read them as probabilities (raw scores: pass --logits)'
    """
    sums = scores.sum(axis=1)
    off = np.abs(sums - 1.0) > SUM_TOLERANCE
    n_off = int(np.count_nonzero(off))
    if n_off == 0:
        return None
    i = int(np.argmax(off))
    place = f"row {int(take[i]) + 1}" if pred.wide else f"id '{_short(pred.ids[take[i]])}'"
    return (
        f"{pred.source}: {place}: scores do not sum to 1 in {n_off} of {len(sums)} rows "
        f"(first sum {sums[i]:.4g}); single-label metrics read them as probabilities"
        " (raw scores: pass --logits)"
    )


def _softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=1, keepdims=True)
    np.exp(z, out=z)
    z /= z.sum(axis=1, keepdims=True)
    return z
