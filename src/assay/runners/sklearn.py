"""scikit-learn estimators and pipelines saved with skops (never plain pickle).

Before loading, every type the file would construct that skops does not trust by default is checked
against an explicit allow-list (scikit-learn's own classes, never its functions, and a few numpy /
scipy containers); any other type or function refuses the file with an ``InputError`` naming it.

Inputs: a list of strings for a text pipeline (its first step is a text vectorizer), a 2-D feature
table, or an image batch (flattened per sample; set ``size`` in the spec).

    >>> runner = SkopsRunner("model.skops", PreprocessSpec())   # doctest: +SKIP
    >>> runner.predict(["what is the capital of France?"])        # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import InputError, one_line
from assay.runners.base import BaseRunner, ModelInfo, check_output_classes
from assay.runners.labels import resolve_classes
from assay.runners.spec import PreprocessSpec

TRUSTED_PREFIXES = ("sklearn.",)
TRUSTED_NAMES = frozenset(
    {
        "builtins.str",
        "builtins.int",
        "builtins.float",
        "builtins.bool",
        "builtins.tuple",
        "builtins.slice",
        "numpy.dtype",
        "numpy.ndarray",
        "numpy.float64",
        "numpy.float32",
        "numpy.int64",
        "numpy.int32",
        "numpy.bool_",
        "numpy.str_",
        "numpy.random.mtrand.RandomState",
        "numpy.random._generator.Generator",
        "numpy.random._pcg64.PCG64",
        "scipy.sparse._csr.csr_matrix",
        "scipy.sparse._csc.csc_matrix",
        "collections.defaultdict",
        "collections.OrderedDict",
    }
)


def untrusted_types(path: Path, *, extra_trusted: Sequence[str] = ()) -> list[str]:
    """Types in a skops file that neither skops nor Assay's allow-list trusts."""
    import skops.io as sio

    try:
        found = sio.get_untrusted_types(file=path)
    except Exception as exc:
        raise InputError(f"not a skops file ({one_line(exc, 300)})", file=str(path)) from None
    return [
        t for t in found if not (_is_library_class(t) or t in TRUSTED_NAMES or t in extra_trusted)
    ]


def _is_library_class(name: str) -> bool:
    """A class (not a function: a function in a pipeline gets called) defined in scikit-learn."""
    if not name.startswith(TRUSTED_PREFIXES):
        return False
    module, _, attr = name.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return False
    return inspect.isclass(obj)


class SkopsRunner(BaseRunner):
    """A scikit-learn estimator loaded by ``skops.io.load`` after the trusted-types check.

    ``extra_trusted``: type names (``module.Class``) the caller vouches for besides the allow-list.
    """

    backend = "skops"

    def __init__(
        self,
        path: str | Path,
        spec: PreprocessSpec,
        *,
        extra_trusted: Sequence[str] = (),
        device: str = "cpu",
    ) -> None:
        import skops.io as sio

        from assay.runners.devices import resolve_device

        self.path = Path(path)
        self.device = resolve_device(self.backend, device)  # the CPU only: anything else refused
        bad = untrusted_types(self.path, extra_trusted=extra_trusted)
        if bad:
            raise InputError(
                f"refusing untrusted types {', '.join(sorted(bad))}", file=str(self.path)
            )
        trusted = sio.get_untrusted_types(file=self.path)
        try:
            self.model = sio.load(self.path, trusted=trusted)
        except Exception as exc:
            raise InputError(
                f"cannot load the skops model ({one_line(exc, 300)})", file=str(self.path)
            ) from None
        if not hasattr(self.model, "predict"):
            raise InputError(
                f"{type(self.model).__name__} is not an estimator (no predict)", file=str(self.path)
            )
        first = self.model.steps[0][1] if hasattr(self.model, "steps") else self.model
        if hasattr(first, "build_analyzer"):
            self.media = "text"
        elif spec.size is not None:
            self.media = "image"
            if spec.layout is None:
                spec = spec.replace(layout="NHWC")
        else:
            self.media = "table"
        self.spec = spec
        own = getattr(self.model, "classes_", None)
        metadata = None
        if own is not None and np.ndim(own) == 1:
            metadata = {"classes": json.dumps([str(c) for c in own])}
        self.classes = resolve_classes(
            self.path, spec_classes=spec.classes, labels_file=spec.labels_file, metadata=metadata
        )
        check_output_classes(
            self.path, len(own) if own is not None and np.ndim(own) == 1 else None, self.classes
        )
        self.n_features = getattr(self.model, "n_features_in_", None)

    def describe(self) -> ModelInfo:
        shape: tuple[int | None, ...] | None = None
        if self.media != "text" and self.n_features is not None:
            shape = (int(self.n_features),)
        return ModelInfo(
            path=str(self.path),
            backend=self.backend,
            task=self.spec.task,
            classes=self.classes,
            media=self.media,
            input_name=None,
            input_shape=shape,
            layout=self.spec.layout if self.media == "image" else None,
            dtype=self.spec.dtype if self.media != "text" else None,
            outputs=("scores",),
        )

    def run(self, batch: Any) -> dict[str, np.ndarray]:
        if self.media == "text":
            x: Any = [str(t) for t in batch]
        else:
            x = np.asarray(batch)
            x = x.reshape(len(x), -1)
        try:
            if hasattr(self.model, "predict_proba"):
                scores = self.model.predict_proba(x)
            elif hasattr(self.model, "decision_function"):
                scores = self.model.decision_function(x)
            else:
                pred = self.model.predict(x)
                own = list(getattr(self.model, "classes_", []))
                scores = np.zeros((len(pred), len(own)))
                scores[np.arange(len(pred)), [own.index(p) for p in pred]] = 1.0
        except Exception as exc:
            raise InputError(
                f"inference failed ({one_line(exc, 300)})", file=str(self.path)
            ) from None
        return {"scores": np.asarray(scores)}
