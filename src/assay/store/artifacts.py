"""Evaluation artifacts on disk: content hashes, atomic folder writes, loading and clean-up.

An evaluation's arrays are written as ``.npy`` files plus ``meta.json`` into a temporary folder
``evaluations/.tmp-<uuid>`` inside the workspace (same file system, so the rename is atomic),
each file and the folder fsynced, then renamed to ``evaluations/<id>``. The writer holds an
exclusive ``flock`` on ``.lock`` inside its temporary folder while it writes, so a later clean-up
can tell a folder whose writer died (lock free) from one still being written (lock held).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy loads where arrays are read or written: `assay list` does neither
    import numpy as np

try:  # POSIX advisory locks; elsewhere stale temporary folders are recognised by age
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

ARTIFACT_FORMAT = 1
TMP_PREFIX = ".tmp-"
TRASH_PREFIX = ".trash-"
_STALE_AFTER_S = 3600.0
_CHUNK = 1 << 20


def hash_path(path: Path) -> str:
    """sha256 of a file's bytes, or of a folder's sorted relative paths and their files' bytes."""
    digest = hashlib.sha256()
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
            _update_with_file(digest, file)
            digest.update(b"\0")
    else:
        _update_with_file(digest, path)
    return digest.hexdigest()


def _update_with_file(digest: Any, path: Path) -> None:
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)


def fsync_dir(path: Path) -> None:
    """fsync a directory so a rename or a new entry in it survives a power cut (POSIX only)."""
    if os.name != "posix":  # pragma: no cover
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class TempArtifactDir:
    """A temporary folder inside ``parent`` that is locked while it is written.

    >>> # with TempArtifactDir(root) as tmp:
    >>> #     write_arrays(tmp.path, arrays, meta); tmp.path.rename(dst)
    """

    def __init__(self, parent: Path) -> None:
        self.path = parent / f"{TMP_PREFIX}{uuid.uuid4().hex}"
        self._lock_fd: int | None = None

    def __enter__(self) -> TempArtifactDir:
        self.path.mkdir(parents=True)
        self._lock_fd = os.open(self.path / ".lock", os.O_CREAT | os.O_RDWR, 0o644)
        if fcntl is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None
        if self.path.exists():  # not renamed into place: an error happened
            shutil.rmtree(self.path, ignore_errors=True)


def write_arrays(folder: Path, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write ``<name>.npy`` per array and ``meta.json``, each fsynced, then fsync the folder."""
    import numpy as np

    names = []
    for name, array in arrays.items():
        if not name.replace("_", "").replace("-", "").replace(".", "").isalnum() or "/" in name:
            raise ValueError(f"array name {name!r} is not a safe file name")
        array = _storable(name, np.asarray(array))
        path = folder / f"{name}.npy"
        with open(path, "wb") as f:
            try:
                np.save(f, array, allow_pickle=False)
            except OSError as exc:
                if exc.errno is not None:
                    raise
                _raise_write_error(f, exc)  # numpy's "N requested and M written"
            f.flush()
            os.fsync(f.fileno())
        names.append(name)
    document = {"format": ARTIFACT_FORMAT, "arrays": names, "meta": meta}
    with open(folder / "meta.json", "wb") as f:
        f.write(json.dumps(document, allow_nan=True).encode())
        f.flush()
        os.fsync(f.fileno())
    fsync_dir(folder)


def _raise_write_error(f: Any, exc: OSError) -> None:
    """numpy reports a short write (a full disk, a quota, a size limit) without its errno: one
    more byte written to the file (being discarded anyway) raises the system's own error."""
    f.flush()
    os.write(f.fileno(), b"\0")
    raise exc


def _storable(name: str, array: np.ndarray) -> np.ndarray:
    """The array as it can be saved without pickling: object arrays of str become a str array."""
    import numpy as np

    if array.dtype != object:
        return array
    if all(isinstance(v, str) for v in array.flat):
        return array.astype(str) if array.size else np.zeros(array.shape, dtype="U1")
    raise ValueError(f"array {name!r} has dtype object and not only strings; cannot store it")


def read_arrays(folder: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read what :func:`write_arrays` wrote; arrays are memory-mapped read-only where possible."""
    import numpy as np

    document = json.loads((folder / "meta.json").read_bytes())
    if document.get("format", 0) > ARTIFACT_FORMAT:
        raise ValueError(
            f"{folder}: artifact format {document['format']} is newer than this Assay "
            f"(knows {ARTIFACT_FORMAT})"
        )
    arrays: dict[str, np.ndarray] = {}
    for name in document["arrays"]:
        path = folder / f"{name}.npy"
        try:
            arrays[name] = np.load(path, mmap_mode="r", allow_pickle=False)
        except ValueError:  # zero-size or otherwise not mappable
            arrays[name] = np.load(path, allow_pickle=False)
    return arrays, document["meta"]


def is_stale_temp(path: Path) -> bool:
    """Whether a temporary folder's writer is gone (its lock is free, or it is old)."""
    lock = path / ".lock"
    try:
        age = time.time() - path.stat().st_mtime
    except FileNotFoundError:
        return False
    if fcntl is None:
        return age > _STALE_AFTER_S
    if not lock.exists():  # between mkdir and lock, or a folder not made by us
        return age > 60.0
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing also drops the lock if we got it
    return True


def remove_tree(path: Path) -> None:
    """Remove a folder: rename it aside first (atomic), then delete it."""
    trash = path.parent / f"{TRASH_PREFIX}{uuid.uuid4().hex}"
    try:
        path.rename(trash)
    except FileNotFoundError:
        return
    shutil.rmtree(trash, ignore_errors=True)
