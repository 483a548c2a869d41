"""A model's embedding output: named in the spec, checked when the model loads, and read through
the ordinary batch runner (the same preprocessing as its predictions), from a small ONNX model
made here whose hidden layer is an extra output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assay.errors import InputError
from assay.runners import load_runner, run_arrays
from assay.runners.embedding import EmbeddingReader, embedding_output
from assay.runners.spec import PreprocessSpec, spec_from_mapping, spec_to_mapping
from tests.service.embedding_setup import HIDDEN, embedding_model


def test_the_embedding_output_is_read_beside_the_scores(tmp_path: Path) -> None:
    path, w1 = embedding_model(tmp_path / "m.onnx")
    runner = load_runner(path)
    assert embedding_output(runner) == "emb"
    x = np.random.default_rng(0).random((10, 1, 8, 8)).astype(np.float32)
    scores = run_arrays(runner, x, batch_size=4).scores
    assert scores is not None and scores.shape == (10, 3)  # the spec's output_name: probabilities
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-5)
    reader = EmbeddingReader(runner)
    emb = run_arrays(reader, x, batch_size=4).scores
    assert emb is not None and emb.shape == (10, HIDDEN) and emb.dtype == np.float32
    np.testing.assert_allclose(emb, np.maximum(x.reshape(10, -1) @ w1, 0), rtol=1e-5, atol=1e-5)
    assert reader.describe().classes is None


def test_a_spec_naming_no_such_output_is_refused(tmp_path: Path) -> None:
    path, _ = embedding_model(tmp_path / "m.onnx", spec=False)
    with pytest.raises(InputError, match="embedding'. no output named 'pooled'"):
        load_runner(path, size=(8, 8), channels="L", embedding="pooled")
    plain = load_runner(path, size=(8, 8), channels="L", output_name="probs")
    assert embedding_output(plain) is None
    with pytest.raises(InputError, match="names no 'embedding'"):
        EmbeddingReader(plain)


def test_the_spec_field_round_trips_and_is_checked() -> None:
    spec = PreprocessSpec(size=(8, 8), embedding="emb")
    assert spec_from_mapping(spec_to_mapping(spec)) == spec
    with pytest.raises(InputError, match="embedding"):
        PreprocessSpec(embedding="")
