"""Thumbnails (at most 256 px a side, JPEG) made once with Pillow and kept under
``$ASSAY_HOME/thumbnails``; the name carries the source's size and mtime, so an edited image gets a
new thumbnail and a new ETag."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

THUMBNAIL_SIZE = 256
MAX_IMAGE_PIXELS = 64_000_000


class NotAnImage(Exception):
    """The file is not an image Pillow can read whole, or it is too large to decode (a 422)."""


def etag_for(source: Path) -> str:
    """A strong ETag from the file's path, size and modification time."""
    stat = source.stat()
    key = f"{source}\0{stat.st_size}\0{stat.st_mtime_ns}\0{THUMBNAIL_SIZE}"
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def thumbnail(
    source: Path, folder: Path, *, max_pixels: int = MAX_IMAGE_PIXELS
) -> tuple[Path, str]:
    """(the thumbnail file, its ETag); made on first use, atomically (temp file + rename).

    ``NotAnImage`` for a file that is not an image, a truncated one, or one of more than
    ``max_pixels`` pixels (checked from the header, before anything is decoded: a decompression
    bomb never reaches memory)."""
    etag = etag_for(source)
    target = folder / f"{etag.strip(chr(34))}.jpg"
    if target.is_file():
        return target, etag
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _make(source, target, folder, max_pixels)
    except NotAnImage:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise NotAnImage(type(exc).__name__) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # truncated or corrupt data
        if isinstance(exc, OSError) and not source.is_file():
            raise
        raise NotAnImage(type(exc).__name__) from None
    return target, etag


def _make(source: Path, target: Path, folder: Path, max_pixels: int) -> None:
    with Image.open(source) as opened:
        width, height = opened.size
        if width * height > max_pixels:
            raise NotAnImage(f"{width} x {height} pixels, more than {max_pixels}")
        image: Image.Image = ImageOps.exif_transpose(opened)
        image.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        if image.mode not in ("RGB", "L"):
            rgba = image.convert("RGBA")
            image = Image.new("RGB", rgba.size, (255, 255, 255))
            image.paste(rgba, mask=rgba.getchannel("A"))
        tmp = folder / f".tmp-{uuid.uuid4().hex}.jpg"
        try:
            image.save(tmp, "JPEG", quality=85)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
