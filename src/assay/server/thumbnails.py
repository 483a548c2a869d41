"""Thumbnails (at most 256 px a side, JPEG) made once with Pillow and kept under
``$ASSAY_HOME/thumbnails``; the name carries the source's size and mtime, so an edited image gets a
new thumbnail and a new ETag."""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path

from PIL import Image, ImageOps

THUMBNAIL_SIZE = 256


def etag_for(source: Path) -> str:
    """A strong ETag from the file's path, size and modification time."""
    stat = source.stat()
    key = f"{source}\0{stat.st_size}\0{stat.st_mtime_ns}\0{THUMBNAIL_SIZE}"
    return '"' + hashlib.sha256(key.encode()).hexdigest()[:32] + '"'


def thumbnail(source: Path, folder: Path) -> tuple[Path, str]:
    """(the thumbnail file, its ETag); made on first use, atomically (temp file + rename)."""
    etag = etag_for(source)
    target = folder / f"{etag.strip(chr(34))}.jpg"
    if target.is_file():
        return target, etag
    folder.mkdir(parents=True, exist_ok=True)
    with Image.open(source) as opened:
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
    return target, etag
