"""Images to input tensors, as a ``PreprocessSpec`` says, and the geometry that maps model
coordinates back to the original image (for detection boxes).

    >>> from PIL import Image
    >>> spec = PreprocessSpec(size=(4, 4), layout="NCHW", dtype="float32")
    >>> x, geo = preprocess_image(Image.new("RGB", (8, 8), (255, 0, 0)), spec)
    >>> x.shape, float(x[0, 0, 0]), geo.scale_x
    ((3, 4, 4), 1.0, 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from assay.errors import InputError, one_line
from assay.runners.spec import PreprocessSpec

_RESAMPLE = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


@dataclass(frozen=True)
class Geometry:
    """Model-input coordinates -> original image: ``x = (x_in - offset_x) / scale_x`` (same for y)."""

    width: int
    height: int
    scale_x: float = 1.0
    scale_y: float = 1.0
    offset_x: float = 0.0
    offset_y: float = 0.0

    def to_original(self, boxes_xyxy: np.ndarray) -> np.ndarray:
        """Boxes (N, 4) in input pixels -> original pixels, clipped to the image."""
        out = np.asarray(boxes_xyxy, dtype=np.float64).copy()
        out[:, [0, 2]] = (out[:, [0, 2]] - self.offset_x) / self.scale_x
        out[:, [1, 3]] = (out[:, [1, 3]] - self.offset_y) / self.scale_y
        np.clip(out[:, [0, 2]], 0, self.width, out=out[:, [0, 2]])
        np.clip(out[:, [1, 3]], 0, self.height, out=out[:, [1, 3]])
        return out


def decode_image(path: str | Path, channels: str = "RGB") -> Image.Image:
    """Open and fully decode an image file in the spec's colour mode ("BGR" decodes as RGB).

    Always at full size: JPEG draft mode (libjpeg decoding at 1/2 to 1/8 scale) would make a
    1600 x 1200 photo 3.5x faster to decode and resize to 64 x 64, but the pixels it gives are
    not those of the full decode + resize the spec defines (on smooth synthetic photos, half of
    them differ, by up to 3 of 255 at 64 x 64 and 10 at 224 x 224), so predictions would change.
    """
    mode = "L" if channels == "L" else "RGB"
    try:
        with Image.open(path) as im:
            im.load()
            return im if im.mode == mode else im.convert(mode)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(f"cannot decode the image ({one_line(exc)})", file=str(path)) from None


def _resize_geometry(
    w: int, h: int, spec: PreprocessSpec
) -> tuple[tuple[int, int], tuple[int, int]]:
    """(resized (w, h), input (w, h)) for an image of w x h."""
    size = spec.size
    if spec.resize_mode == "shorter":
        short = spec.resize if isinstance(spec.resize, int) else (min(size) if size else min(w, h))
        s = short / min(w, h)
        rw, rh = max(1, round(w * s)), max(1, round(h * s))
        crop = spec.crop or size or (short, short)
        return (rw, rh), (crop[1], crop[0])
    target = spec.resize if isinstance(spec.resize, tuple) else size
    if target is None:
        target = (h, w)
    if spec.resize_mode == "letterbox":
        s = min(target[1] / w, target[0] / h)
        rw, rh = max(1, round(w * s)), max(1, round(h * s))
        return (rw, rh), (target[1], target[0])
    rw, rh = target[1], target[0]
    crop = spec.crop or (rh, rw)
    return (rw, rh), (crop[1], crop[0])


def resize_image(image: Image.Image, spec: PreprocessSpec) -> tuple[Image.Image, Geometry]:
    """Resize (stretch / shorter side / letterbox) and centre-crop; the geometry to map back."""
    w, h = image.size
    if spec.resize_mode == "stretch" and spec.resize is None and spec.crop is None and spec.size:
        rh, rw = ih, iw = spec.size  # the common case, without the general geometry
    else:
        (rw, rh), (iw, ih) = _resize_geometry(w, h, spec)
    out = image if (rw, rh) == (w, h) else image.resize((rw, rh), _RESAMPLE[spec.interpolation])
    sx, sy = rw / w, rh / h
    if spec.resize_mode == "letterbox":
        ox, oy = (iw - rw) // 2, (ih - rh) // 2
        fill = spec.pad_value if image.mode == "L" else (spec.pad_value,) * 3
        canvas = Image.new(image.mode, (iw, ih), fill)
        canvas.paste(out, (ox, oy))
        return canvas, Geometry(w, h, sx, sy, float(ox), float(oy))
    if (iw, ih) != (rw, rh):
        left, top = (rw - iw) // 2, (rh - ih) // 2
        # A crop larger than the image pads with zeros (PIL's crop), as torchvision's CenterCrop does.
        out = out.crop((left, top, left + iw, top + ih))
        return out, Geometry(w, h, sx, sy, float(-left), float(-top))
    return out, Geometry(w, h, sx, sy)


def sample_shape(hw: tuple[int, int], spec: PreprocessSpec) -> tuple[int, int, int]:
    """The shape of one preprocessed sample of (height, width) pixels."""
    c = spec.n_channels
    return (c, *hw) if (spec.layout or "NCHW") == "NCHW" else (*hw, c)


def normalize(
    pixels: np.ndarray, spec: PreprocessSpec, out: np.ndarray | None = None
) -> np.ndarray:
    """HWC (or HW) uint8 pixels -> the spec's channel order, scale, mean / std, layout and dtype.

    The result is one sample (CHW or HWC) without the batch axis, written into ``out`` when given
    (a slot of a preallocated batch: no temporary copies).
    """
    arr = pixels if pixels.ndim == 3 else pixels[:, :, None]
    return _normalize(arr[None], spec, None if out is None else out[None])[0]


def _normalize(arr: np.ndarray, spec: PreprocessSpec, out: np.ndarray | None) -> np.ndarray:
    """``normalize`` for a batch: NHWC uint8 -> the spec's batch tensor, in one pass per step
    (the same elementwise operations as per sample, so the same bits)."""
    if spec.channels == "BGR":
        arr = arr[..., ::-1]
    nchw = (spec.layout or "NCHW") == "NCHW"
    if nchw:
        arr = arr.transpose(0, 3, 1, 2)
    dtype = np.dtype(spec.dtype or "float32")
    if out is None:
        out = np.empty(arr.shape, dtype)
    if dtype.kind in "ui":
        np.copyto(out, arr, casting="unsafe")
        return out
    np.multiply(arr, np.float32(spec.scale), out=out, casting="unsafe")
    bshape = (1, -1, 1, 1) if nchw else (1, 1, 1, -1)
    if any(spec.mean):
        out -= np.asarray(spec.mean, dtype=np.float32).reshape(bshape).astype(dtype)
    if any(v != 1 for v in spec.std):
        out /= np.asarray(spec.std, dtype=np.float32).reshape(bshape).astype(dtype)
    return out


def preprocess_image(image: Image.Image, spec: PreprocessSpec) -> tuple[np.ndarray, Geometry]:
    """One decoded image -> (input sample without the batch axis, geometry)."""
    if image.mode != ("L" if spec.channels == "L" else "RGB"):
        image = image.convert("L" if spec.channels == "L" else "RGB")
    resized, geo = resize_image(image, spec)
    return normalize(np.asarray(resized), spec), geo


def load_batch(paths: list[str | Path], spec: PreprocessSpec) -> tuple[np.ndarray, list[Geometry]]:
    """Decode and preprocess images into one batch tensor (N, ...) and their geometries.

    The resized pixels are gathered as uint8 and normalized in one pass over the batch: a few
    numpy calls per batch instead of per image (the same operations, so the same bits)."""
    raw: np.ndarray | None = None
    geos = []
    for i, p in enumerate(paths):
        image = decode_image(p, spec.channels)
        resized, geo = resize_image(image, spec)
        pixels = np.asarray(resized)
        if pixels.ndim == 2:
            pixels = pixels[:, :, None]
        if raw is None:
            raw = np.empty((len(paths), *pixels.shape), np.uint8)
        elif raw.shape[1:] != pixels.shape:
            raise InputError(
                "images of different sizes after preprocessing; set 'size' or 'resize' in the spec",
                file=str(p),
            )
        raw[i] = pixels
        geos.append(geo)
    if raw is None:
        return np.empty((0,), np.float32), geos
    return _normalize(raw, spec, None), geos
