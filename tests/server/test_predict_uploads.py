"""The what-if upload checks on their own: names made safe to show, image types told by content
(only the allowed readers ever run), pixel bombs and truncated files refused before decoding."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from assay.server.predictor import UploadRefused, open_image, safe_name

NOT_AN_IMAGE = "not a PNG, JPEG, WebP, GIF, BMP or TIFF image"


@pytest.mark.parametrize(
    ("raw", "index", "expected"),
    [
        ("cat.png", 0, "cat.png"),
        ("../../etc/passwd.png", 0, "passwd.png"),
        ("C:\\Users\\me\\Pictures\\dog.jpg", 0, "dog.jpg"),
        ("evil\u202egnp.exe", 0, "evilgnp.exe"),  # a right-to-left override: dropped
        ("bell\x07\x00name\r\n.png", 0, "bellname .png"),  # controls dropped, breaks a space
        ("   ", 4, "file 5"),
        (None, 0, "file 1"),
        ("a/b/", 1, "file 2"),
        ("line\u2028break.png", 0, "line break.png"),
        ("猫 の 写真.png", 0, "猫 の 写真.png"),
    ],
)
def test_safe_names(raw: str | None, index: int, expected: str) -> None:
    assert safe_name(raw, index) == expected


def test_long_names_keep_their_end() -> None:
    name = safe_name("x" * 500 + "-the-end.png", 0)
    assert len(name) == 120 and name.endswith("-the-end.png") and "…" in name


def _encode(image: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kwargs)
    return buf.getvalue()


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"])
def test_the_allowed_types_decode_upright_rgb(fmt: str) -> None:
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (12, 20, 3), dtype=np.uint8))
    out = open_image(_encode(image, fmt), max_pixels=1000)
    assert out.size == (20, 12) and out.mode == "RGB"


def test_transparent_and_grey_images() -> None:
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))  # fully transparent red: on white
    assert open_image(_encode(rgba, "PNG"), max_pixels=100).getpixel((0, 0)) == (255, 255, 255)
    grey = open_image(
        _encode(Image.new("RGB", (4, 4), (10, 20, 30)), "PNG"), max_pixels=100, mode="L"
    )
    assert grey.mode == "L"


@pytest.mark.parametrize(
    "data",
    [
        b"hello, I am a text file named photo.png\n",
        b"%PDF-1.4\n1 0 obj\n",
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n",  # EPS: Ghostscript is never run
        b"<svg xmlns='http://www.w3.org/2000/svg' width='10' height='10'/>",
        b"\x89PNG\r\n\x1a\n",  # a signature and nothing else
    ],
)
def test_other_content_is_not_an_image(data: bytes) -> None:
    with pytest.raises(UploadRefused) as err:
        open_image(data, max_pixels=10_000)
    assert str(err.value) == NOT_AN_IMAGE or str(err.value).startswith("truncated or corrupt")
    assert data.decode("latin-1")[:10] not in str(err.value)


def test_readable_but_not_allowed_formats_are_refused() -> None:
    """Pillow reads ICO and PPM, but only the allowed readers are ever tried."""
    for fmt in ("ICO", "PPM", "TGA"):
        data = _encode(Image.new("RGB", (16, 16)), fmt)
        with pytest.raises(UploadRefused, match=NOT_AN_IMAGE):
            open_image(data, max_pixels=10_000)


def test_empty_truncated_and_bombs() -> None:
    with pytest.raises(UploadRefused, match="empty file"):
        open_image(b"", max_pixels=10)
    rng = np.random.default_rng(1)
    png = _encode(Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)), "PNG")
    with pytest.raises(UploadRefused, match="truncated or corrupt image"):
        open_image(png[: len(png) // 2], max_pixels=10_000)
    jpeg = _encode(Image.fromarray(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)), "JPEG")
    with pytest.raises(UploadRefused, match="truncated or corrupt image"):
        open_image(jpeg[: len(jpeg) // 2], max_pixels=10_000)
    with pytest.raises(
        UploadRefused, match=r"^64 x 64 pixels, more than the 4,000 pixels allowed$"
    ):
        open_image(png, max_pixels=4000)
