"""`assay analyze EVAL --slices`: the planted slice printed first, --json, the options and their
one-line refusals (exit code 2)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.service.test_slices_service import planted_workspace


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    path = tmp_path_factory.mktemp("slices-cli") / "home"
    ws, eid, _ = planted_workspace(path, n=2000)
    ws.close()
    return path, eid


def _assay(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASSAY_HOME": str(home), "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "assay.cli", *args], capture_output=True, text=True, env=env
    )


def test_slices_printed(home: tuple[Path, int]) -> None:
    path, eid = home
    out = _assay(path, "analyze", str(eid), "--slices")
    assert out.returncode == 0, out.stderr
    assert "slices tried (at least 30 samples, up to 3 conditions" in out.stdout
    first = out.stdout.split("Weakest slices")[1].splitlines()[2]
    assert "source == b" in first and "brightness <" in first and "significant" in first


def test_slices_json_and_options(home: tuple[Path, int]) -> None:
    path, eid = home
    out = _assay(path, "analyze", str(eid), "--slices", "--json", "-", "--min-size", "300",
                 "--max-conditions", "1")  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["min_size"] == 300 and data["max_conditions"] == 1
    assert all(len(s["conditions"]) == 1 and s["n"] >= 300 for s in data["slices"])


@pytest.mark.parametrize(
    "args, words",
    [
        (["--min-size", "-1"], "--min-size"),
        (["--min-size", "1000000000"], "min_size"),
        (["--max-conditions", "4"], "--max-conditions"),
    ],
)
def test_slices_refusals(home: tuple[Path, int], args: list[str], words: str) -> None:
    path, eid = home
    out = _assay(path, "analyze", str(eid), "--slices", *args)
    assert out.returncode == 2
    assert words in out.stderr and "Traceback" not in out.stderr
