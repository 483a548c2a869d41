"""Thumbnails (at most 256 px a side, JPEG) made once with Pillow and kept under
``$ASSAY_HOME/thumbnails``; the name carries the source's size and mtime, so an edited image gets a
new thumbnail and a new ETag.

One costs little memory: the pixel count is read from the header and an image of more than
``max_pixels`` is refused before anything is decoded; a JPEG is decoded at the smallest DCT scale
that still covers the thumbnail (``Image.draft``: a 64-megapixel photo decodes at 1/8 a side);
other formats are shrunk by ``reduce`` (whole-factor box averaging) before the final resampling;
the EXIF orientation is applied to the small image, never to the full-size one.

The memory budget. A PNG (or TIFF, BMP, GIF, WebP) has no draft mode: it is decoded whole before
it is reduced, and Pillow holds 4 bytes a pixel for RGB, RGBA, LA, I and F images, 2 for 16-bit
grey, 1 for L, P and 1 (:func:`decode_bytes`; WebP and AVIF decode through a buffer of their own
and LA and RGBA images are resized through a premultiplied copy: each one more copy). A
64-megapixel RGB PNG is 256 MB decoded, an RGBA one 512 MB. What every thumbnail being made holds
at once is bounded by a :class:`DecodeBudget` (``Limits.thumbnail_decode_bytes``, 512 MiB by
default): each decode reserves its bytes (from the header, after the draft) before it decodes and
waits while the others' leave no room; one that alone needs more than the whole budget is refused
(a 422). So at most ``thumbnail_decode_bytes`` of decoded pixels (plus the small reduced copies)
are in memory however many workers the gate runs (``Limits.thumbnail_workers``, 2 by default):
two 64-megapixel RGB PNGs (2 x 256 MB) decode at once, an RGBA one alone; with 40 workers it is
still 512 MiB, where 40 full-size decodes would be 10 GB.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

THUMBNAIL_SIZE = 256
REDUCING_GAP = 2.0  # decode / reduce to at least twice the thumbnail, then resample
MAX_IMAGE_PIXELS = 64_000_000
DECODE_BUDGET_BYTES = 512 << 20  # decoded pixels of every thumbnail being made, together
DECODE_WAIT_SECONDS = 60.0  # a decode waits this long for room in the budget, then a 503
_BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
_BUFFERED_FORMATS = ("WEBP", "AVIF", "HEIF")  # decoded into a buffer, then copied: twice
_ALPHA_MODES = ("LA", "RGBA")  # resized through a premultiplied full-size copy: twice


class NotAnImage(Exception):
    """The file is not an image Pillow can read whole, or it is too large to decode (a 422)."""


class DecodeBudget:
    """Bytes of decoded pixels that the thumbnails being made may hold at once, together.

    >>> budget = DecodeBudget(100)
    >>> with budget.reserve(60):
    ...     budget.used
    60
    """

    def __init__(self, total: int = DECODE_BUDGET_BYTES) -> None:
        self.total = int(total)
        self.used = 0
        self.peak = 0  # the most reserved at once (for tests and benchmarks)
        self._room = threading.Condition()

    @contextmanager
    def reserve(self, n: int, wait: float = DECODE_WAIT_SECONDS) -> Iterator[None]:
        """Hold ``n`` bytes of the budget while the block runs; wait for room up to ``wait``
        seconds (then ``Busy``: a 503); ``NotAnImage`` when ``n`` alone is more than the budget."""
        from assay.server.gates import RETRY_AFTER_SECONDS, Busy

        if n > self.total:
            raise NotAnImage(
                f"it needs {n / 2**20:.0f} MiB to decode, more than the server's "
                f"{self.total / 2**20:.0f} MiB for thumbnails"
            )
        deadline = time.monotonic() + wait
        with self._room:
            while self.used + n > self.total:
                left = deadline - time.monotonic()
                if left <= 0 or not self._room.wait(left):
                    raise Busy(
                        "the server is busy decoding other thumbnails; "
                        f"try again in {RETRY_AFTER_SECONDS} s"
                    )
            self.used += n
            self.peak = max(self.peak, self.used)
        try:
            yield
        finally:
            with self._room:
                self.used -= n
                self._room.notify_all()


def decode_bytes(image: Image.Image) -> int:
    """Bytes Pillow holds for ``image`` decoded at its current size (after a draft): its pixels
    times the bytes Pillow keeps per pixel of its mode (RGB is kept in 4), one more copy for a
    format decoded through a buffer of its own (WebP, AVIF) and one for an image with alpha (LA,
    RGBA: Pillow resizes a premultiplied full-size copy)."""
    width, height = image.size
    per_pixel = _BYTES_PER_PIXEL.get(image.mode, 4)
    copies = 1 + ((image.format or "").upper() in _BUFFERED_FORMATS) + (image.mode in _ALPHA_MODES)
    return width * height * per_pixel * copies


REMOTE_MEDIA_BYTES = 64 << 20  # an image read from object storage (served or thumbnailed)


def local_source(path: Path, sample_id: str) -> Path:
    """``path`` itself, or, for an image in object storage not fetched yet, its copy fetched
    into the workspace's cache (at most :data:`REMOTE_MEDIA_BYTES`), so the thumbnail is made
    from a file as any other. A failure: 404 (no object), 422 (over the cap) or 502 (the store
    unreadable)."""
    from fastapi import HTTPException

    from assay.errors import InputError
    from assay.formats.remote import fetch, remote_url

    url = remote_url(path)
    if url is None:
        return path
    try:
        return fetch(url, folder_ok=False, cap=REMOTE_MEDIA_BYTES)
    except InputError as exc:
        status = {"missing": 404, "too_large": 422}.get(getattr(exc, "kind", ""), 502)
        raise HTTPException(status, detail=f"sample {sample_id}: {exc}") from None


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
    source: Path,
    folder: Path,
    *,
    max_pixels: int = MAX_IMAGE_PIXELS,
    budget: DecodeBudget | None = None,
) -> tuple[Path, str]:
    """(the thumbnail file, its ETag); made on first use, atomically (temp file + rename).

    ``NotAnImage`` for a file that is not an image, a truncated one, one of more than
    ``max_pixels`` pixels or one whose decode needs more than the whole ``budget`` (both
    checked from the header, before anything is decoded: a decompression bomb never reaches
    memory). The decode holds its bytes of ``budget`` (a budget of its own when None)."""
    etag = etag_for(source)
    target = folder / f"{etag.strip(chr(34))}.jpg"
    if target.is_file():
        return target, etag
    folder.mkdir(parents=True, exist_ok=True)
    try:
        _make(source, target, folder, max_pixels, budget or DecodeBudget())
    except NotAnImage:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise NotAnImage(type(exc).__name__) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # truncated or corrupt data
        if isinstance(exc, OSError) and not source.is_file():
            raise
        raise NotAnImage(type(exc).__name__) from None
    return target, etag


def _make(source: Path, target: Path, folder: Path, max_pixels: int, budget: DecodeBudget) -> None:
    with Image.open(source) as opened:
        width, height = opened.size
        if width * height > max_pixels:
            raise NotAnImage(f"{width} x {height} pixels, more than {max_pixels}")
        _draft(opened)
        with budget.reserve(decode_bytes(opened)):
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


def _draft(opened: Image.Image) -> None:
    """Ask the decoder for the smallest size that still covers the thumbnail with the reducing
    gap (a JPEG's DCT scale; other formats ignore it), as ``Image.thumbnail`` would, so the
    size and mode seen after it are what will be decoded."""
    width, height = opened.size
    scale = min(1.0, THUMBNAIL_SIZE / max(width, height, 1))
    wanted = (max(1, int(width * scale * REDUCING_GAP)), max(1, int(height * scale * REDUCING_GAP)))
    opened.draft(None, wanted)


def _small(opened: Image.Image) -> Image.Image:
    """The image at most ``THUMBNAIL_SIZE`` a side and upright, decoded as small as its format
    allows: ``thumbnail`` drafts a JPEG (DCT scaling) and reduces the others by whole factors
    before resampling; the EXIF orientation is applied afterwards, to the small image (applied
    first, it decodes and copies the full-size one)."""
    opened.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE), reducing_gap=REDUCING_GAP)
    upright: Image.Image = ImageOps.exif_transpose(opened)
    return upright
