"""The files a model is made of, and the one rule they follow: everything a model brings (its spec,
a labels file, sibling labels, a tokenizer folder, an OpenVINO ``.bin``, ONNX external data, every
file of a model folder) resolves, links followed, inside the model's folder. Anything else is
refused with one line that names the model (or spec) file and the field, and quotes nothing of the
file it points at; the check comes before anything is read or any backend is loaded.

    >>> model_files("model.onnx")     # doctest: +SKIP
    [(PosixPath('/m/model.onnx'), 'model.onnx'), (PosixPath('/m/weights.data'), 'weights.data')]
"""

from __future__ import annotations

import mmap
import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

from assay.errors import InputError

# ONNX Runtime reads this "location" as a raw memory address: never from a file.
ORT_MEMORY_TAG = "*/_ORT_MEM_ADDR_/*"


def model_folder(path: str | Path) -> Path:
    """The folder a model's companions must lie in: a model folder itself, else the folder that
    holds the model file (links in the folder's own path resolved)."""
    path = Path(path)
    return path.resolve() if path.is_dir() else path.parent.resolve()


def inside(path: str | Path, folder: Path) -> bool:
    """Whether ``path``, links followed (missing parts kept as they are), lies in ``folder``."""
    real = Path(os.path.realpath(path))
    return real == folder or real.is_relative_to(folder)


def confine(
    path: str | Path, folder: Path, *, file: str, where: str, what: str = "the model's folder"
) -> Path:
    """``path`` with links followed, when it lies inside ``folder``; else one-line ``InputError``
    naming ``file`` and ``where`` (the same whether or not the target exists)."""
    if not inside(path, folder):
        raise InputError(
            f"lies outside {what} (links followed); copy it into the folder", file=file, where=where
        )
    return Path(os.path.realpath(path))


def check_tree(top: Path, folder: Path, *, file: str, where: str) -> None:
    """Every entry under the folder ``top`` (links not followed while walking) resolves inside
    ``folder``, and no link to a folder leads back to one that holds it (a copy would not end)."""
    for dirpath, dirnames, filenames in os.walk(top, followlinks=False):
        for name in (*dirnames, *filenames):
            entry = Path(dirpath) / name
            if not entry.is_symlink():
                continue
            rel = entry.relative_to(top).as_posix()
            real = confine(entry, folder, file=file, where=f"{where} '{rel}'")
            if real.is_dir() and Path(os.path.realpath(dirpath)).is_relative_to(real):
                raise InputError(
                    "a link to a folder that holds it", file=file, where=f"{where} '{rel}'"
                )


def model_files(path: str | Path) -> list[tuple[Path, str]]:
    """The files (or the folder) a model at ``path`` is made of: (source, name inside the model's
    folder), the model first; an OpenVINO IR's ``.xml`` and ``.bin``, an ONNX model's external
    data files. Each is checked to lie inside the model's folder (see the module's rule)."""
    path = Path(path)
    folder = model_folder(path)
    if path.is_dir():
        check_tree(path, folder, file=str(path), where="file")
        return [(folder, path.name)]
    out = [(path.resolve(), path.name)]
    suffix = path.suffix.lower()
    if suffix in (".xml", ".bin") and os.path.lexists(path.with_suffix(".xml")):
        xml, weights = path.with_suffix(".xml"), path.with_suffix(".bin")
        out = []
        for part, field in ((xml, "model"), (weights, "weights")):
            if part == path and part == xml:  # the file named, as any model file
                out.append((path.resolve(), path.name))
            elif os.path.lexists(part):
                real = confine(part, folder, file=str(xml), where=f"{field} '{part.name}'")
                out.append((real, part.name))
    elif suffix == ".onnx":
        for location in onnx_external_data(path):
            out.append(_external_file(path, folder, location))
    unique: dict[str, Path] = {}
    for source, name in out:
        unique.setdefault(name, source)
    return [(source, name) for name, source in unique.items()]


def _external_file(model: Path, folder: Path, location: str) -> tuple[Path, str]:
    where = f"external data location {location!r}"
    if location == ORT_MEMORY_TAG or "\0" in location or not location.strip():
        raise InputError("not a file name", file=str(model), where=where)
    pure = PurePosixPath(location.replace("\\", "/"))
    real = confine(folder / pure, folder, file=str(model), where=where)
    if pure.is_absolute() or ".." in pure.parts:  # the copy must find it by the same name
        raise InputError("not a path relative to the model's folder", file=str(model), where=where)
    try:
        mode = real.stat().st_mode
    except OSError:
        raise InputError("no such file next to the model", file=str(model), where=where) from None
    if not stat.S_ISREG(mode):
        raise InputError("not a regular file", file=str(model), where=where)
    return real, PurePosixPath(os.path.normpath(pure)).as_posix()


# --------------------------------------------------------------------------- ONNX wire format

# (message, field number) -> the message type a length-delimited field holds; the paths of
# onnx.proto that lead to a TensorProto (initializers, attribute tensors, subgraphs, functions).
_CHILDREN: dict[tuple[str, int], str] = {
    ("model", 7): "graph",
    ("model", 20): "training",
    ("model", 25): "function",
    ("training", 1): "graph",
    ("training", 2): "graph",
    ("function", 7): "node",
    ("function", 11): "attribute",
    ("graph", 1): "node",
    ("graph", 5): "tensor",
    ("graph", 15): "sparse",
    ("node", 5): "attribute",
    ("attribute", 5): "tensor",
    ("attribute", 6): "graph",
    ("attribute", 10): "tensor",
    ("attribute", 11): "graph",
    ("attribute", 22): "sparse",
    ("attribute", 23): "sparse",
    ("sparse", 1): "tensor",
    ("sparse", 2): "tensor",
    ("tensor", 13): "entry",
}
MAX_DEPTH = 100  # protobuf's own recursion limit


class _Malformed(Exception):
    pass


def _varint(buf: memoryview | bytes, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise _Malformed
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf: memoryview | bytes, start: int, end: int) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value or (start, end) of a length-delimited field)."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos, end)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos, end)
            yield number, wire, value
        elif wire == 1 or wire == 5:
            pos += 8 if wire == 1 else 4
            yield number, wire, None
        elif wire == 2:
            length, pos = _varint(buf, pos, end)
            if pos + length > end:
                raise _Malformed
            yield number, wire, (pos, pos + length)
            pos += length
        else:
            raise _Malformed
    if pos != end:
        raise _Malformed


def external_locations(buf: memoryview | bytes) -> list[str]:
    """The external-data "location" of every tensor of a serialized ONNX ModelProto, in order."""
    found: list[str] = []
    stack = [("model", 0, len(buf), 0)]
    while stack:
        kind, start, end, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise _Malformed
        if kind == "entry":
            entry: dict[int, bytes] = {}
            for number, wire, value in _fields(buf, start, end):
                if wire == 2 and number in (1, 2):
                    entry[number] = bytes(buf[value[0] : value[1]])
            if entry.get(1) == b"location":
                try:
                    found.append(entry.get(2, b"").decode("utf-8"))
                except UnicodeDecodeError:
                    raise _Malformed from None
            continue
        children = []
        for number, wire, value in _fields(buf, start, end):
            child = _CHILDREN.get((kind, number))
            if child is not None and wire == 2:
                children.append((child, value[0], value[1], depth + 1))
        stack.extend(reversed(children))
    return found


def onnx_external_data(path: str | Path) -> list[str]:
    """The distinct external-data locations an ONNX file names (relative to its folder), read
    from the file's protobuf without loading a tensor; a file that is not ONNX's wire format is
    an ``InputError``."""
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO or a device: never opened
            raise InputError("not a regular file", file=str(path))
        with open(path, "rb") as handle:
            if os.fstat(handle.fileno()).st_size == 0:
                return []
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                view = memoryview(mapped)
                try:
                    locations = external_locations(view)
                finally:
                    view.release()
    except _Malformed:
        raise InputError("not a loadable ONNX model (malformed protobuf)", file=str(path)) from None
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or type(exc).__name__
        raise InputError(f"cannot read the model ({reason})", file=str(path)) from None
    return list(dict.fromkeys(locations))
