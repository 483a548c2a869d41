"""image_properties in processes loads the next stage's imports meanwhile; a module that cannot
be imported there changes nothing (the real import reports it where it is used)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assay.evaluation.quality import _images, image_properties


@pytest.mark.skipif(sys.platform == "win32", reason="forked processes only")
def test_a_failing_preload_leaves_the_properties_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = np.random.default_rng(0)
    paths = []
    for i in range(4):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(paths[-1])
    threads = image_properties(paths, workers=2, processes=False)
    monkeypatch.setattr(_images, "PRELOAD", ("assay_no_such_module", "sklearn.neighbors"))
    procs = image_properties(paths, workers=2, processes=True)
    assert threads.values.keys() == procs.values.keys()
    for name, v in threads.values.items():
        np.testing.assert_array_equal(v, procs.values[name], err_msg=name)
    assert "sklearn.neighbors" in sys.modules
