"""`assay leaderboard` prints each model's rank interval, its difference from the best of the
others with its simultaneous interval, what "significantly worse" means (the procedure) and the
winner's interval that accounts for its selection; --json carries the same fields."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

CLASSES = ["ant", "bee", "cat"]


def _write(path: Path, y: np.ndarray, strength: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(y), 3))
    logits[np.arange(len(y)), y] += strength
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", *CLASSES])
        w.writerows([f"s{i}", *(f"{v:.6f}" for v in row)] for i, row in enumerate(p))


def _assay(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSAY_HOME": str(home), "COLUMNS": "160"}
    return subprocess.run([sys.executable, "-m", "assay.cli", *args], capture_output=True,
                          text=True, env=env)  # fmt: skip


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("leaderboard")
    y = np.random.default_rng(0).integers(0, 3, 800)
    with (root / "gt.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "label"])
        w.writerows([f"s{i}", CLASSES[k]] for i, k in enumerate(y))
    home = root / "home"
    for name, strength, seed in (("weak", 0.6, 1), ("strong", 2.0, 2), ("twin", 2.0, 3)):
        _write(root / f"{name}.csv", y, strength, seed)
        out = _assay(home, "evaluate", "--gt", str(root / "gt.csv"), "--pred",
                     str(root / f"{name}.csv"))  # fmt: skip
        assert out.returncode == 0, out.stderr
    return home


def test_the_table_shows_rank_intervals_and_what_worse_means(home: Path) -> None:
    out = _assay(home, "leaderboard", "1", "--resamples", "400")
    assert out.returncode == 0, out.stderr
    text = " ".join(out.stdout.split())
    assert "ranks" in text and "vs best [95% sim.]" in text and "p (sim.)" in text
    assert "1–2" in text and "1 of 2 significantly worse than the best" in text
    assert "max-T bootstrap over all pairs (simultaneous, 95 %), ±" in text
    assert '"worse" = the interval of (its value - the best of the others) lies below 0' in text
    assert "interval accounting for its selection (simultaneous over the 3 models)" in text
    board = json.loads(_assay(home, "leaderboard", "1", "--resamples", "400", "--json", "-").stdout)
    weak = next(r for r in board["rows"] if r["name"].startswith("weak"))
    assert weak["significant"] and (weak["rank_low"], weak["rank_high"]) == (3, 3)
    assert f"{weak['delta']:+.4f} [{weak['delta_low']:+.4f}, {weak['delta_high']:+.4f}]" in text
    assert board["procedure"].startswith("max-T") and board["critical_value"] > 1.96
