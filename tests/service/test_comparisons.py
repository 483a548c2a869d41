"""compare_stored keeps each single-label evaluation's ranking influences beside it: a later
comparison, in a fresh workspace object (another process), reads them and gives the same
numbers without sweeping the scores again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import assay.evaluation.compare.classification as cc
from assay.evaluation.classification import ClassificationResults
from assay.service import comparisons
from assay.service.comparisons import compare_stored
from assay.store import Workspace
from assay.store.comparisons import INFLUENCE_DIR, read_influence


def _make(home: Path) -> tuple[int, int, int]:
    ws = Workspace(home)
    rng = np.random.default_rng(3)
    n, k = 300, 4
    y = rng.integers(0, k, n)
    ids = np.array([f"s{i}" for i in range(n)])
    dv = ws.add_dataset_version("d", task="classification", samples=pa.table({"id": list(ids)}))
    made = []
    for name, boost in (("A", 1.0), ("B", 1.3), ("C", 0.7)):
        logits = rng.normal(size=(n, k))
        logits[np.arange(n), y] += boost
        s = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        r = ClassificationResults(y, s, classes=list("wxyz"), sample_ids=ids)
        made.append(ws.save_evaluation(r, name=name, dataset_version_id=dv.id).id)
    return made[0], made[1], made[2]


def _dump(out: dict) -> str:
    return json.dumps(out, sort_keys=True, default=str)


@pytest.fixture(autouse=True)
def _store_small(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(comparisons, "STORE_INFLUENCE_SCORES", 1000)


def test_influences_stored_once_and_reused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b, c = _make(tmp_path / "home")
    first = _dump(compare_stored(Workspace(tmp_path / "home"), a, b))
    ws = Workspace(tmp_path / "home")
    for eid in (a, b):
        assert (Path(ws.get_evaluation(eid).artifact_dir) / INFLUENCE_DIR).is_dir()
    assert read_influence(ws, c, (300, 4)) is None  # not compared yet

    calls: list[int] = []
    real = cc.single_label_ranking_influence

    def counted(y: np.ndarray, s: np.ndarray) -> dict[str, np.ndarray]:
        calls.append(len(y))
        return real(y, s)

    monkeypatch.setattr(cc, "single_label_ranking_influence", counted)
    # a fresh workspace object (as another process): read back, the same numbers
    assert _dump(compare_stored(Workspace(tmp_path / "home"), a, b)) == first
    assert calls == []
    # B against C: B's read, C's computed (and then stored)
    compare_stored(Workspace(tmp_path / "home"), b, c)
    assert calls == [300]
    assert read_influence(Workspace(tmp_path / "home"), c, (300, 4)) is not None
    # the quick answer neither reads nor writes them
    quick = compare_stored(Workspace(tmp_path / "home"), a, c, intervals=False)
    assert quick["metrics"] and calls == [300]


def test_small_evaluations_store_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(comparisons, "STORE_INFLUENCE_SCORES", 300 * 4 + 1)
    a, b, _ = _make(tmp_path / "home")
    compare_stored(Workspace(tmp_path / "home"), a, b)
    ws = Workspace(tmp_path / "home")
    assert not (Path(ws.get_evaluation(a).artifact_dir) / INFLUENCE_DIR).exists()


def test_a_damaged_store_is_recomputed_with_the_same_numbers(tmp_path: Path) -> None:
    a, b, _ = _make(tmp_path / "home")
    first = _dump(compare_stored(Workspace(tmp_path / "home"), a, b))
    ws = Workspace(tmp_path / "home")
    folder = Path(ws.get_evaluation(a).artifact_dir) / INFLUENCE_DIR
    (folder / "roc_auc_macro.npy").write_bytes(b"garbage")
    assert _dump(compare_stored(Workspace(tmp_path / "home"), a, b)) == first
