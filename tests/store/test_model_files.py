"""A registered model's stored copy: whole (an ONNX model's external data included), private (folders
0700, files 0600) in a workspace created 0700; and nothing is registered, read or copied from
outside the model's folder (a spec's labels file, sibling labels, a folder's links)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pytest

from assay.errors import InputError
from assay.store import Workspace
from tests.runners.models import reference_probs
from tests.runners.test_model_files import external_model, model_in
from tests.store.fakes import fake_loader

SECRET = "s3cret-token-1234"


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "home", loader=fake_loader)


@pytest.fixture()
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "secret.txt"
    path.parent.mkdir()
    path.write_text(f"root\n{SECRET}\nother\nmore\n")  # four names: it would fit a 4-class model
    return path


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _nothing_stored(ws: Workspace) -> None:
    assert ws.catalog.query_one("SELECT COUNT(*) FROM model_versions") == (0,)
    assert [p for p in ws.models_dir.rglob("*") if p.is_file()] == []


def test_the_workspace_is_created_private(tmp_path: Path) -> None:
    home = tmp_path / "new" / "home"
    Workspace(home, loader=fake_loader)
    assert _mode(home) == 0o700
    for sub in ("evaluations", "datasets", "thumbnails", "models"):
        assert _mode(home / sub) == 0o700, sub


def test_an_onnx_model_with_external_weights_is_stored_whole_and_runs(
    ws: Workspace, tmp_path: Path
) -> None:
    path, w, b = external_model(tmp_path / "src", location="weights/lin.data")
    (tmp_path / "src" / "labels.txt").write_text("a\nb\nc\nd\n")
    mv = ws.add_model(path, name="ext")
    folder = ws.home / str(mv.artifact)
    stored = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert stored == [".lock", "model/lin.onnx", "model/weights/lin.data"]
    for p in tmp_path.joinpath("src").rglob("*"):  # the copy runs without the original
        p.unlink() if p.is_file() else None
    runner = ws.load_model_runner(mv.id)
    assert runner.describe().classes == ("a", "b", "c", "d")
    x = np.random.default_rng(3).uniform(size=(2, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(runner.predict(x), reference_probs(x, w, b), rtol=1e-5)


def test_external_data_linked_inside_the_folder_is_stored_by_its_location(
    ws: Workspace, tmp_path: Path
) -> None:
    path, w, b = external_model(tmp_path / "src", location="lin.data")
    (tmp_path / "src" / "blobs").mkdir()
    (tmp_path / "src" / "lin.data").rename(tmp_path / "src" / "blobs" / "sha")
    (tmp_path / "src" / "lin.data").symlink_to(tmp_path / "src" / "blobs" / "sha")
    mv = ws.add_model(path, name="ext", overrides={"classes": ["a", "b", "c", "d"]})
    folder = ws.home / str(mv.artifact)
    assert (folder / "model" / "lin.data").is_file()
    assert not (folder / "model" / "lin.data").is_symlink()
    x = np.random.default_rng(4).uniform(size=(2, 3, 8, 8)).astype(np.float32)
    got = ws.load_model_runner(mv.id).predict(x)
    np.testing.assert_allclose(got, reference_probs(x, w, b), rtol=1e-5)


def test_a_stored_copy_is_private(ws: Workspace, tmp_path: Path) -> None:
    path, _, _ = external_model(tmp_path / "src", location="weights/lin.data")
    (tmp_path / "names.txt").write_text("a\nb\nc\nd\n")
    os.chmod(path, 0o644)
    mv = ws.add_model(path, name="ext", overrides={"labels_file": str(tmp_path / "names.txt")})
    folder = ws.home / str(mv.artifact)
    assert _mode(folder) == 0o700
    entries = [p for p in folder.rglob("*") if p.name != ".lock"]
    assert {p.relative_to(folder).as_posix() for p in entries} == {
        "model",
        "model/lin.onnx",
        "model/weights",
        "model/weights/lin.data",
        "labels",
        "labels/names.txt",
    }
    for p in entries:
        assert _mode(p) == (0o700 if p.is_dir() else 0o600), p


def test_a_spec_naming_a_file_outside_registers_nothing(
    ws: Workspace, tmp_path: Path, secret: Path
) -> None:
    path = model_in(tmp_path / "m")
    spec = tmp_path / "m" / "lin.preprocess.json"
    for value in (str(secret), "../outside/secret.txt", "/etc/passwd"):
        spec.write_text(json.dumps({"labels_file": value}))
        with pytest.raises(InputError) as err:
            ws.add_model(path, name="lin")
        message = str(err.value)
        assert "field 'labels_file'" in message and str(spec) in message, message
        assert SECRET not in message and "root:" not in message and "\n" not in message
        _nothing_stored(ws)


def test_sibling_labels_linking_outside_register_nothing(
    ws: Workspace, tmp_path: Path, secret: Path
) -> None:
    path = model_in(tmp_path / "m")
    (tmp_path / "m" / "labels.txt").symlink_to(secret)
    with pytest.raises(InputError, match=r"labels file 'labels.txt': lies outside") as err:
        ws.add_model(path, name="lin")
    assert SECRET not in str(err.value)
    _nothing_stored(ws)


def test_a_folder_linking_outside_registers_nothing(
    ws: Workspace, tmp_path: Path, secret: Path
) -> None:
    folder = tmp_path / "clf"
    (folder / "sub").mkdir(parents=True)
    (folder / "config.json").write_text("{}")
    (folder / "sub" / "certs").symlink_to(secret.parent, target_is_directory=True)
    with pytest.raises(InputError, match=r"file 'sub/certs': lies outside"):
        ws.add_model(folder, name="clf")
    _nothing_stored(ws)


def test_external_data_outside_registers_nothing(
    ws: Workspace, tmp_path: Path, secret: Path
) -> None:
    path, _, _ = external_model(tmp_path / "m")
    (tmp_path / "m" / "lin.data").unlink()
    (tmp_path / "m" / "lin.data").symlink_to(secret)
    with pytest.raises(InputError, match=r"external data location 'lin.data': lies outside"):
        ws.add_model(path, name="lin")
    _nothing_stored(ws)
