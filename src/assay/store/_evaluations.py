"""The evaluations of a :class:`~assay.store.workspace.Workspace`: stored all or nothing (arrays
renamed into place inside the catalog's write transaction), loaded memory-mapped and cached."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.errors import InputError, NotFoundError
from assay.evaluation.results import Results
from assay.store import artifacts
from assay.store._datasets import DatasetsMixin
from assay.store._models import ModelsMixin
from assay.store._register import (
    Staging,
    dataset_content,
    model_content,
    prepare_evaluation,
    upsert_model_version,
)
from assay.store._util import (
    storage_guard,
)
from assay.store.artifacts import TempArtifactDir, fsync_dir, remove_tree
from assay.store.catalog import (
    EVAL_SELECT,
    evaluation_from_row,
    now_iso,
)
from assay.store.records import (
    PREDICTIONS_STATUS,
    EvaluationRecord,
)

if TYPE_CHECKING:  # pyarrow loads where it is used: `assay list` does not use it
    import pyarrow as pa

PREDICTIONS_STEM = "predictions"


class EvaluationsMixin(DatasetsMixin, ModelsMixin):
    """Evaluations of dataset versions by model versions."""

    @storage_guard
    def save_evaluation(
        self,
        results: Results,
        *,
        task: str | None = None,
        name: str,
        dataset_version_id: int,
        model_version_id: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> EvaluationRecord:
        """Store an evaluation: all of it or nothing.

        The arrays go to a temporary folder (fsynced), which is renamed to ``evaluations/<id>`` and
        the catalog row inserted inside one write transaction; on any error the folder is removed
        and the transaction rolled back. A crash between the two leaves an unlisted folder that the
        next :class:`Workspace` removes.
        """
        prepared = prepare_evaluation(results, task, name, params)
        with TempArtifactDir(self.evaluations_dir) as tmp:
            artifacts.write_arrays(tmp.path, prepared[0], prepared[1])
            with self._transaction() as (conn, staging):
                for table, version_id in (
                    ("dataset_versions", dataset_version_id),
                    ("model_versions", model_version_id),
                ):
                    if (
                        version_id is not None
                        and not conn.execute(
                            f"SELECT 1 FROM {table} WHERE id = ?", (version_id,)
                        ).fetchone()
                    ):
                        raise NotFoundError(
                            f"{table[:-1].replace('_', ' ')} {version_id} not found"
                        )
                evaluation_id = self._register_evaluation(
                    conn, staging, prepared[2], tmp.path, dataset_version_id, model_version_id
                )
        return self.get_evaluation(evaluation_id)

    @storage_guard
    def save_run(
        self,
        results: Results,
        *,
        name: str | None,
        dataset: tuple[str, str, Path | str | None, pa.Table | None, Path | str | None],
        model: tuple[str, int | None, Path | str | None] | None = None,
        params: dict[str, Any] | None = None,
        model_version_id: int | None = None,
        predictions_file: Path | str | None = None,
    ) -> EvaluationRecord:
        """Register a dataset version, a model version and an evaluation of them in one
        transaction: all three, or nothing at all (an unknown parent, a full disk, a crash).

        ``dataset`` is (name, task, source, samples, media_root) as :meth:`add_dataset_version`
        takes them, ``model`` (name, parent_version_id, path) as :meth:`add_model_version`;
        ``model_version_id`` names a registered version instead (a model run: ``model`` is then
        ignored). ``predictions_file`` is copied into the evaluation's folder as
        ``predictions.<ext>`` (see :meth:`predictions_file`). ``name`` defaults to "<model> on
        <dataset>". Versions first registered this way are collected by :meth:`collect_garbage`
        once no evaluation refers to them.
        """
        self.refuse_own(dataset[2], "dataset")
        content = dataset_content(*dataset)
        self._refuse_dataset(content)
        the_model = None
        if model_version_id is not None:
            model_name = self.get_model_version(model_version_id).model_name
        elif model is not None:
            self.refuse_own(model[2], "model")
            the_model = model_content(*model, None)
            model_name = the_model.name
        else:
            model_name = "no model"
        title = name or f"{model_name} on {content.name}"
        prepared = prepare_evaluation(results, None, title, params)
        with (
            TempArtifactDir(self.datasets_dir) as samples_tmp,
            TempArtifactDir(self.evaluations_dir) as tmp,
        ):
            self._write_samples(content, samples_tmp.path)
            artifacts.write_arrays(tmp.path, prepared[0], prepared[1])
            if predictions_file is not None:
                _copy_predictions(Path(predictions_file), tmp.path)
            with self._transaction() as (conn, staging):
                dv = self._register_dataset(conn, staging, content, samples_tmp.path, kept=False)
                mv: int | None = None
                if model_version_id is not None:
                    if not conn.execute(
                        "SELECT 1 FROM model_versions WHERE id = ?", (model_version_id,)
                    ).fetchone():
                        raise NotFoundError(f"model version {model_version_id} not found")
                    mv = model_version_id
                elif the_model is not None:
                    mv = upsert_model_version(conn, the_model, kept=False)
                evaluation_id = self._register_evaluation(
                    conn, staging, prepared[2], tmp.path, dv, mv
                )
        return self.get_evaluation(evaluation_id)

    @storage_guard
    def save_predictions(
        self,
        *,
        dataset_version_id: int,
        model_version_id: int,
        predictions_file: Path,
        n_samples: int,
        n_classes: int,
        name: str | None = None,
        params: dict[str, Any] | None = None,
        task: str = "classification",
    ) -> EvaluationRecord:
        """Store a prediction run: a model version's scores on an unlabeled dataset version,
        kept like an evaluation's (``predictions.<ext>`` in its folder, a row in ``evaluations``)
        with status :data:`PREDICTIONS_STATUS`, no summary and no headline metric (there are no
        labels to score it against). ``n_classes``: the model's classes (score columns);
        ``task``: the model's (classification, multilabel or detection)."""
        dv = self.get_dataset_version(dataset_version_id)
        mv = self.get_model_version(model_version_id)
        title = name or f"{mv.model_name} on {dv.dataset_name}"
        run_params = {**(params or {}), "predictions_only": True}
        with TempArtifactDir(self.evaluations_dir) as tmp:
            artifacts.write_arrays(tmp.path, {}, {"task": task, "name": title})
            _copy_predictions(Path(predictions_file), tmp.path)
            with self._transaction() as (conn, staging):
                row = (
                    title, task, PREDICTIONS_STATUS, json.dumps(run_params), "{}",
                    None, None, int(n_samples), int(n_classes),
                )  # fmt: skip
                evaluation_id = self._register_evaluation(
                    conn, staging, row, tmp.path, dv.id, mv.id
                )
        return self.get_evaluation(evaluation_id)

    def _register_evaluation(
        self,
        conn: Any,
        staging: Staging,
        row: tuple[Any, ...],
        folder: Path,
        dataset_version_id: int,
        model_version_id: int | None,
    ) -> int:
        """Inside a transaction: the artifacts renamed to ``evaluations/<id>``, the row inserted."""
        evaluation_id = self._next_evaluation_id(conn)
        staging.move(folder, self.evaluations_dir / str(evaluation_id))
        name, task, status, params_json, summary_json, metric, value, n, c = row
        self._insert_evaluation_row(
            conn,
            (
                evaluation_id,
                name,
                task,
                status,
                dataset_version_id,
                model_version_id,
                params_json,
                summary_json,
                metric,
                value,
                n,
                c,
                now_iso(),
                f"evaluations/{evaluation_id}",
            ),
        )
        return evaluation_id

    @staticmethod
    def _next_evaluation_id(conn: Any) -> int:
        seq = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'evaluations'").fetchone()
        top = conn.execute("SELECT COALESCE(MAX(id), 0) FROM evaluations").fetchone()[0]
        return max(seq[0] if seq else 0, top) + 1

    @staticmethod
    def _insert_evaluation_row(conn: Any, row: tuple[Any, ...]) -> None:
        conn.execute(
            "INSERT INTO evaluations (id, name, task, status, dataset_version_id, model_version_id,"
            " params, summary, headline_metric, headline_value, n_samples, n_classes, created_at,"
            " artifact_dir) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            row,
        )

    def list_evaluations(self) -> list[EvaluationRecord]:
        """Every stored evaluation, newest first."""
        rows = self.catalog.query(f"{EVAL_SELECT} ORDER BY e.id DESC")
        return [evaluation_from_row(row, self.home) for row in rows]

    def get_evaluation(self, evaluation_id: int) -> EvaluationRecord:
        row = self.catalog.query_one(f"{EVAL_SELECT} WHERE e.id = ?", (evaluation_id,))
        if row is None:
            raise NotFoundError(f"evaluation {evaluation_id} not found")
        return evaluation_from_row(row, self.home)

    def sample_media_path(self, evaluation_id: int, index: int) -> Path | None:
        """:meth:`media_path` for sample ``index`` of an evaluation's dataset version."""
        record = self.get_evaluation(evaluation_id)
        return self.media_path(record.dataset_version.id, index)

    def predictions_file(self, evaluation_id: int) -> Path | None:
        """The predictions file stored with an evaluation (a model run's), or None."""
        record = self.get_evaluation(evaluation_id)
        try:
            found = sorted(
                p
                for p in record.artifact_dir.iterdir()
                if p.is_file() and p.name.split(".", 1)[0] == PREDICTIONS_STEM
            )
        except FileNotFoundError:
            return None
        return found[0] if found else None

    def load_results(self, evaluation_id: int) -> Results:
        """The results object of an evaluation (memory-mapped arrays; the last few are cached)."""
        cached = self._results.get(evaluation_id)
        if cached is not None:
            return cached
        record = self.get_evaluation(evaluation_id)
        if record.status == PREDICTIONS_STATUS:
            raise InputError(
                f"evaluation {evaluation_id} is a prediction run on an unlabeled dataset version: "
                "no labels, so no metrics (compare two runs with: assay compare A B --no-labels)"
            )
        arrays, document = artifacts.read_arrays(record.artifact_dir)
        params = record.params or {}
        point = {k: params[k] for k in ("threshold", "iou", "score") if k in params}
        meta = {"task": record.task, **document["results"], "point": point}
        results = self._loader(arrays, meta)
        self._results[evaluation_id] = results
        return results

    def peek_results(self, evaluation_id: int) -> Results | None:
        """The results object if it is already in the cache (no I/O), else None."""
        return self._results.peek(evaluation_id)

    @storage_guard
    def delete_evaluation(self, evaluation_id: int) -> None:
        """Remove an evaluation's row and artifacts."""
        record = self.get_evaluation(evaluation_id)
        with self.catalog.write() as conn:
            conn.execute(
                "UPDATE jobs SET evaluation_id = NULL WHERE evaluation_id = ?", (record.id,)
            )
            conn.execute("DELETE FROM evaluations WHERE id = ?", (record.id,))
        self._results.pop(record.id, None)
        remove_tree(record.artifact_dir)


def _copy_predictions(source: Path, folder: Path) -> None:
    """Copy a predictions file into an evaluation's temporary folder as ``predictions.<ext>``
    (fsynced)."""
    if not source.is_file():
        raise InputError("no such predictions file", file=str(source))
    suffix = "".join(source.suffixes[-2:]).lower()
    if not suffix.replace(".", "").isalnum():
        suffix = source.suffix.lower() if source.suffix[1:].isalnum() else ""
    target = folder / f"{PREDICTIONS_STEM}{suffix}"
    shutil.copyfile(source, target)
    with open(target, "rb") as handle:
        os.fsync(handle.fileno())
    fsync_dir(folder)
