"""Grayscale images have no redness, greenness or blueness: None for each (NaN in the table,
None in JSON), and a set of grayscale images does not list them at all."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assay.evaluation.quality import image_properties
from assay.evaluation.quality._common import fnum

CHANNELS = ("redness", "greenness", "blueness")


def _gray(path: Path, seed: int, mode: str = "L") -> Path:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (32, 48), dtype=np.uint8)
    im = Image.fromarray(pixels, "L")
    (im if mode == "L" else im.convert(mode)).save(path)
    return path


def _colour(path: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (32, 48, 3), dtype=np.uint8), "RGB").save(path)
    return path


def test_a_grayscale_set_has_no_channel_properties(tmp_path: Path) -> None:
    # one band (L), and grey pixels stored as RGB and as a palette image
    paths = [
        _gray(tmp_path / "l.png", 1),
        _gray(tmp_path / "rgb.png", 2, "RGB"),
        _gray(tmp_path / "p.png", 3, "P"),
        _gray(tmp_path / "la.png", 4, "LA"),
    ]
    t = image_properties(paths, workers=1)
    for name in CHANNELS:
        assert name not in t.values and name not in t.descriptions
    assert any("grayscale" in note for note in t.notes)
    # the rest is measured as before
    assert np.isfinite(t.values["brightness"]).all()
    assert t.values["colourfulness"] == pytest.approx(np.zeros(4), abs=1e-6)


def test_mixed_set_gives_grayscale_images_none(tmp_path: Path) -> None:
    paths = [_colour(tmp_path / "c.png", 5), _gray(tmp_path / "g.png", 6), None]
    t = image_properties(paths, workers=1)
    for name in CHANNELS:
        v = t.values[name]
        assert np.isfinite(v[0])
        assert np.isnan(v[1]) and fnum(v[1]) is None  # the API's JSON says None
        assert np.isnan(v[2])  # no file
        assert "grayscale" in t.descriptions[name]
    assert any("1 of 2 images are grayscale" in note for note in t.notes)
