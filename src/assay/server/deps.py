"""Dependencies shared by the routers, as ``Annotated`` aliases."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import pyarrow as pa
from fastapi import Depends, Path, Request
from fastapi.concurrency import run_in_threadpool

from assay.errors import ParameterError
from assay.store import EvaluationRecord, Workspace


async def get_workspace(request: Request) -> Workspace:
    workspace: Workspace = request.app.state.workspace
    return workspace


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]


class SampleLookup:
    """What the answers add to a sample from its dataset version: text and media URLs."""

    def __init__(self, dataset_version_id: int, table: pa.Table) -> None:
        self.dataset_version_id = dataset_version_id
        self.n_rows = table.num_rows
        self.text = table.column("text") if "text" in table.column_names else None
        self.has_path = (
            np.asarray(table.column("path").is_valid().to_numpy(zero_copy_only=False), dtype=bool)
            if "path" in table.column_names
            else None
        )

    @property
    def media(self) -> str | None:
        if self.has_path is not None and bool(self.has_path.any()):
            return "image"
        if self.text is not None:
            return "text"
        return None

    def decorate(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add ``text`` and ``media_url`` / ``thumbnail_url`` to sample dicts (by ``index``)."""
        rows = [int(item["index"]) for item in items if 0 <= int(item["index"]) < self.n_rows]
        texts = (
            dict(zip(rows, self.text.take(rows).to_pylist(), strict=True))
            if self.text is not None and rows
            else {}
        )
        for item in items:
            index = int(item["index"])
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


@dataclass
class EvaluationContext:
    """An evaluation's catalog record, its results object and its samples lookup."""

    record: EvaluationRecord
    results: Any
    samples: SampleLookup
    memo: dict[str, Any]

    def cached(self, key: str, compute: Callable[[], Any]) -> Any:
        """A threshold-free answer computed once per evaluation (e.g. bootstrap intervals)."""
        if key not in self.memo:
            self.memo[key] = compute()
        return self.memo[key]

    @property
    def is_detection(self) -> bool:
        return self.record.task == "detection"

    @property
    def classes(self) -> list[str]:
        return list(self.results.classes)

    def check_label(self, label: str | None, parameter: str = "label") -> str | None:
        """The label itself, or a ParameterError naming the parameter when it is unknown."""
        if label is not None and label not in self._class_set():
            raise ParameterError(f"{parameter}: unknown label {label!r}")
        return label

    def _class_set(self) -> frozenset[str]:
        cached: frozenset[str] | None = getattr(self.results, "_assay_server_classes", None)
        if cached is None:
            cached = frozenset(self.results.classes)
            with contextlib.suppress(AttributeError):  # a slotted results object
                self.results._assay_server_classes = cached
        return cached


async def get_evaluation(
    request: Request,
    workspace: WorkspaceDep,
    evaluation_id: Annotated[int, Path(description="evaluation id")],
) -> EvaluationContext:
    """The evaluation's record (one indexed SQLite read) with its cached results object.

    Runs on the event loop: after the first request of an evaluation everything here is in
    memory; the first load (reading and preparing the arrays) goes to a worker thread.
    """
    record = workspace.get_evaluation(evaluation_id)
    results = workspace.peek_results(evaluation_id)
    if results is None:
        results = await run_in_threadpool(workspace.load_results, evaluation_id)
    lookups: dict[int, SampleLookup] = request.app.state.sample_lookups
    dv_id = record.dataset_version.id
    lookup = lookups.get(dv_id)
    if lookup is None:
        table = await run_in_threadpool(workspace.samples_table, dv_id)
        lookup = SampleLookup(dv_id, table)
        if len(lookups) > 16:
            lookups.clear()
        lookups[dv_id] = lookup
    memo = request.app.state.memo.setdefault(evaluation_id, {})
    return EvaluationContext(record=record, results=results, samples=lookup, memo=memo)


EvaluationDep = Annotated[EvaluationContext, Depends(get_evaluation)]
