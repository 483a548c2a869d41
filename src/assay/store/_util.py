"""Helpers of the workspace: JSON-safe values, the stored task, samples tables."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from assay.errors import InputError
from assay.evaluation.results import Results


def json_safe(value: Any) -> Any:
    """Plain JSON values: numpy scalars and arrays to Python, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _stored_task(results: Results, task: str | None) -> str:
    """The task an evaluation is stored under: the results object's own (``task``, when given,
    must agree; "classification" also covers multi-label results)."""
    agrees = task in (None, results.task) or (task, results.task) == (
        "classification",
        "multilabel",
    )
    if not agrees:
        raise InputError(f"task {task!r} does not match the results ({results.task!r})")
    return results.task


def _attach_media(stored: pa.Table, new: pa.Table) -> pa.Table | None:
    """``stored`` with the media paths ``new`` has where ``stored`` has none, or None when there
    is nothing to attach (or the two tables are not the same samples: other rows or ids).

    A path already attached is never dropped or replaced."""
    if "path" not in new.column_names or stored.num_rows != new.num_rows:
        return None
    ids = [t.column("id").to_pylist() if "id" in t.column_names else None for t in (stored, new)]
    if ids[0] is not None and ids[1] is not None and ids[0] != ids[1]:
        return None
    new_paths = new.column("path").to_pylist()
    if "path" in stored.column_names:
        old_paths = stored.column("path").to_pylist()
    else:
        old_paths = [None] * stored.num_rows
    merged = [old if old else fresh for old, fresh in zip(old_paths, new_paths, strict=True)]
    if merged == old_paths:
        return None
    column = pa.array(merged, pa.string())
    if "path" in stored.column_names:
        return stored.set_column(stored.schema.get_field_index("path"), "path", column)
    return stored.append_column("path", column)


def _normalise_samples(samples: pa.Table) -> pa.Table:
    """Samples with a string ``id`` (the row number if absent) and absolute ``path`` values."""
    if "id" not in samples.column_names:
        samples = samples.append_column("id", pa.array([str(i) for i in range(samples.num_rows)]))
    elif samples.schema.field("id").type != pa.string():
        ids = [None if v is None else str(v) for v in samples.column("id").to_pylist()]
        samples = samples.set_column(samples.schema.get_field_index("id"), "id", pa.array(ids))
    if "path" in samples.column_names:
        paths = [
            None if p is None else str(Path(p).expanduser().resolve())
            for p in samples.column("path").to_pylist()
        ]
        index = samples.schema.get_field_index("path")
        samples = samples.set_column(index, "path", pa.array(paths, pa.string()))
    return samples


Stamp = tuple[int, int, int] | None


def _file_stamp(path: Path) -> Stamp:
    """What tells a replaced file from the one cached: inode, mtime and size (None: no file)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)
