"""A model's embedding output, read through the ordinary batch machinery.

The spec's ``embedding`` field names the output that holds each sample's features (an ONNX
intermediate or extra output, a TorchScript dict key or ``output_1`` of a returned tuple, a
Hugging Face model's ``cls`` / ``mean`` pooled last hidden state). :class:`EmbeddingReader` wraps a
runner so that its ``predict`` gives that output, (N, D) float32, flattened per sample: so
:func:`~assay.runners.batch.run_images` / ``run_texts`` over it give the embedding matrix of a
dataset, decoded and preprocessed exactly as the predictions were.

    >>> reader = EmbeddingReader(load_runner("model.onnx"))          # doctest: +SKIP
    >>> run_images(reader, paths).scores.shape                       # doctest: +SKIP
    (2000, 512)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import InputError
from assay.runners.base import ModelInfo, Runner
from assay.runners.preprocess import Geometry
from assay.runners.spec import PreprocessSpec


def embedding_output(runner: Runner) -> str | None:
    """The name of the runner's embedding output, or None when its spec names none."""
    name = getattr(runner.spec, "embedding", None)
    return str(name) if name else None


class EmbeddingReader:
    """A runner whose ``predict`` gives the embedding of a batch (N, D) float32."""

    def __init__(self, runner: Runner) -> None:
        name = embedding_output(runner)
        if name is None:
            raise InputError("the model's spec names no 'embedding' output", file=str(runner.path))
        self.runner = runner
        self.output = name
        self.path: Path = runner.path
        # the same preprocessing; read as a plain matrix (no activation, no class names)
        self.spec: PreprocessSpec = runner.spec.replace(
            task="classification", activation="none", output_name=None, classes=None
        )

    def describe(self) -> ModelInfo:
        return dataclasses.replace(self.runner.describe(), task="classification", classes=None)

    def run(self, batch: Any) -> dict[str, np.ndarray]:
        return self.runner.run(batch)

    def predict(self, batch: Any, geometries: Sequence[Geometry] | None = None) -> np.ndarray:
        outputs = self.runner.run(batch)
        if self.output not in outputs:
            raise InputError(
                f"no output named {self.output!r} (outputs: {', '.join(outputs)})",
                file=str(self.path),
                where="spec field 'embedding'",
            )
        values = np.asarray(outputs[self.output])
        n = len(batch)
        if values.ndim == 0 or values.shape[0] != n:
            raise InputError(
                f"the embedding output {self.output!r} has shape {list(values.shape)}, "
                f"not one row per sample of a batch of {n}",
                file=str(self.path),
            )
        return values.reshape(n, -1).astype(np.float32)
