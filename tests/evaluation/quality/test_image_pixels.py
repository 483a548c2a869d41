"""The per-image pixel statistics against their plain definitions: the perceptual hash is
imagehash.phash bit for bit (one image at a time or a batch in one DCT call), sharpness the
variance of scipy.ndimage.laplace of luma / 255, colourfulness Hasler-Suesstrunk in float64, the
colour histogram and the grayscale test as written out with numpy."""

from __future__ import annotations

import warnings
from pathlib import Path

import imagehash
import numpy as np
import pytest
from PIL import Image, ImageFilter
from scipy.ndimage import laplace

from assay.evaluation.quality import _images


def _images_of_every_kind(folder: Path) -> list[Path]:
    rng = np.random.default_rng(7)
    out: list[Path] = []

    def save(name: str, im: Image.Image, **kw: object) -> None:
        out.append(folder / name)
        im.save(out[-1], **kw)

    def noise(h: int, w: int, bands: int = 3) -> np.ndarray:
        return rng.integers(0, 256, (h, w, bands) if bands > 1 else (h, w), dtype=np.uint8)

    smooth = Image.fromarray(noise(12, 16)).resize((400, 300), Image.Resampling.BILINEAR)
    save("photo.jpg", smooth.filter(ImageFilter.GaussianBlur(1)), quality=90)  # draft + shrink
    save("wide.jpg", Image.fromarray(noise(90, 700)), quality=85)
    save("noise.png", Image.fromarray(noise(70, 90)))
    save("flat.png", Image.fromarray(np.full((40, 50, 3), 77, np.uint8)))  # DCT ties at the median
    save("black.jpg", Image.fromarray(np.zeros((300, 260, 3), np.uint8)))
    ramp = np.tile(np.arange(256, dtype=np.uint8), (64, 1))
    save("ramp.png", Image.fromarray(np.stack([ramp] * 3, axis=-1)))  # three equal bands
    save("luma.jpg", Image.fromarray(noise(300, 280, 1)), quality=90)  # mode L
    save("palette.png", Image.fromarray(noise(60, 40)).convert("P"))
    save("alpha.png", Image.fromarray(noise(33, 47, 4)))
    save("one.png", Image.fromarray(noise(1, 1)))
    save("row.png", Image.fromarray(noise(1, 37)))
    save("column.png", Image.fromarray(noise(29, 1)))
    return out


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return _images_of_every_kind(tmp_path_factory.mktemp("pixels"))


def test_phash_is_imagehash_bit_for_bit_alone_and_in_a_batch(images: list[Path]) -> None:
    batch = _images._hashed(_images._batch([*images, None]))
    assert batch[-1] is None
    for path, got in zip(images, batch, strict=False):
        small = _images._open_rgb(path)[3]
        bits = imagehash.phash(small.convert("L"), hash_size=_images.HASH_SIZE).hash.ravel()
        want = int(np.packbits(bits).view(">u8")[0])
        assert got is not None and got[2] == want, path.name
        alone = _images._one(path)
        assert alone is not None and alone[2] == want, path.name
        np.testing.assert_array_equal(alone[0], got[0])
        np.testing.assert_array_equal(alone[1], got[1])


def test_pixel_statistics_match_their_definitions(images: list[Path]) -> None:
    names = _images._PIXEL
    for path in images:
        out = _images._one(path)
        assert out is not None
        props = dict(zip(names, out[0].tolist(), strict=True))
        rgb, width, height, small = _images._open_rgb(path)
        luma = np.asarray(small.convert("L"), dtype=np.float64)
        assert props["brightness"] == pytest.approx(luma.mean() / 255, rel=1e-12, abs=1e-15)
        assert props["contrast"] == pytest.approx(luma.std() / 255, rel=1e-9, abs=1e-12)
        lap = laplace(luma / 255, mode="reflect")
        assert props["sharpness"] == pytest.approx(lap.var(), rel=1e-9, abs=1e-15), path.name
        r, g, b = (rgb[..., k].astype(np.float64) for k in range(3))
        rg, yb = r - g, (r + g) / 2 - b
        want = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
        assert props["colourfulness"] == pytest.approx(want, rel=1e-12, abs=1e-12), path.name
        grey = bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())
        channels = [props[k] for k in _images.CHANNEL_PROPERTIES]
        if grey:
            assert np.isnan(channels).all(), path.name
        else:
            want_means = rgb.reshape(-1, 3).mean(axis=0) / 255
            np.testing.assert_allclose(channels, want_means, rtol=1e-12, err_msg=path.name)
        assert (props["width"], props["height"]) == (width, height)
        code = (rgb[..., 0] // 64) * 16 + (rgb[..., 1] // 64) * 4 + rgb[..., 2] // 64
        hist = np.bincount(code.ravel(), minlength=64) / code.size
        tiny = np.asarray(small.convert("L").resize((8, 8), Image.Resampling.BOX)) / 255
        np.testing.assert_array_equal(out[1], np.concatenate([hist, tiny.ravel()]))


def test_integer_moments_are_exact() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(-1020, 1021, (300, 257)).astype(np.int16)
    total, squares = _images._sums(x)
    exact = x.astype(np.int64)
    assert (total, squares) == (int(exact.sum()), int((exact * exact).sum()))
    mean, std = _images._mean_std(x.size, total, squares)
    assert mean == pytest.approx(float(exact.mean()), rel=1e-15)
    assert std == pytest.approx(float(exact.astype(np.float64).std()), rel=1e-12)
    assert _images._mean_std(12, *_images._sums(np.full((3, 4), 9, np.int16))) == (9.0, 0.0)


def test_a_palette_with_transparency_bytes_measures_its_colours_without_a_warning(
    tmp_path: Path,
) -> None:
    rng = np.random.default_rng(11)
    im = Image.fromarray(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)).convert("P")
    path = tmp_path / "see-through.png"
    im.save(path, transparency=bytes(range(0, 256, 16)))  # per-entry alpha: bytes when read
    with Image.open(path) as check:
        assert isinstance(check.info["transparency"], bytes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = _images._one(path)
    assert out is not None
    rgb = np.asarray(im.convert("RGB"), dtype=np.float64)
    means = [out[0][_images._PIXEL.index(k)] for k in _images.CHANNEL_PROPERTIES]
    np.testing.assert_allclose(means, rgb.reshape(-1, 3).mean(axis=0) / 255, rtol=1e-12)
