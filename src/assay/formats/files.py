"""The door every input file comes through: a regular file (or a folder where one is allowed), no
larger than a cap, links followed.

A named pipe would block a reader forever, a device (a link to ``/dev/zero``) would be read until
memory runs out, and a file of many gigabytes would be read whole into memory; each is refused with
one :class:`~assay.errors.InputError` naming the file, before anything is opened for reading. The
cap is :data:`DEFAULT_MAX_INPUT_BYTES`, or ``$ASSAY_MAX_INPUT_BYTES`` (bytes) when set.

>>> import tempfile
>>> folder = Path(tempfile.mkdtemp())
>>> _ = (folder / "a.csv").write_bytes(b"id,label\\n1,cat\\n")
>>> check_input(folder / "a.csv").name
'a.csv'
>>> check_input(folder)
Traceback (most recent call last):
...
assay.errors.InputError: ...: is a folder, expected a file
>>> read_input_bytes(folder / "a.csv")
b'id,label\\n1,cat\\n'
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from assay.errors import InputError

__all__ = [
    "DEFAULT_MAX_INPUT_BYTES",
    "MAX_INPUT_ENV",
    "check_input",
    "max_input_bytes",
    "read_input_bytes",
]

DEFAULT_MAX_INPUT_BYTES = 4 << 30
MAX_INPUT_ENV = "ASSAY_MAX_INPUT_BYTES"


def max_input_bytes() -> int:
    """The largest input file read: ``$ASSAY_MAX_INPUT_BYTES`` when set, else 4 GiB."""
    given = os.environ.get(MAX_INPUT_ENV, "").strip()
    if not given:
        return DEFAULT_MAX_INPUT_BYTES
    try:
        value = int(given)
    except ValueError:
        raise InputError(f"${MAX_INPUT_ENV} must be a number of bytes") from None
    if value < 1:
        raise InputError(f"${MAX_INPUT_ENV} must be a positive number of bytes")
    return value


def _size(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _kind(mode: int) -> str | None:
    """What a file that is neither a regular file nor a folder is, in words."""
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else "not a regular file"


def _check_stat(path: Path, st: os.stat_result, *, folder_ok: bool) -> None:
    kind = _kind(st.st_mode)
    if kind is not None:
        expected = "a file or folder" if folder_ok else "a regular file"
        raise InputError(f"is {kind}, expected {expected}", file=str(path))
    if stat.S_ISDIR(st.st_mode):
        if not folder_ok:
            raise InputError("is a folder, expected a file", file=str(path))
        return
    cap = max_input_bytes()
    if st.st_size > cap:
        raise InputError(
            f"is {_size(st.st_size)}, larger than the {_size(cap)} limit on input files "
            f"(${MAX_INPUT_ENV} raises it)",
            file=str(path),
        )


def check_input(path: str | Path, *, folder_ok: bool = False) -> Path:
    """``path`` when it is a regular file within the cap (or a folder, when ``folder_ok``),
    links followed; otherwise an :class:`InputError` naming it. Nothing is opened."""
    path = Path(path)
    try:
        st = os.stat(path)  # follows links
    except FileNotFoundError:
        missing = "no such file or folder" if folder_ok else "no such file"
        raise InputError(missing, file=str(path)) from None
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror or exc})", file=str(path)) from None
    _check_stat(path, st, folder_ok=folder_ok)
    return path


def read_input_bytes(path: str | Path) -> bytes:
    """The bytes of an input file, checked as :func:`check_input` does, then again on the open
    file (a path swapped for a pipe in between cannot block the read, nor grow past the cap)."""
    path = check_input(path)
    cap = max_input_bytes()
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"cannot read file ({exc.strerror or exc})", file=str(path)) from None
    with os.fdopen(fd, "rb") as f:
        _check_stat(path, os.fstat(fd), folder_ok=False)
        try:
            data = f.read(cap + 1)
        except OSError as exc:
            raise InputError(f"cannot read file ({exc.strerror or exc})", file=str(path)) from None
    if len(data) > cap:
        raise InputError(f"grew past the {_size(cap)} limit on input files", file=str(path))
    return data
