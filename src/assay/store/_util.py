"""Helpers of the workspace: JSON-safe values, the stored task, samples tables."""

from __future__ import annotations

import errno
import functools
import math
import os
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from assay.errors import InputError, StorageError

if TYPE_CHECKING:  # numpy and pyarrow load where a helper needs them: `assay list` needs neither
    import pyarrow as pa

    from assay.evaluation.results import Results


def json_safe(value: Any) -> Any:
    """Plain JSON values: numpy scalars and arrays to Python, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    np = sys.modules.get("numpy")  # no numpy loaded: no numpy value to convert
    if np is not None and isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if np is not None and isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def stored_task(results: Results, task: str | None) -> str:
    """The task an evaluation is stored under: the results object's own (``task``, when given,
    must agree; "classification" also covers multi-label results)."""
    agrees = task in (None, results.task) or (task, results.task) == (
        "classification",
        "multilabel",
    )
    if not agrees:
        raise InputError(f"task {task!r} does not match the results ({results.task!r})")
    return results.task


def attach_media_column(stored: pa.Table, new: pa.Table) -> pa.Table | None:
    """``stored`` with the media paths ``new`` has where ``stored`` has none, or None when there
    is nothing to attach (or the two tables are not the same samples: other rows or ids).

    A path already attached is never dropped or replaced."""
    import pyarrow as pa

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


def normalise_samples(samples: pa.Table) -> pa.Table:
    """Samples with a string ``id`` (the row number if absent) and absolute ``path`` values."""
    import pyarrow as pa

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


def file_stamp(path: Path) -> Stamp:
    """What tells a replaced file from the one cached: inode, mtime and size (None: no file)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


_DISK_ERRNOS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large for the file system",
    errno.EROFS: "read-only file system",
    errno.EIO: "disk I/O error",
}
_SQLITE_DISK_WORDS = ("database or disk is full", "disk I/O error")


def storage_error(exc: BaseException, where: Path | str) -> StorageError | None:
    """The one-line :class:`StorageError` for a full or failing disk (``ENOSPC`` and the like
    while writing a file; SQLite's "database or disk is full" / "disk I/O error"), else None."""
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, OSError):
        reason = _DISK_ERRNOS.get(exc.errno or 0)
        if reason is None and "no space left on device" in str(exc).lower():  # pyarrow's words
            reason = _DISK_ERRNOS[errno.ENOSPC]
    elif isinstance(exc, sqlite3.Error):
        text = str(exc).lower()
        reason = next((w for w in _SQLITE_DISK_WORDS if w.lower() in text), None)
        if reason is not None:
            reason = f"the catalog reports {reason!r}"
    else:
        return None
    if reason is None:
        return None
    return StorageError(f"{where}: cannot write the workspace ({reason}); nothing was stored")


F = TypeVar("F", bound=Callable[..., Any])


def storage_guard(func: F) -> F:
    """Turn a full or failing disk under a workspace method into one :class:`StorageError`
    naming the workspace (the method has already removed what it wrote)."""

    @functools.wraps(func)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return func(self, *args, **kwargs)
        except (OSError, sqlite3.Error) as exc:
            error = storage_error(exc, getattr(self, "home", ""))
            if error is None:
                raise
            raise error from None

    return wrapper  # type: ignore[return-value]


def inside(path: str | Path, root: str | Path) -> bool:
    """Whether ``path`` is ``root`` or lies under it (both taken as given: resolve them first)."""
    path, root = os.path.normpath(path), os.path.normpath(root)
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # one relative, one absolute
        return False


def common_folder(paths: list[str]) -> str | None:
    """The deepest folder holding every file of ``paths`` (normalised, not resolved)."""
    folders = [os.path.dirname(os.path.normpath(p)) for p in paths if p]
    if not folders:
        return None
    try:
        return os.path.commonpath(folders)
    except ValueError:
        return None
