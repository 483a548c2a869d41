"""Raw tables: CSV, JSONL and Parquet files read into Arrow, and their columns read as text.

The checks that need the file itself live here: encoding, CSV rows longer than a block, JSON values of
mixed kinds, nested values and inexact numbers where text is expected. Each problem is an
:class:`~assay.errors.InputError` naming the file and the row or column, never quoting a cell.
:mod:`assay.formats.tables` builds ground truth and predictions on top.

>>> short("x" * 50)
'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'
"""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from assay.errors import InputError
from assay.formats.files import check_input, read_input_bytes
from assay.formats.remote import fetch, is_url

__all__ = [
    "CSV_BLOCK_BYTES",
    "TEXT_COLUMNS",
    "check_file",
    "check_unique_ids",
    "first_valid",
    "null_row",
    "read_table",
    "short",
    "str_list",
    "type_name",
]

TEXT_COLUMNS = {"id", "label", "text", "path", "fold"}  # one text value a row


def short(value: object, limit: int = 40) -> str:
    """A value quoted in a message: one line, at most ``limit`` characters.

    >>> short("x" * 50)
    'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'
    """
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit] + "..."


def check_file(path: Path) -> None:
    """A regular file within the input cap, links followed (:func:`~assay.formats.files.check_input`)."""
    check_input(path)


def _text_bytes(path: Path) -> bytes:
    data = read_input_bytes(path)
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

    ``string_columns`` are read as text whatever they look like (ids such as ``007``). A URL
    (``s3://``, ``gs://``, ``az://``) is read from its copy fetched into the cache.
    """
    path = fetch(str(path), folder_ok=False) if is_url(path) else Path(path)
    check_file(path)
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
    dupes = sorted(n for n, k in Counter(names).items() if k > 1)
    if dupes:
        raise InputError(f"column '{short(dupes[0])}' appears twice in the header", file=str(path))
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
                f"column '{short(c)}' {_json_mixed(values)}",
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


def first_valid(col: pa.ChunkedArray) -> int:
    valid = col.is_valid().to_numpy(zero_copy_only=False)
    return int(np.argmax(valid)) if valid.any() else 0


def type_name(t: pa.DataType) -> str:
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return "lists"
    if pa.types.is_struct(t):
        return "objects (structs)"
    if pa.types.is_map(t):
        return "maps"
    return f"{t} values"


def str_list(table: pa.Table, name: str, path: Path | None = None) -> list[str]:
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
        what = f"{type_name(t)}, expected text"
    if where is None:
        where = f"row {first_valid(col) + 1}"
    raise InputError(
        f"column '{short(name)}' holds {what}",
        file=None if path is None else str(path),
        where=where,
    )


def null_row(values: list, path: Path, column: str) -> None:
    for i, v in enumerate(values):
        if v is None or v == "":
            raise InputError(f"empty '{column}'", file=str(path), where=f"row {i + 1}")


def check_unique_ids(ids: np.ndarray, path: Path) -> None:
    order = np.argsort(ids, kind="stable")
    s = ids[order]
    dup = np.nonzero(s[1:] == s[:-1])[0]
    if dup.size:
        second = int(max(order[dup[0]], order[dup[0] + 1]))
        raise InputError(
            f"id '{short(ids[second])}' appears twice", file=str(path), where=f"row {second + 1}"
        )
