"""The per-sample ranking influences a comparison keeps beside an evaluation."""

from __future__ import annotations

import errno
import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from assay.evaluation.classification import ClassificationResults
from assay.store import Workspace, comparisons
from assay.store.artifacts import TMP_PREFIX, remove_tree
from assay.store.comparisons import INFLUENCE_DIR, read_influence, write_influence


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Workspace, int]:
    ws = Workspace(tmp_path / "home")
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 40)
    s = rng.dirichlet(np.ones(3), 40)
    ids = [f"s{i}" for i in range(40)]
    dv = ws.add_dataset_version("d", task="classification", samples=pa.table({"id": ids}))
    r = ClassificationResults(y, s, classes=["a", "b", "c"], sample_ids=np.array(ids))
    return ws, ws.save_evaluation(r, name="A", dataset_version_id=dv.id).id


def _infl(n: int, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: rng.normal(size=n) for k in ("roc_auc_macro", "average_precision_macro", "log_loss")}


def test_round_trip_and_deleted_with_the_evaluation(stored: tuple[Workspace, int]) -> None:
    ws, eid = stored
    assert read_influence(ws, eid, (40, 3)) is None
    given = _infl(40)
    assert write_influence(ws, eid, (40, 3), given)
    got = read_influence(ws, eid, (40, 3))
    assert got is not None and all(np.array_equal(got[k], given[k]) for k in given)
    again = _infl(40, seed=2)  # a second write replaces the first
    assert write_influence(ws, eid, (40, 3), again)
    got = read_influence(ws, eid, (40, 3))
    assert got is not None and np.array_equal(got["log_loss"], again["log_loss"])
    folder = Path(ws.get_evaluation(eid).artifact_dir)
    assert not [p for p in folder.iterdir() if p.name.startswith(TMP_PREFIX)]
    dead = folder / f"{TMP_PREFIX}dead"  # a writer that died (no lock held, old)
    dead.mkdir()
    os.utime(dead, (0, 0))
    assert write_influence(ws, eid, (40, 3), given)
    assert not dead.exists()
    ws.delete_evaluation(eid)
    assert not folder.exists()


def test_another_shape_version_or_a_broken_file_is_not_read(
    stored: tuple[Workspace, int],
) -> None:
    ws, eid = stored
    assert write_influence(ws, eid, (40, 3), _infl(40))
    assert read_influence(ws, eid, (40, 4)) is None  # computed on other scores
    folder = Path(ws.get_evaluation(eid).artifact_dir) / INFLUENCE_DIR
    meta = json.loads((folder / "meta.json").read_text())
    meta["meta"]["version"] = 999
    (folder / "meta.json").write_text(json.dumps(meta))
    assert read_influence(ws, eid, (40, 3)) is None
    (folder / "meta.json").write_text("{not json")
    assert read_influence(ws, eid, (40, 3)) is None
    with pytest.raises(ValueError):
        write_influence(ws, eid, (41, 3), _infl(40))


def test_a_failed_write_writes_nothing(
    stored: tuple[Workspace, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, eid = stored

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(comparisons, "write_arrays", full)
    assert not write_influence(ws, eid, (40, 3), _infl(40))
    folder = Path(ws.get_evaluation(eid).artifact_dir)
    assert sorted(p.name for p in folder.iterdir() if p.is_dir()) == []
    assert read_influence(ws, eid, (40, 3)) is None
    remove_tree(folder)  # the evaluation's folder gone: nothing to write into
    monkeypatch.undo()
    assert not write_influence(ws, eid, (40, 3), _infl(40))
