"""`assay report EVAL [--compare B]` and `assay compare --md`: the files they write, and the
one-line refusals that write nothing."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from assay.cli.main import app

CLASSES = ["ant", "bee", "cat"]


def _write(path: Path, y: np.ndarray, strength: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(y), len(CLASSES)))
    logits[np.arange(len(y)), y] += strength
    p = np.exp(logits)
    p /= p.sum(axis=1, keepdims=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", *CLASSES])
        w.writerows([f"s{i}", *(f"{v:.6f}" for v in row)] for i, row in enumerate(p))


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("report")
    y = np.random.default_rng(0).integers(0, 3, 400)
    with (root / "gt.csv").open("w", newline="") as f:
        csv.writer(f).writerows(
            [["id", "label"], *([f"s{i}", CLASSES[k]] for i, k in enumerate(y))]
        )
    _write(root / "strong.csv", y, 2.0, 1)
    _write(root / "weak.csv", y, 0.5, 2)
    mp = pytest.MonkeyPatch()
    mp.setenv("ASSAY_HOME", str(root / "home"))
    for pred in ("strong.csv", "weak.csv"):
        out = CliRunner().invoke(
            app, ["evaluate", "--gt", str(root / "gt.csv"), "--pred", str(root / pred)]
        )
        assert out.exit_code == 0, out.output
    yield root
    mp.undo()


def _run(root: Path, *args: str):  # type: ignore[no-untyped-def]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASSAY_HOME", str(root / "home"))
        return CliRunner().invoke(app, list(args))


def test_report_writes_one_html_file_with_the_stored_numbers(root: Path) -> None:
    out_file = root / "r.html"
    res = _run(root, "report", "1", "-o", str(out_file), "--no-intervals")
    assert res.exit_code == 0, res.output
    html = out_file.read_text()
    data = json.loads(re.search(r'id="assay-data">(.*?)</script>', html, re.S).group(1))
    shown = _run(root, "show", "1", "--json", "-")
    assert data["report"]["summary"] == json.loads(shown.stdout)["summary"]
    assert data["report"]["intervals"] is None


def test_report_compare_in_markdown_on_stdout(root: Path) -> None:
    res = _run(root, "report", "1", "--compare", "2", "--format", "md")
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("### Assay · ")
    assert "B is worse on accuracy" in res.stdout and "| accuracy |" in res.stdout


def test_report_compare_html_has_the_confusion_difference(root: Path) -> None:
    out_file = root / "c.html"
    res = _run(root, "report", "1", "--compare", "2", "-o", str(out_file), "--no-intervals")
    assert res.exit_code == 0, res.output
    html = out_file.read_text()
    assert "Confusion difference (B − A)" in html and "Verdicts" in html


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["report", "9"], "9"),
        (["report", "1", "--compare", "1", "-o", "{root}/x.html"], "same evaluation"),
        (["report", "1", "--samples", "99", "-o", "{root}/x.html"], "--samples"),
        (["report", "1", "-o", "{root}/nofolder/x.html"], "does not exist"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(
    root: Path, args: list[str], message: str
) -> None:
    before = sorted(p.name for p in root.iterdir())
    res = _run(root, *(a.format(root=root) for a in args))
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert sorted(p.name for p in root.iterdir()) == before


def test_the_gate_writes_its_markdown_summary_when_it_fails(root: Path) -> None:
    md = root / "gate.md"
    res = _run(root, "compare", "1", "2", "--fail-if-worse", "accuracy", "--md", str(md))
    assert res.exit_code == 1
    text = md.read_text()
    assert "**Gate failed**" in text and "B is worse on accuracy" in text
    res = _run(root, "compare", "2", "1", "--fail-if-worse", "accuracy", "--md", str(md))
    assert res.exit_code == 0
    assert "**Gate passed**" in md.read_text()
