"""A prediction run in the store: ``save_predictions`` keeps the score table with a row of
status ``predictions`` (no summary, no headline), ``load_results`` refuses it in one line, a
missing predictions file stores nothing, and ``delete_evaluation`` removes it."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assay.errors import InputError
from assay.store import Workspace, evaluation_public


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "home")


def _setup(ws: Workspace, tmp_path: Path) -> tuple[int, int, Path]:
    dv = ws.add_dataset_version(
        "bare", task="classification", samples=pa.table({"id": ["a", "b", "c"]})
    )
    mv = ws.add_model_version("m")
    scores = tmp_path / "scores.parquet"
    pq.write_table(pa.table({"id": ["a", "b", "c"], "x": [0.9, 0.2, 0.5], "y": [0.1, 0.8, 0.5]}),
                   scores)  # fmt: skip
    return dv.id, mv.id, scores


def test_a_prediction_run_is_kept_without_metrics(ws: Workspace, tmp_path: Path) -> None:
    dv, mv, scores = _setup(ws, tmp_path)
    record = ws.save_predictions(
        dataset_version_id=dv, model_version_id=mv, predictions_file=scores, n_samples=3,
        n_classes=2, params={"batch": 4},
    )  # fmt: skip
    assert record.status == "predictions" and record.name == "m on bare"
    assert record.headline_metric is None and record.headline_value is None
    assert record.params == {"batch": 4, "predictions_only": True}
    kept = ws.predictions_file(record.id)
    assert kept is not None and pq.read_table(kept).equals(pq.read_table(scores))
    public = evaluation_public(record)
    assert public["predictions_only"] and public["status"] == "predictions"
    with pytest.raises(InputError, match="no labels, so no metrics"):
        ws.load_results(record.id)
    ws.delete_evaluation(record.id)
    assert ws.list_evaluations() == [] and not record.artifact_dir.exists()


def test_a_missing_predictions_file_stores_nothing(ws: Workspace, tmp_path: Path) -> None:
    dv, mv, _ = _setup(ws, tmp_path)
    with pytest.raises(InputError, match="no such predictions file"):
        ws.save_predictions(
            dataset_version_id=dv, model_version_id=mv, predictions_file=tmp_path / "none.pq",
            n_samples=3, n_classes=2,
        )  # fmt: skip
    assert ws.list_evaluations() == []
    assert not any((ws.home / "evaluations").glob("*"))
