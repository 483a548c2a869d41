"""`assay models add` of a folder with no model, or of a model that brings a file from outside its
folder: exit 2 with one line, nothing registered."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assay.cli.main import app
from tests.runners.test_model_files import model_in


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ws = tmp_path / "ws"
    monkeypatch.setenv("ASSAY_HOME", str(ws))
    return ws


def _add(path: Path) -> tuple[int, list[str]]:
    result = CliRunner().invoke(app, ["models", "add", str(path), "--name", "m"])
    return result.exit_code, result.stderr.strip().splitlines()


def _registered(home: Path) -> list[Path]:
    return [p for p in (home / "models").rglob("*") if p.is_file()] if home.exists() else []


def test_a_folder_with_no_model_exits_2(home: Path, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    code, lines = _add(tmp_path / "empty")
    assert code == 2 and len(lines) == 1 and "a model folder needs" in lines[0], lines
    assert _registered(home) == []


def test_a_labels_link_outside_exits_2(home: Path, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("a\nb\nc\ns3cret\n")
    model = model_in(tmp_path / "m")
    (tmp_path / "m" / "labels.txt").symlink_to(secret)
    code, lines = _add(model)
    assert code == 2 and len(lines) == 1, lines
    assert "labels file 'labels.txt': lies outside" in lines[0] and "s3cret" not in lines[0]
    assert _registered(home) == []
