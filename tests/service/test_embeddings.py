"""The embedding map of stored evaluations: the model's embedding output read and stored beside
the evaluation, the scores standing in without one, the maps cached per method and parameters,
the nearest neighbours, the CSV."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from assay.errors import ParameterError
from assay.service import embeddings as emb
from assay.store.embeddings import MAX_MAPS, read_embedding
from tests.service.embedding_setup import HIDDEN, build


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    return build(tmp_path_factory.mktemp("embeddings"))


def test_the_model_embedding_is_its_hidden_layer_stored_as_float32(setup: dict) -> None:
    ws, eid = setup["ws"], setup["model_eval"]
    matrix, meta = emb.embedding(ws, eid)
    assert meta["source"] == "model" and meta["output"] == "emb" and meta["dims"] == HIDDEN
    stored = read_embedding(ws, eid)
    assert stored is not None and stored[0].dtype == np.float32
    # the reference: the same PNGs through the same preprocessing (scale 1/255), numpy's layer
    folder: Path = setup["folder"]
    record = ws.get_evaluation(eid)
    table = ws.samples_table(record.dataset_version.id)
    x = np.stack(
        [
            np.asarray(Image.open(p), np.float32).ravel() / 255
            for p in table.column("path").to_pylist()
        ]
    )
    expected = np.maximum(x @ setup["w1"], 0)
    assert str(folder) in table.column("path")[0].as_py()
    np.testing.assert_allclose(matrix, expected, rtol=1e-4, atol=1e-4)


def test_without_an_embedding_the_scores_serve(setup: dict) -> None:
    ws, eid = setup["ws"], setup["scores_eval"]
    matrix, meta = emb.embedding(ws, eid)
    assert meta["source"] == "scores" and meta["output"] is None
    np.testing.assert_allclose(matrix, ws.load_results(eid).y_score, atol=1e-6)
    points = emb.map_points(ws, eid, emb.embedding_map(ws, eid, "pca"))
    assert "prediction scores" in points["source_text"]


def test_maps_are_cached_per_method_and_parameters(setup: dict) -> None:
    ws, eid = setup["ws"], setup["model_eval"]
    first = emb.embedding_map(ws, eid, "pca")
    again = emb.embedding_map(ws, eid, "pca")
    assert first.computed and not again.computed
    np.testing.assert_array_equal(first.xy, again.xy)
    assert emb.cached_map(ws, eid, "pca", {"seed": 0}) is not None
    assert emb.cached_map(ws, eid, "umap", {"seed": 0}) is None
    # bounded: more parameter sets than the cache keeps drop the oldest
    for seed in range(1, MAX_MAPS + 2):
        emb.embedding_map(ws, eid, "pca", {"seed": seed})
    folder = ws.get_evaluation(eid).artifact_dir
    assert len([p for p in folder.iterdir() if p.name.startswith("map-")]) == MAX_MAPS


def test_umap_is_deterministic_for_a_seed(setup: dict) -> None:
    if not os.environ.get("CI"):  # CI installs the embed extra: never skipped there
        pytest.importorskip("umap")
    ws, eid = setup["ws"], setup["model_eval"]
    a = emb.embedding_map(ws, eid, "umap", {"seed": 3, "n_neighbors": 5})
    folder = ws.get_evaluation(eid).artifact_dir
    for p in folder.iterdir():  # lay it out again, not from the cache
        if p.name.startswith("map-"):
            shutil.rmtree(p)
    b = emb.embedding_map(ws, eid, "umap", {"seed": 3, "n_neighbors": 5})
    assert a.computed and b.computed
    np.testing.assert_array_equal(a.xy, b.xy)
    assert a.xy.shape == (30, 2)


def test_points_say_outcome_classes_and_confidence(setup: dict) -> None:
    ws, eid = setup["ws"], setup["model_eval"]
    res = ws.load_results(eid)
    points = emb.map_points(ws, eid, emb.embedding_map(ws, eid, "pca"))
    assert points["n"] == res.n_samples == len(points["x"]) == len(points["outcome"])
    ok = res.outcomes()
    assert [o == 0 for o in points["outcome"]] == ok.tolist()
    assert points["actual"] == res.y_true.tolist()
    assert points["predicted"] == res.predictions().tolist()
    np.testing.assert_allclose(points["confidence"], res.y_score.max(axis=1), atol=1e-5)
    assert points["source"] == "model" and "'emb'" in points["source_text"]


def test_neighbours_by_cosine_distance(setup: dict) -> None:
    ws, eid = setup["ws"], setup["model_eval"]
    matrix, _ = emb.embedding(ws, eid)
    found = emb.neighbours(ws, eid, 4, k=5)
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True).clip(1e-12)
    d = 1 - unit @ unit[4]
    d[4] = np.inf
    assert [f["index"] for f in found] == np.argsort(d, kind="stable")[:5].tolist()
    np.testing.assert_allclose([f["distance"] for f in found], np.sort(d)[:5], atol=1e-5)


def test_bad_requests_are_one_line_errors(setup: dict, tmp_path: Path) -> None:
    ws, eid = setup["ws"], setup["model_eval"]
    with pytest.raises(ParameterError, match="method"):
        emb.embedding_map(ws, eid, "tsne")
    with pytest.raises(ParameterError, match="n_neighbors"):
        emb.embedding_map(ws, eid, "umap", {"n_neighbors": 10**9})
    with pytest.raises(ParameterError, match="not a parameter of pca"):
        emb.embedding_map(ws, eid, "pca", {"min_dist": 0.5})
    with pytest.raises(ParameterError, match="k:"):
        emb.neighbours(ws, eid, 0, k=10**9)
    with pytest.raises(ParameterError, match="index"):
        emb.neighbours(ws, eid, 10**6, k=3)
    with pytest.raises(ParameterError, match="property"):
        emb.map_points(ws, eid, emb.embedding_map(ws, eid, "pca"), prop="no-such")


def test_the_map_as_csv(setup: dict, tmp_path: Path) -> None:
    ws, eid = setup["ws"], setup["model_eval"]
    found = emb.embedding_map(ws, eid, "pca")
    points = emb.map_points(ws, eid, found)
    out = tmp_path / "map.csv"
    emb.write_map_csv(found, points, out)
    lines = out.read_text().splitlines()
    assert lines[0] == "index,x,y,outcome,actual,predicted,confidence"
    assert len(lines) == points["n"] + 1
    assert lines[1].split(",")[3] in ("correct", "wrong", "below threshold")
