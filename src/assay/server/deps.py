"""Dependencies shared by the routers, as ``Annotated`` aliases."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
from fastapi import Depends, Path, Request
from fastapi.concurrency import run_in_threadpool

from assay.caches import LRU
from assay.evaluation.results import Results
from assay.server.config import MAX_ID
from assay.service.quality import label_issues_stored
from assay.store import EvaluationRecord, Workspace


async def get_workspace(request: Request) -> Workspace:
    workspace: Workspace = request.app.state.workspace
    return workspace


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]

# a catalog id in a path: beyond SQLite's 64-bit INTEGER is a 422, never an overflow
Id = Annotated[int, Path(ge=0, le=MAX_ID, description="id")]


# columns of a samples table that are not metadata: the sample's id, its media, its annotation
# (already in every item as ``actual``) and the image fields detection items already carry
RESERVED_COLUMNS = frozenset(
    {"id", "text", "path", "label", "labels", "file_name", "width", "height"}
)


class SampleLookup:
    """What the answers add to a sample from its dataset version: text, media URLs, metadata."""

    def __init__(self, dataset_version_id: int, table: pa.Table) -> None:
        self.dataset_version_id = dataset_version_id
        self.table = table
        self.n_rows = table.num_rows
        self.text = table.column("text") if "text" in table.column_names else None
        self.has_path = (
            np.asarray(table.column("path").is_valid().to_numpy(zero_copy_only=False), dtype=bool)
            if "path" in table.column_names
            else None
        )
        self.metadata_columns = [c for c in table.column_names if c not in RESERVED_COLUMNS]
        self._metadata = table.select(self.metadata_columns) if self.metadata_columns else None

    @property
    def media(self) -> str | None:
        if self.has_path is not None and bool(self.has_path.any()):
            return "image"
        if self.text is not None:
            return "text"
        return None

    def decorate(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add ``text``, ``media_url`` / ``thumbnail_url`` and ``metadata`` to sample dicts (by
        ``index``), in place; items without a row in the samples table get an empty metadata."""
        rows = [int(item["index"]) for item in items if 0 <= int(item["index"]) < self.n_rows]
        texts = (
            dict(zip(rows, self.text.take(rows).to_pylist(), strict=True))
            if self.text is not None and rows
            else {}
        )
        metadata = (
            dict(zip(rows, self._metadata.take(rows).to_pylist(), strict=True))
            if self._metadata is not None and rows
            else {}
        )
        for item in items:
            index = int(item["index"])
            item["metadata"] = {k: _scalar(v) for k, v in metadata.get(index, {}).items()}
            if not 0 <= index < self.n_rows:
                continue
            if self.has_path is not None and self.has_path[index]:
                sample_id = f"{self.dataset_version_id}:{index}"
                item["media_url"] = f"/api/samples/{sample_id}/media"
                item["thumbnail_url"] = f"/api/samples/{sample_id}/thumbnail"
            text = texts.get(index)
            if text is not None:
                item["text"] = text
        return items


def _scalar(value: Any) -> str | float | int | bool | None:
    """A metadata cell as a JSON scalar (dates, lists and the like as their text)."""
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return str(value)


@dataclass
class EvaluationContext:
    """An evaluation's catalog record, its results object, its samples lookup and its memo (the
    per-evaluation cache of answers that do not depend on the request)."""

    record: EvaluationRecord
    results: Results
    samples: SampleLookup
    memo: dict[str, Any]

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """An answer computed once per evaluation (e.g. the intervals of the default point)."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    def decorate(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Sample dicts decorated from the dataset version (:meth:`SampleLookup.decorate`), in
        place; single-label ones also marked ``possible_label_error``: whether confident learning
        flags the sample, once a data-quality analysis of the evaluation is ready on this server
        (see :func:`get_evaluation`), None before."""
        self.samples.decorate(items)
        if self.results.task == "classification":
            flagged: frozenset[int] | None = self.memo.get(LABEL_ERRORS)
            for item in items:
                item["possible_label_error"] = (
                    None if flagged is None else int(item["index"]) in flagged
                )
        return items


LABEL_ERRORS = "label_errors"  # the memo's key of the flagged indices


def analysis_ready(runs: Any, evaluation_id: int) -> bool:
    """Whether this server holds a ready data-quality analysis of the evaluation (``runs``: its
    :class:`~assay.server.quality_runs.QualityRuns`). Only looks: never starts one."""
    return runs is not None and bool(runs.ready(evaluation_id))


def flagged_indices(workspace: Workspace, evaluation_id: int, results: Results) -> frozenset[int]:
    """Every likely label error of a single-label evaluation (all of them, not only the 100 the
    analysis lists): the same ranking as ``/quality/label-issues``, cached by the store."""
    found = label_issues_stored(workspace, evaluation_id, results=results)
    return frozenset(int(r["index"]) for r in found)


async def get_evaluation(
    request: Request,
    workspace: WorkspaceDep,
    evaluation_id: Annotated[int, Path(ge=0, le=MAX_ID, description="evaluation id")],
) -> EvaluationContext:
    """The evaluation's record (one indexed SQLite read) with its cached results object.

    Runs on the event loop: after the first request of an evaluation everything here is in
    memory; the first load (reading and preparing the arrays) goes to a worker thread.
    """
    record = workspace.get_evaluation(evaluation_id)
    results = workspace.peek_results(evaluation_id)
    if results is None:
        results = await run_in_threadpool(workspace.load_results, evaluation_id)
    lookups: LRU[int, SampleLookup] = request.app.state.sample_lookups
    dv_id = record.dataset_version.id
    lookup = lookups.get(dv_id)
    # the workspace gives a new table when the stored one changed (media attached by a later run)
    table = workspace.peek_samples_table(dv_id)
    if lookup is None or table is None or lookup.table is not table:
        if table is None:
            table = await run_in_threadpool(workspace.samples_table, dv_id)
        lookup = SampleLookup(dv_id, table)
        lookups[dv_id] = lookup
    memo = request.app.state.memo.get_or_make(evaluation_id, dict)
    # the likely label errors, once an analysis is ready (kept: a stored evaluation never changes)
    if (
        results.task == "classification"
        and LABEL_ERRORS not in memo
        and analysis_ready(getattr(request.app.state, "quality", None), evaluation_id)
    ):
        memo[LABEL_ERRORS] = await run_in_threadpool(
            flagged_indices, workspace, evaluation_id, results
        )
    return EvaluationContext(record=record, results=results, samples=lookup, memo=memo)


EvaluationDep = Annotated[EvaluationContext, Depends(get_evaluation)]
