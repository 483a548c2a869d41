"""Paths on the server's disk named by a request: only under the allowed roots, only regular files
and folders, bounded in size.

A path is resolved (symlinks followed) before it is compared with the roots (themselves
resolved), so a symlink inside a root that points outside is outside. A path outside every root
gets the same answer whether it exists or not; an answer never quotes a file's contents.

>>> confine("/etc/passwd", [Path("/tmp/ws")], Limits(), field="gt")  # doctest: +SKIP
Traceback (most recent call last):
assay.errors.InputError: gt: not under an allowed folder (the workspace or a --data-root)
"""

from __future__ import annotations

import os
import re
import stat
import time
from collections.abc import Sequence
from pathlib import Path

from assay.errors import InputError
from assay.formats.remote import fetch, fetch_model, is_url, parse_url, url_of
from assay.server.config import Limits


def resolve_roots(roots: Sequence[Path | str]) -> tuple[Path | str, ...]:
    """The allowed roots, resolved, without duplicates. A root in object storage
    (``s3://bucket/prefix/``) stays a URL prefix (kept as text, ending with ``/``; one that went
    through ``Path``, which folds ``//`` to ``/``, is put back)."""
    out: list[Path | str] = []
    for root in roots:
        text = str(root)
        folded = _FOLDED_URL.match(text)
        if folded:
            text = f"{folded.group(1)}://{folded.group(2)}"
        if is_url(text):
            url = parse_url(text)
            prefix = f"{url.scheme}://{url.bucket}/{url.key.rstrip('/')}".rstrip("/") + "/"
            if prefix not in out:
                out.append(prefix)
            continue
        resolved = Path(root).expanduser().resolve()
        if resolved not in out:
            out.append(resolved)
    return tuple(out)


_FOLDED_URL = re.compile(r"^(s3|gs|gcs|az|abfs):/([^/].*)$")


def _under_url(url: str, roots: Sequence[Path | str]) -> bool:
    """Whether ``url`` lies under one of the URL prefixes among ``roots``."""
    return any((url.rstrip("/") + "/").startswith(r) for r in roots if isinstance(r, str))


def _remote(
    value: str, roots: Sequence[Path | str], limits: Limits, *, field: str, model: bool = False
) -> Path:
    """The cached copy of the object (or prefix) ``value`` names, when it lies under a URL root;
    else the same refusal as a path outside the roots. Fetched at most ``max_read_bytes``; a
    ``model`` with the neighbours it reads (:func:`~assay.formats.remote.fetch_model`)."""
    url = parse_url(value)
    if not _under_url(str(url), roots):
        raise InputError(f"{field}: not under an allowed folder (the workspace or a --data-root)")
    if model:
        return fetch_model(url)
    return fetch(url, cap=limits.max_read_bytes)


def _inside(path: Path, roots: Sequence[Path | str]) -> bool:
    """Whether ``path`` lies under a folder root (URL roots hold no local path)."""
    return any(
        isinstance(root, Path) and (path == root or path.is_relative_to(root)) for root in roots
    )


def confine(
    value: str, roots: Sequence[Path | str], limits: Limits, *, field: str, model: bool = False
) -> Path:
    """The resolved path named by ``value`` if it lies under a root and is a regular file or a
    folder of regular files within the limits; otherwise ``InputError`` naming ``field``."""
    if "\0" in value:
        raise InputError(f"{field}: not a valid path")
    if is_url(value):  # object storage: only under a URL prefix given as a data root
        return _remote(value, roots, limits, field=field, model=model)
    try:
        path = Path(value).expanduser()
        if not path.is_absolute():
            raise InputError(f"{field}: must be an absolute path")
        resolved = path.resolve()
    except (OSError, RuntimeError, ValueError):  # symlink loops, odd names
        raise InputError(f"{field}: not under an allowed folder") from None
    origin = url_of(resolved)  # a cached copy from object storage: allowed as its URL would be
    if not _inside(resolved, roots) or (origin is not None and not _under_url(origin, roots)):
        # the same words whether it exists or not: nothing is learnt about the disk outside
        raise InputError(f"{field}: not under an allowed folder (the workspace or a --data-root)")
    try:
        info = resolved.stat()
    except FileNotFoundError:
        raise InputError(f"{field}: no such file or folder: {value}") from None
    except OSError:
        raise InputError(f"{field}: cannot be read: {value}") from None
    if stat.S_ISREG(info.st_mode):
        if info.st_size > limits.max_read_bytes:
            raise InputError(f"{field}: larger than {limits.max_read_bytes} bytes: {value}")
        return resolved
    if stat.S_ISDIR(info.st_mode):
        _check_folder(resolved, roots, limits, field=field, value=value)
        return resolved
    raise InputError(f"{field}: not a regular file or folder: {value}")


def _check_folder(
    folder: Path, roots: Sequence[Path | str], limits: Limits, *, field: str, value: str
) -> None:
    """Every entry under ``folder`` is a regular file or folder inside the roots; the total size,
    the number of files and the time spent walking are bounded."""
    deadline = time.monotonic() + limits.scan_seconds
    total = files = 0
    for parent, dirs, names in os.walk(folder, followlinks=False):
        for name in (*dirs, *names):
            entry = Path(parent) / name
            try:
                info = entry.stat()  # follows a symlink: its target is what a reader reads
                target = entry.resolve() if entry.is_symlink() else entry
            except OSError:
                raise InputError(f"{field}: an entry of {value} cannot be read") from None
            if not _inside(target, roots):
                raise InputError(f"{field}: {value} links outside the allowed folders")
            if stat.S_ISDIR(info.st_mode):
                continue
            if not stat.S_ISREG(info.st_mode):
                rel = entry.relative_to(folder)
                raise InputError(f"{field}: {value} holds a special file: {rel}")
            files += 1
            total += info.st_size
            if files > limits.max_files or total > limits.max_read_bytes:
                raise InputError(
                    f"{field}: {value} is larger than the limits "
                    f"({limits.max_files} files, {limits.max_read_bytes} bytes)"
                )
        if time.monotonic() > deadline:
            raise InputError(f"{field}: reading {value} took longer than {limits.scan_seconds} s")
