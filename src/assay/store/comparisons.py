"""What a comparison keeps beside one evaluation's artifacts: its per-sample ranking influences.

A comparison's costly part is a property of each evaluation alone: every sample's influence on
its macro ROC AUC, average precision and log loss
(:func:`assay.evaluation.compare.classification.influence`, two sweeps over the whole score
matrix). Once computed it is stored in ``evaluations/<id>/ranking-influence/``: three (N,)
float64 arrays (24 bytes a sample, against the scores' 4 x C) and ``meta.json`` naming the
formula's version and the shape it was computed on. It is written into a locked temporary folder
inside the evaluation's folder and renamed into place (:mod:`assay.store.artifacts`), so a crash
never leaves half of it (the next write removes a dead writer's temporary folder); the evaluation's stored arrays never change, so nothing invalidates it
but deleting the evaluation, which deletes it with the folder. A later comparison of the
evaluation with any other, in any process, reads it instead of computing it: the same numbers.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from assay.store.artifacts import (
    TMP_PREFIX,
    TempArtifactDir,
    is_stale_temp,
    read_arrays,
    remove_tree,
    write_arrays,
)
from assay.store.workspace import Workspace

INFLUENCE_DIR = "ranking-influence"
# the formula's version: a stored influence of another version is not read (and is replaced)
INFLUENCE_VERSION = 1
INFLUENCE_KEYS = ("roc_auc_macro", "average_precision_macro", "log_loss")


def _folder(ws: Workspace, evaluation_id: int) -> Path | None:
    folder = Path(ws.get_evaluation(evaluation_id).artifact_dir)
    return folder if folder.is_dir() else None


def read_influence(
    ws: Workspace, evaluation_id: int, shape: tuple[int, int]
) -> dict[str, np.ndarray] | None:
    """The stored per-sample ranking influences of an evaluation whose scores have ``shape``
    (N, C): {key: (N,) float64} for ``INFLUENCE_KEYS``, or None when none is stored, it was
    computed by another version of the formula or on another shape, or it cannot be read."""
    folder = _folder(ws, evaluation_id)
    if folder is None:
        return None
    try:
        arrays, meta = read_arrays(folder / INFLUENCE_DIR)
    except (OSError, ValueError, KeyError):
        return None
    if meta.get("version") != INFLUENCE_VERSION or meta.get("shape") != list(shape):
        return None
    out = {}
    for key in INFLUENCE_KEYS:
        got = arrays.get(key)
        if got is None or got.shape != (shape[0],) or got.dtype != np.float64:
            return None
        out[key] = np.asarray(got)
    return out


def write_influence(
    ws: Workspace, evaluation_id: int, shape: tuple[int, int], influence: dict[str, np.ndarray]
) -> bool:
    """Store an evaluation's per-sample ranking influences (``INFLUENCE_KEYS``, each (N,)) for
    scores of ``shape``; False (nothing written) when the evaluation's folder is gone or cannot
    be written (a read-only workspace, a full disk): it is only kept to be re-used."""
    arrays = {k: np.ascontiguousarray(influence[k], dtype=np.float64) for k in INFLUENCE_KEYS}
    if any(a.shape != (shape[0],) for a in arrays.values()):
        raise ValueError(f"influences must be ({shape[0]},) each")
    folder = _folder(ws, evaluation_id)
    if folder is None:
        return False
    meta = {"version": INFLUENCE_VERSION, "shape": list(shape)}
    target = folder / INFLUENCE_DIR
    try:
        for child in folder.iterdir():  # what a writer that died left behind
            if child.name.startswith(TMP_PREFIX) and is_stale_temp(child):
                remove_tree(child)
        with TempArtifactDir(folder) as tmp:
            write_arrays(tmp.path, arrays, meta)
            if target.exists():
                remove_tree(target)
            os.replace(tmp.path, target)
    except OSError:
        return False
    return True
