"""Thumbnails (at most 256 px a side, JPEG) made once with Pillow and kept under
``$ASSAY_HOME/thumbnails``; the name carries the source's size and mtime, so an edited image gets a
new thumbnail and a new ETag.

One costs little memory: the pixel count is read from the header and an image of more than
``max_pixels`` is refused before anything is decoded; a JPEG is decoded at the smallest DCT scale
that still covers the thumbnail (``Image.draft``: a 64-megapixel photo decodes at 1/8 a side);
other formats are shrunk by ``reduce`` (whole-factor box averaging) before the final resampling;
the EXIF orientation is applied to the small image, never to the full-size one. How many are
made at once is the server's to bound (``Limits.thumbnail_workers``).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

THUMBNAIL_SIZE = 256
REDUCING_GAP = 2.0  # decode / reduce to at least twice the thumbnail, then resample
MAX_IMAGE_PIXELS = 64_000_000


class NotAnImage(Exception):
    """The file is not an image Pillow can read whole, or it is too large to decode (a 422)."""


def etag_for(source: Path) -> str:
    """A strong ETag from the file's path, size and modification time."""
    stat = source.stat()
    key = f"{source}\0{stat.st_size}\0{stat.st_mtime_ns}\0{THUMBNAIL_SIZE}"
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def cached(source: Path, folder: Path) -> tuple[Path, str] | None:
    """(the thumbnail file, its ETag) when it was made already, else None."""
    etag = etag_for(source)
    target = folder / f"{etag.strip(chr(34))}.jpg"
    return (target, etag) if target.is_file() else None


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
        image = _small(opened)
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


def _small(opened: Image.Image) -> Image.Image:
    """The image at most ``THUMBNAIL_SIZE`` a side and upright, decoded as small as its format
    allows: ``thumbnail`` drafts a JPEG (DCT scaling) and reduces the others by whole factors
    before resampling; the EXIF orientation is applied afterwards, to the small image (applied
    first, it decodes and copies the full-size one)."""
    opened.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), reducing_gap=REDUCING_GAP)
    upright: Image.Image = ImageOps.exif_transpose(opened)
    return upright
