"""A failed `assay evaluate` writes nothing to the workspace (issue E, item 6), through the CLI:
a --json path in a missing folder, an unknown --parent, a full disk (exit 2, one line), media
outside the dataset's folder (refused unless --allow-media-outside-root)."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from typer.testing import CliRunner

from assay.cli.main import app
from assay.store import artifacts as artifacts_module


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ws = tmp_path / "ws"
    monkeypatch.setenv("ASSAY_HOME", str(ws))
    return ws


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path]:
    gt, pred = tmp_path / "gt.csv", tmp_path / "pred.csv"
    gt.write_text("id,label\na,cat\nb,dog\nc,dog\n")
    pred.write_text("id,cat,dog\na,0.9,0.1\nb,0.2,0.8\nc,0.6,0.4\n")
    return gt, pred


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _stored(home: Path) -> dict[str, Any]:
    """Every row count of the catalog and every file under the artifact folders."""
    if not (home / "catalog.sqlite").exists():
        return {}
    with sqlite3.connect(home / "catalog.sqlite") as conn:
        tables = ("datasets", "dataset_versions", "models", "model_versions", "evaluations")
        counts = {t: conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
    disk = sorted(
        p.relative_to(home).as_posix()
        for sub in ("evaluations", "datasets")
        for p in (home / sub).rglob("*")
    )
    return {"counts": counts, "disk": disk}


def _evaluate(files: tuple[Path, Path], *extra: str) -> tuple[int, str, str]:
    return run("evaluate", "--gt", str(files[0]), "--pred", str(files[1]), *extra)


def test_json_in_a_missing_folder_writes_nothing(
    home: Path, files: tuple[Path, Path], tmp_path: Path
) -> None:
    assert _evaluate(files)[0] == 0
    before = _stored(home)
    code, _, stderr = _evaluate(files, "--json", str(tmp_path / "missing" / "r.json"))
    assert code == 2 and "--json" in stderr
    assert _stored(home) == before


def test_unknown_parent_writes_nothing(home: Path, files: tuple[Path, Path]) -> None:
    code, _, stderr = _evaluate(files, "--parent", "999")
    assert code == 2
    assert stderr.strip().splitlines() == ["Error: model version 999 not found (--parent)"]
    stored = _stored(home)
    assert set(stored["counts"].values()) == {0} and stored["disk"] == []
    assert _evaluate(files)[0] == 0  # a later run starts at v1 as if nothing had happened
    parent = _stored(home)["counts"]["model_versions"]
    code, stdout, _ = _evaluate(files, "--parent", str(parent), "--model-name", "int8")
    assert code == 0, stdout


@pytest.mark.parametrize("where", ["artifacts", "catalog"])
def test_a_full_disk_is_one_line_and_writes_nothing(
    home: Path, files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    assert _evaluate(files)[0] == 0
    files[0].write_text("id,label\na,cat\nb,cat\nc,dog\n")  # new content: a new version
    before = _stored(home)
    if where == "artifacts":

        def full(*args: Any, **kwargs: Any) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        monkeypatch.setattr(artifacts_module, "write_arrays", full)
        reason = "no space left on device"
    else:
        from assay.store import catalog as catalog_module

        real_connect = catalog_module.Catalog.connection

        def small(self: Any) -> sqlite3.Connection:
            conn = real_connect(self)
            pages = conn.execute("PRAGMA page_count").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count = {pages}")
            return conn

        monkeypatch.setattr(catalog_module.Catalog, "connection", small)
        reason = "the catalog reports 'database or disk is full'"
    code, stdout, stderr = _evaluate(files, "--name", "x" * 300_000)
    assert code == 2, stdout
    assert stderr.strip().splitlines() == [
        f"Error: {home}: cannot write the workspace ({reason}); nothing was stored"
    ]
    monkeypatch.undo()
    assert _stored(home) == before


def test_media_outside_the_folder_needs_the_opt_in(
    home: Path, files: tuple[Path, Path], tmp_path: Path
) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside.png"
    Image.new("RGB", (4, 4)).save(outside)
    gt = files[0]
    gt.write_text(f"id,label,path\na,cat,{outside}\nb,dog,\nc,dog,\n")
    code, _, stderr = _evaluate(files)
    assert code == 2
    assert stderr.strip().splitlines() == [
        f"Error: {gt}: row 1, column 'path': media path is absolute, outside the dataset's folder"
        f" {gt.parent.resolve()} (pass --allow-media-outside-root to allow it)"
    ]
    stored = _stored(home)
    assert not stored or (set(stored["counts"].values()) == {0} and stored["disk"] == [])
    code, stdout, _ = _evaluate(files, "--allow-media-outside-root")
    assert code == 0, stdout


def test_a_report_that_cannot_be_written_takes_its_evaluation_back(
    home: Path, files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _evaluate(files)[0] == 0
    files[0].write_text("id,label\na,dog\nb,dog\nc,dog\n")
    before = _stored(home)
    out = tmp_path / "report.json"
    real_write = Path.write_bytes

    def full(self: Path, data: bytes) -> int:
        if self.name == "report.json.tmp":
            real_write(self, data[:10])
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    code, stdout, stderr = _evaluate(files, "--json", str(out))
    assert code == 2, stdout
    errors = [line for line in stderr.strip().splitlines() if line.startswith("Error")]
    assert errors == [f"Error: {out}: cannot write the report (No space left on device)"]
    assert _stored(home) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gt.csv", "pred.csv", "ws"]


def test_json_in_a_folder_without_write_permission_writes_nothing(
    home: Path, files: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # root may write anywhere: deny it here
        real_access = os.access

        def access(path: object, mode: int, **kwargs: object) -> bool:
            return False if Path(str(path)) == locked else real_access(path, mode, **kwargs)

        monkeypatch.setattr(os, "access", access)
    code, _, stderr = _evaluate(files, "--json", str(locked / "r.json"))
    assert code == 2 and "cannot write in" in stderr
    assert not _stored(home) or set(_stored(home)["counts"].values()) == {0}
