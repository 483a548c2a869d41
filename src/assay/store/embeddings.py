"""An evaluation's embedding and its 2-D maps, stored beside its artifacts.

``evaluations/<id>/embedding/`` holds ``embedding.npy`` (N, D) float32 and ``meta.json`` (where
it came from: the model's output, or the prediction scores); ``evaluations/<id>/map-<key>/``
holds one map, ``xy.npy`` (N, 2) float32, per method + parameters + embedding (the key hashes
them). Each is written into a locked temporary folder inside the evaluation's folder and renamed
into place (:mod:`assay.store.artifacts`), so a crash never leaves half of one; at most
``MAX_MAPS`` maps are kept per evaluation (the least recently used go). Deleting the evaluation
deletes them with it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import NotFoundError
from assay.store.artifacts import TempArtifactDir, read_arrays, remove_tree, write_arrays
from assay.store.workspace import Workspace

EMBEDDING_DIR = "embedding"
MAP_PREFIX = "map-"
MAX_MAPS = 6


def _folder(ws: Workspace, evaluation_id: int) -> Path:
    record = ws.get_evaluation(evaluation_id)
    folder = Path(record.artifact_dir)
    if not folder.is_dir():
        raise NotFoundError(f"evaluation {evaluation_id} has no stored artifacts")
    return folder


def _write(folder: Path, name: str, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    target = folder / name
    with TempArtifactDir(folder) as tmp:
        write_arrays(tmp.path, arrays, meta)
        if target.exists():
            remove_tree(target)
        os.replace(tmp.path, target)


def _read(folder: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    try:
        return read_arrays(folder)
    except (OSError, ValueError, KeyError):
        return None


def write_embedding(
    ws: Workspace, evaluation_id: int, matrix: np.ndarray, meta: dict[str, Any]
) -> None:
    """Store an evaluation's embedding (N, D) as float32 with ``meta`` (its source)."""
    _write(
        _folder(ws, evaluation_id),
        EMBEDDING_DIR,
        {"embedding": np.ascontiguousarray(matrix, np.float32)},
        meta,
    )


def read_embedding(ws: Workspace, evaluation_id: int) -> tuple[np.ndarray, dict[str, Any]] | None:
    """The stored embedding (memory-mapped, read-only) and its meta, or None."""
    found = _read(_folder(ws, evaluation_id) / EMBEDDING_DIR)
    if found is None or "embedding" not in found[0]:
        return None
    return found[0]["embedding"], found[1]


def map_key(method: str, params: dict[str, Any], source: str) -> str:
    """The cache key of a map: its method, parameters and the embedding it lays out."""
    text = json.dumps({"method": method, "params": params, "source": source}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def read_map(
    ws: Workspace, evaluation_id: int, key: str
) -> tuple[np.ndarray, dict[str, Any]] | None:
    """A cached map (N, 2) and its meta, or None; a hit counts as a use (kept longer)."""
    folder = _folder(ws, evaluation_id) / f"{MAP_PREFIX}{key}"
    found = _read(folder)
    if found is None or "xy" not in found[0]:
        return None
    with contextlib.suppress(OSError):
        os.utime(folder)
    return found[0]["xy"], found[1]


def write_map(
    ws: Workspace, evaluation_id: int, key: str, xy: np.ndarray, meta: dict[str, Any]
) -> None:
    """Cache a map, then drop the least recently used beyond ``MAX_MAPS``."""
    folder = _folder(ws, evaluation_id)
    _write(folder, f"{MAP_PREFIX}{key}", {"xy": np.ascontiguousarray(xy, np.float32)}, meta)
    maps = sorted(
        (p for p in folder.iterdir() if p.is_dir() and p.name.startswith(MAP_PREFIX)),
        key=lambda p: p.stat().st_mtime_ns,
        reverse=True,
    )
    for old in maps[MAX_MAPS:]:
        remove_tree(old)


def cached_maps(ws: Workspace, evaluation_id: int) -> list[dict[str, Any]]:
    """The metas of the cached maps of an evaluation (method, params, source)."""
    folder = _folder(ws, evaluation_id)
    out = []
    for p in sorted(folder.iterdir()):
        if p.is_dir() and p.name.startswith(MAP_PREFIX):
            found = _read(p)
            if found is not None:
                out.append(found[1])
    return out
