"""`assay analyze EVAL`: the printed analysis, --json, and one-line refusals with exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from assay.evaluation.classification import ClassificationResults
from assay.store import Workspace

N = 120


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int, int]:
    """(workspace, evaluation id, dataset version id): errors planted in dark images, image 1 a
    copy of image 0, three labels flipped."""
    root = tmp_path_factory.mktemp("analyze")
    media = root / "media"
    media.mkdir()
    rng = np.random.default_rng(0)
    level = rng.uniform(0.1, 1.0, N)
    for i in range(N):
        small = rng.integers(0, 256, size=(6, 8)).astype(np.float64) * level[i]
        grey = Image.fromarray(small.astype(np.uint8)).resize((64, 48), Image.BILINEAR)
        grey.convert("RGB").save(media / f"{i:03d}.png")
    Image.open(media / "000.png").save(media / "001.png")
    y = rng.integers(0, 3, N)
    wrong = (level < 0.3) & (rng.random(N) < 0.8)
    pred = np.where(wrong, (y + 1) % 3, y)
    scores = np.full((N, 3), 0.03)
    scores[np.arange(N), pred] = 0.94
    given = y.copy()
    flipped = np.flatnonzero(~wrong)[:3]
    given[flipped] = (y[flipped] + 1) % 3
    ws = Workspace(root / "home")
    dv = ws.add_dataset_version(
        "pics",
        task="classification",
        samples=pa.table(
            {
                "id": [f"s{i}" for i in range(N)],
                "path": [str(media / f"{i:03d}.png") for i in range(N)],
            }
        ),  # fmt: skip
        media_root=media,
    )
    rec = ws.save_evaluation(ClassificationResults(given, scores, ["x", "y", "z"]), name="m",
                             dataset_version_id=dv.id, params={"threshold": 0.5})  # fmt: skip
    ws.close()
    return root / "home", rec.id, dv.id


def _assay(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSAY_HOME": str(home), "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True, env=env
    )


def test_analyze_prints_importance_duplicates_and_label_errors(home: tuple[Path, int, int]) -> None:
    path, eid, _ = home
    out = _assay(path, "analyze", str(eid), "--bins", "4")
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "What goes with errors" in text and "brightness" in text
    assert "Performance by" in text
    assert "Near-duplicate groups (images): 1" in text and "s0, s1" in text
    assert "Likely label errors" in text
    # the table's first row is a property carrying the planted effect (dark images also look
    # alike in the uniqueness descriptor, so it carries the effect too)
    first = text.split("What goes with errors")[1].splitlines()[2].split()[0]
    assert first in {"brightness", "contrast", "sharpness", "redness", "greenness", "blueness",
                     "uniqueness"}  # fmt: skip
    assert "area" in text and "—" in text  # constant properties: no importance


def test_analyze_json(home: tuple[Path, int, int], tmp_path: Path) -> None:
    path, eid, _ = home
    out = _assay(path, "analyze", str(eid), "--json", "-", "--bins", "3")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["evaluation_id"] == eid and data["task"] == "classification"
    assert {"properties", "importance", "duplicates", "label_issues", "timing_s"} <= set(data)
    assert len(data["top_property_bins"]["bins"]) == 3
    assert data["duplicates"]["groups"][0]["ids"] == ["s0", "s1"]
    assert {"s0", "s1", "s2"} & {r["id"] for r in data["label_issues"]}
    target = tmp_path / "analysis.json"
    out = _assay(path, "analyze", str(eid), "--json", str(target))
    assert out.returncode == 0 and json.loads(target.read_text())["n_samples"] == N
    assert "What goes with errors" in out.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("analyze", "999"), "evaluation 999 not found"),
        (("analyze", "{eid}", "--train", "{dv}"), "evaluated set itself"),
        (("analyze", "{eid}", "--train", "77"), "dataset version 77 not found"),
        (("analyze", "{eid}", "--bins", "0"), "--bins"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    home: tuple[Path, int, int], args: tuple[str, ...], message: str
) -> None:
    path, eid, dv = home
    out = _assay(path, *(a.format(eid=eid, dv=dv) for a in args))
    assert out.returncode == 2
    assert message in out.stderr
    if "--bins" not in args:
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_the_bar_follows_the_properties_then_the_ranking() -> None:
    from assay.cli.analyze import _PropertiesProgress

    bar = _PropertiesProgress()
    with bar:
        for done in range(0, 11, 5):
            bar(done, 10)
        task = bar._bar.tasks[0]
        assert task.description == "Computing sample properties" and task.completed == 10
        bar(0, 7)
        bar(3, 7)
        task = bar._bar.tasks[0]
        assert task.description == "Ranking the properties"
        assert (task.completed, task.total) == (3, 7)
