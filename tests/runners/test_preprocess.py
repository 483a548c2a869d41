"""Each transform against a numpy reference."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from assay.errors import InputError
from assay.runners import (
    Geometry,
    PreprocessSpec,
    decode_image,
    load_batch,
    normalize,
    preprocess_image,
    resize_image,
)


def blocks(h: int, w: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """An image of k x k constant blocks and the (h, w) grid of block values."""
    rng = np.random.default_rng(seed)
    grid = rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)
    return np.repeat(np.repeat(grid, k, axis=0), k, axis=1), grid


def test_stretch_resize_nearest_matches_block_reference():
    big, grid = blocks(6, 10, 4)  # 24 x 40 image of 4x4 blocks
    spec = PreprocessSpec(size=(6, 10), interpolation="nearest", layout="NHWC")
    out, geo = resize_image(Image.fromarray(big), spec)
    assert np.array_equal(np.asarray(out), grid)
    assert geo == Geometry(40, 24, 0.25, 0.25, 0.0, 0.0)


def test_shorter_side_and_center_crop():
    big, grid = blocks(8, 12, 2)  # 16 x 24 -> shorter side 8 -> 8 x 12 -> centre crop 6 x 6
    spec = PreprocessSpec(size=(6, 6), resize=8, resize_mode="shorter", interpolation="nearest")
    out, geo = resize_image(Image.fromarray(big), spec)
    assert np.array_equal(np.asarray(out), grid[1:7, 3:9])
    assert (geo.scale_x, geo.scale_y, geo.offset_x, geo.offset_y) == (0.5, 0.5, -3.0, -1.0)
    # a point of the crop maps back to the original image
    back = geo.to_original(np.array([[0.0, 0.0, 6.0, 6.0]]))
    assert back.tolist() == [[6.0, 2.0, 18.0, 14.0]]


def test_stretch_then_crop():
    big, grid = blocks(6, 6, 2)
    spec = PreprocessSpec(size=(4, 4), resize=(6, 6), crop=(4, 4), interpolation="nearest")
    out, _ = resize_image(Image.fromarray(big), spec)
    assert np.array_equal(np.asarray(out), grid[1:5, 1:5])


def test_letterbox_pads_and_maps_back():
    img = np.full((10, 20, 3), 200, np.uint8)  # w 20, h 10 -> fits 8 x 8 as 8 x 4, padded
    spec = PreprocessSpec(size=(8, 8), resize_mode="letterbox", pad_value=114)
    out, geo = resize_image(Image.fromarray(img), spec)
    arr = np.asarray(out)
    assert arr.shape == (8, 8, 3)
    assert (arr[:2] == 114).all() and (arr[6:] == 114).all() and (arr[2:6] == 200).all()
    assert geo.offset_y == 2.0 and geo.scale_x == pytest.approx(0.4)
    assert geo.to_original(np.array([[0.0, 2.0, 8.0, 6.0]])).tolist() == [[0.0, 0.0, 20.0, 10.0]]


@pytest.mark.parametrize("layout", ["NCHW", "NHWC"])
@pytest.mark.parametrize("channels", ["RGB", "BGR"])
def test_normalize_matches_numpy(layout, channels):
    rng = np.random.default_rng(1)
    px = rng.integers(0, 256, size=(5, 7, 3), dtype=np.uint8)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    spec = PreprocessSpec(mean=mean, std=std, channels=channels, layout=layout, dtype="float32")
    ref = px[:, :, ::-1] if channels == "BGR" else px
    ref = (ref.astype(np.float64) / 255.0 - np.array(mean)) / np.array(std)
    if layout == "NCHW":
        ref = ref.transpose(2, 0, 1)
    out = normalize(px, spec)
    assert out.dtype == np.float32 and out.flags.c_contiguous
    np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)


def test_raw_uint8_and_float16_and_grey():
    px = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    raw = normalize(px, PreprocessSpec(dtype="uint8", scale=1.0, layout="NHWC"))
    assert raw.dtype == np.uint8 and np.array_equal(raw, px)
    half = normalize(px, PreprocessSpec(dtype="float16", layout="NCHW"))
    assert half.dtype == np.float16 and half.shape == (3, 2, 3)
    grey = Image.fromarray(np.full((4, 4), 51, np.uint8), mode="L")
    x, _ = preprocess_image(grey, PreprocessSpec(channels="L", size=(2, 2), layout="NCHW"))
    assert x.shape == (1, 2, 2) and np.allclose(x, 0.2)


def test_decode_and_batch(tmp_path):
    big, grid = blocks(3, 5, 2)
    Image.fromarray(big).save(tmp_path / "a.png")
    Image.fromarray(big[:, ::-1]).save(tmp_path / "b.png")
    spec = PreprocessSpec(size=(3, 5), interpolation="nearest", layout="NCHW", dtype="float32")
    batch, geos = load_batch([tmp_path / "a.png", tmp_path / "b.png"], spec)
    assert batch.shape == (2, 3, 3, 5)
    np.testing.assert_allclose(batch[0], grid.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    np.testing.assert_allclose(batch[1], grid[:, ::-1].transpose(2, 0, 1) / 255.0, rtol=1e-6)
    assert [g.width for g in geos] == [10, 10]


def test_undecodable_image_names_the_file(tmp_path):
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff not really a jpeg")
    with pytest.raises(InputError, match=r"broken.jpg: cannot decode the image") as err:
        decode_image(bad)
    assert "\n" not in str(err.value)


def test_different_sizes_without_a_size_are_refused(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "a.png")
    Image.new("RGB", (5, 4)).save(tmp_path / "b.png")
    with pytest.raises(InputError, match="different sizes"):
        load_batch([tmp_path / "a.png", tmp_path / "b.png"], PreprocessSpec())


@pytest.mark.parametrize(
    ("layout", "channels", "dtype", "mean", "std", "mode"),
    [
        ("NCHW", "RGB", "float32", (0.0,), (1.0,), "stretch"),
        ("NHWC", "BGR", "float16", (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), "letterbox"),
        ("NCHW", "L", "float64", (0.5,), (0.25,), "shorter"),
        ("NHWC", "RGB", "uint8", (0.0,), (1.0,), "stretch"),
    ],
)
def test_a_batch_is_its_samples_bit_for_bit(tmp_path, layout, channels, dtype, mean, std, mode):
    """load_batch normalizes the whole batch at once: the same bits as each image resized on
    its own and put through the per-sample steps written out here (flip, transpose, scale,
    mean, std, each in the spec's dtype)."""
    rng = np.random.default_rng(3)
    paths = []
    for i in range(5):
        p = tmp_path / f"{i}.{'png' if i % 2 else 'jpg'}"
        Image.fromarray(rng.integers(0, 256, (30 + i, 41 - i, 3), dtype=np.uint8)).save(p)
        paths.append(p)
    spec = PreprocessSpec(
        size=(12, 16), layout=layout, channels=channels, dtype=dtype, mean=mean, std=std,
        resize_mode=mode, scale=1.0 if dtype == "uint8" else 1 / 255,
    )  # fmt: skip
    batch, geos = load_batch(paths, spec)
    assert batch.dtype == np.dtype(dtype) and len(batch) == 5
    for i, p in enumerate(paths):
        resized, geo = resize_image(decode_image(p, channels), spec)
        px = np.asarray(resized)
        px = px[:, :, None] if px.ndim == 2 else px[:, :, ::-1] if channels == "BGR" else px
        px = px.transpose(2, 0, 1) if layout == "NCHW" else px
        ref = px.astype(dtype) if dtype == "uint8" else (px * np.float32(spec.scale)).astype(dtype)
        shape = (-1, 1, 1) if layout == "NCHW" else (1, 1, -1)
        if dtype != "uint8" and any(mean):
            ref -= np.asarray(mean, np.float32).reshape(shape).astype(dtype)
        if dtype != "uint8" and any(v != 1 for v in std):
            ref /= np.asarray(std, np.float32).reshape(shape).astype(dtype)
        assert batch[i].shape == ref.shape and batch[i].tobytes() == ref.tobytes()
        assert geos[i] == geo
