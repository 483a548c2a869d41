"""Datasets without labels through the command line: `assay datasets add --unlabeled` (and a
flat image folder detected as unlabeled), `assay evaluate --model M --gt` on it storing a
prediction run (no metrics), `assay compare A B --no-labels` on two of them, and the one-line
refusals (exit 2) of what needs labels."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from assay.cli.main import app
from assay.store import Workspace
from tests.service.int8_models import make_classifier, write_folder


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("unlabeled-cli")
    ws = root / "ws"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASSAY_HOME", str(ws))
        a = make_classifier(root / "train", root / "a.onnx", seed=0)
        b = make_classifier(root / "train2", root / "b.onnx", seed=1)
        assert run("models", "add", str(a), "--name", "a")[0] == 0
        assert run("models", "add", str(b), "--name", "b")[0] == 0
        write_folder(root / "labeled", 8, seed=3)
        flat = root / "flat"
        flat.mkdir()
        for p in sorted((root / "labeled").glob("*/*.png")):
            shutil.copy(p, flat / p.name)
        yield {"ws": ws, "root": root}


def test_add_evaluate_and_compare_without_labels(
    home: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSAY_HOME", str(home["ws"]))
    root = home["root"]
    code, out, err = run("datasets", "add", str(root / "flat"))
    assert code == 0, err
    assert "unlabeled · 24 samples" in out
    code, out, err = run("evaluate", "--model", "a", "--gt", str(root / "flat"))
    assert code == 0, err
    assert "Stored as prediction run 1" in out and "no metrics" in out
    code, out, err = run(
        "evaluate", "--model", "b", "--gt", "dataset:1", "--json", str(root / "b.json")
    )
    assert code == 0, err
    doc = json.loads((root / "b.json").read_text())
    assert doc == {
        "id": 2, "predictions_only": True, "dataset_version": 1, "model_version": 2,
        "n_samples": 24,
    }  # fmt: skip
    code, out, err = run("compare", "1", "2", "--no-labels")
    assert code == 0, err
    assert "24 samples matched by id" in out and "top-1 agreement" in out
    # the same model on the same version again: the stored run, not a second one
    code, out, err = run("evaluate", "--model", "a", "--gt", "dataset:1")
    assert code == 0, err
    assert "Already stored as prediction run 1" in out and "--force" in out
    code, out, err = run("list")
    assert code == 0 and out.count("predictions only") == 2, err
    code, out, err = run("datasets", "list")
    assert code == 0 and "no labels" in out, err
    ws = Workspace(home["ws"])
    assert [e.status for e in ws.list_evaluations()] == ["predictions", "predictions"]
    ws.close()


def test_what_needs_labels_is_one_line(home: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_HOME", str(home["ws"]))
    root = home["root"]
    assert run("datasets", "add", str(root / "labeled"), "--name", "lab")[0] == 0
    code, _, err = run("evaluate", "--model", "a", "--gt", str(root / "flat"), "--threshold", "0.5")
    assert code == 2 and "--threshold needs labels" in err
    code, _, err = run("evaluate", "--model", "a", "--gt", "dataset:99")
    assert code == 2 and "not found" in err
    top = Workspace(home["ws"]).catalog.query_one("SELECT MAX(id) FROM dataset_versions")
    labeled_id = int(top[0]) if top else 0
    code, _, err = run("evaluate", "--model", "a", "--gt", f"dataset:{labeled_id}")
    assert code == 2 and "has labels" in err
    code, _, err = run("compare", "1", "2")
    assert code == 2 and "no labels, so no metrics" in err and "Traceback" not in err
    code, _, err = run("show", "1")
    assert code == 2 and "no labels" in err
