"""The command line's surface: --version, help without type placeholders for flags, one
``--json PATH`` form everywhere, ``show`` not claiming to store, headings that fit 80 columns."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from assay import __version__
from assay.cli.main import app

COMMANDS = (
    "evaluate", "list", "show", "delete", "serve", "export", "models", "compare", "leaderboard",
    "analyze",
)  # fmt: skip


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ws = tmp_path / "ws"
    monkeypatch.setenv("ASSAY_HOME", str(ws))
    return ws


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    """A plain score table with long class names, as a stranger's export would look."""
    rng = np.random.default_rng(11)
    classes = [
        "abbreviation and acronym",
        "description and abstract concept",
        "entity",
        "human being",
        "location",
        "numeric value",
    ]
    n = 120
    y = rng.integers(0, len(classes), n)
    logits = rng.normal(size=(n, len(classes))) + 1.5 * np.eye(len(classes))[y]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    gt = tmp_path / "gt.csv"
    gt.write_text("id,label\n" + "".join(f"q{i},{classes[k]}\n" for i, k in enumerate(y)))
    pred = tmp_path / "pred.csv"
    pred.write_text(
        "id,"
        + ",".join(classes)
        + "\n"
        + "".join(f"q{i}," + ",".join(f"{v:.6f}" for v in row) + "\n" for i, row in enumerate(p))
    )
    return gt, pred


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_version() -> None:
    code, stdout, _ = run("--version")
    assert code == 0
    assert stdout.strip() == f"assay {__version__}"


@pytest.mark.parametrize(
    "command", [(), *((c,) for c in COMMANDS), ("models", "add"), ("models", "list")]
)
def test_help_has_no_bool_placeholder(command: tuple[str, ...]) -> None:
    code, stdout, _ = run(*command, "--help", env={"COLUMNS": "100"})
    assert code == 0
    assert "--help" in stdout
    assert "<bool>" not in stdout
    if command == ("evaluate",):
        for option in ("--intervals", "--logits", "--json"):
            assert option in stdout
        assert re.search(r"--json\s+<path>", stdout)  # a path, not a flag
        for option in ("--model", "--batch", "--spec", "--labels", "--input-size", "--mean"):
            assert option in stdout


def test_flags_take_no_value(home: Path, files: tuple[Path, Path]) -> None:
    gt, pred = files
    code, _, stderr = run("evaluate", "--gt", str(gt), "--pred", str(pred), "--logits=yes")
    assert code == 2 and "does not take a value" in stderr


def test_json_is_a_path_everywhere(home: Path, files: tuple[Path, Path], tmp_path: Path) -> None:
    gt, pred = files
    code, stdout, _ = run("evaluate", "--gt", str(gt), "--pred", str(pred), "--json", "-")
    assert code == 0
    report = json.loads(stdout)  # stdout carries only the JSON
    eid = report["id"]

    listed = tmp_path / "list.json"
    code, stdout, _ = run("list", "--json", str(listed))
    assert code == 0 and str(eid) in stdout  # the table is still printed
    assert [r["id"] for r in json.loads(listed.read_text())] == [eid]
    code, stdout, _ = run("list", "--json", "-")
    assert [r["id"] for r in json.loads(stdout)] == [eid]

    shown = tmp_path / "show.json"
    code, stdout, _ = run("show", str(eid), "--json", str(shown))
    assert code == 0 and "Per class" in stdout
    assert json.loads(shown.read_text())["summary"] == report["summary"]
    code, stdout, _ = run("show", str(eid), "--json", "-")
    assert json.loads(stdout)["summary"] == report["summary"]

    code, _, stderr = run("list", "--json")  # the old flag form is a usage error now
    assert code == 2 and "--json" in stderr


def test_only_evaluate_says_stored(home: Path, files: tuple[Path, Path]) -> None:
    gt, pred = files
    code, stdout, _ = run("evaluate", "--gt", str(gt), "--pred", str(pred))
    assert code == 0
    match = re.search(r"Stored as evaluation (\d+)", stdout)
    assert match
    eid = match.group(1)
    for args in ((), ("--threshold", "0.3")):
        code, stdout, _ = run("show", eid, *args)
        assert code == 0 and "Per class" in stdout
        assert "Stored as" not in stdout and "stored as" not in stdout
        assert f"Evaluation {eid}" in stdout


def test_headings_break_between_phrases_at_80_columns(home: Path, files: tuple[Path, Path]) -> None:
    gt, pred = files
    code, stdout, _ = run("evaluate", "--gt", str(gt), "--pred", str(pred), env={"COLUMNS": "80"})
    assert code == 0
    lines = stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    # A heading that fits is one line; every heading phrase is whole on one line.
    assert any("Classification" in line and "argmax (no threshold)" in line for line in lines)
    for phrase in ("Per class", "argmax (no threshold)", "6 classes"):
        assert any(phrase in line for line in lines), phrase
    assert not any(line.rstrip().endswith(("Per", "threshold", "·")) for line in lines)


def test_say_breaks_only_between_phrases() -> None:
    import io

    from rich.console import Console

    from assay.cli.report import say

    out = Console(file=io.StringIO(), width=36)
    phrases = ["Detection", "12 images", "3 classes", "IoU 0.5, score ≥ 0.2"]
    say(phrases, console=out)
    lines = out.file.getvalue().splitlines()  # type: ignore[attr-defined]
    assert len(lines) == 2
    assert all(len(line) <= 36 for line in lines)
    for phrase in phrases:
        assert sum(phrase in line for line in lines) == 1


def test_say_keeps_the_separator_on_the_line_it_ends() -> None:
    import io

    from rich.console import Console

    from assay.cli.report import say

    out = Console(file=io.StringIO(), width=11)
    say(["aaaa", "bbbb", "cc"], console=out)
    assert out.file.getvalue().splitlines() == ["aaaa ·", "  bbbb · cc"]  # type: ignore[attr-defined]


def test_a_bad_json_path_stops_before_anything_is_stored(
    home: Path, files: tuple[Path, Path], tmp_path: Path
) -> None:
    gt, pred = files
    for bad in (tmp_path / "missing" / "r.json", tmp_path):
        code, _, stderr = run("evaluate", "--gt", str(gt), "--pred", str(pred), "--json", str(bad))
        assert code == 2 and "--json" in stderr
    assert json.loads(run("list", "--json", "-")[1]) == []
