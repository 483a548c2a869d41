"""Media confinement: the files a dataset names stay inside its root folder.

A dataset's root is the folder of its table or annotation file, its ImageFolder / YOLO images
folder, or the images folder the user names. A media path (a table's ``path``, a COCO / VOC
``file_name``, a YOLO image) must resolve, symlinks followed, inside that root: an absolute path
elsewhere, a ``../`` path that leaves it, or a link inside it that points outside is refused with
one line naming the row or entry, never quoting the path; ``allow_outside=True`` (the CLI's
``--allow-media-outside-root``) lets them through. The decision never depends on whether a file
outside the root exists, so the answer tells nothing about the disk beyond the root.

>>> import tempfile
>>> root = Path(tempfile.mkdtemp())
>>> confine("a.png", root, file="gt.csv", where="row 1") == root.resolve() / "a.png"
True
>>> confine("../a.png", root, file="gt.csv", where="row 2")
Traceback (most recent call last):
...
assay.errors.InputError: gt.csv: row 2: media path leads outside the dataset's folder ...
"""

from __future__ import annotations

import os
from pathlib import Path

from assay.errors import InputError

__all__ = ["OPT_IN", "confine", "image_type", "is_inside", "real_root"]

OPT_IN = "--allow-media-outside-root"


def real_root(root: str | Path) -> Path:
    """The root folder made absolute with its links followed."""
    return Path(os.path.realpath(root))


def is_inside(path: str | Path, root: str | Path) -> bool:
    """Whether ``path`` is ``root`` or lies under it (compared as given: resolve both first).

    >>> is_inside("/a/b/c", "/a/b"), is_inside("/a/bc", "/a/b")
    (True, False)
    """
    p, r = os.path.normpath(path), os.path.normpath(root)
    try:
        return os.path.commonpath([p, r]) == r
    except ValueError:  # one relative, one absolute
        return False


def refusal(what: str, root: Path, *, file: str | None, where: str | None) -> InputError:
    """The one line for a media path outside ``root`` (the path itself is not quoted)."""
    return InputError(
        f"media path {what} the dataset's folder {root} (pass {OPT_IN} to allow it)",
        file=file,
        where=where,
    )


def confine(
    name: str,
    root: str | Path,
    *,
    allow_outside: bool = False,
    file: str | None,
    where: str | None,
) -> Path:
    """The real path of media ``name`` (relative to ``root``, or absolute), checked to lie
    inside ``root`` unless ``allow_outside``. A file that does not exist is not an error (the
    path is kept; nothing is served from it), but the part of the path that exists is followed.
    """
    base = real_root(root)
    joined = os.path.join(base, os.path.expanduser(name) if allow_outside else name)
    if not allow_outside:
        lexical = os.path.normpath(joined)
        if not is_inside(lexical, base):
            what = "is absolute, outside" if os.path.isabs(name) else "leads outside"
            raise refusal(what, base, file=file, where=where)
    real = Path(os.path.realpath(joined))
    if not allow_outside and not is_inside(real, base):
        raise refusal("is a link to a file outside", base, file=file, where=where)
    return real


# the leading bytes of the image formats served, and their Content-Type
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
)


def image_type(head: bytes) -> str | None:
    """The Content-Type of an image from its first bytes (PNG, JPEG, GIF, BMP, TIFF, WebP), None
    when they are none of these: what a file from object storage is served as, whatever its
    name or the store's metadata say.

    >>> image_type(b"\\x89PNG\\r\\n\\x1a\\n...."), image_type(b"<html>")
    ('image/png', None)
    """
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for signature, media_type in _SIGNATURES:
        if head.startswith(signature):
            return media_type
    return None
