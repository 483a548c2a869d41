"""TorchScript models (``torch.jit.save``), on the CPU or a CUDA device; the ``torch`` extra
(torch==2.13.0).

The spec must give the input ``size`` (a TorchScript file does not declare its input shape); the
model's output is a tensor of scores, or a tuple / dict of tensors (detection: boxes, scores,
labels in that order, or by name).

    >>> runner = TorchScriptRunner("model.pt", PreprocessSpec(size=(64, 64)))   # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import InputError, one_line
from assay.runners.base import BaseRunner, ModelInfo
from assay.runners.devices import resolve_device
from assay.runners.labels import resolve_classes
from assay.runners.spec import PreprocessSpec


class TorchScriptRunner(BaseRunner):
    """A ``torch.jit`` module in eval mode under ``torch.inference_mode()``. Class names from the
    spec, a labels file, or an extra file "classes" / "labels" saved with the module. ``device``:
    as :func:`~assay.runners.devices.resolve_device` takes it; batches go to it and the outputs
    come back to the CPU."""

    backend = "torchscript"

    def __init__(
        self,
        path: str | Path,
        spec: PreprocessSpec,
        *,
        threads: int | None = None,
        device: str = "cpu",
    ) -> None:
        import torch

        self.path = Path(path)
        self.device = resolve_device(self.backend, device)
        self._torch = torch
        if threads:
            torch.set_num_threads(threads)
        extra = {"classes": "", "labels": ""}
        try:
            self.module = torch.jit.load(
                str(self.path), map_location=self.device.setting, _extra_files=extra
            )
        except Exception as exc:
            raise InputError(
                f"not a loadable TorchScript model ({one_line(exc, 300)})", file=str(self.path)
            ) from None
        self.module.eval()
        if spec.layout is None:
            spec = spec.replace(layout="NCHW")
        if spec.dtype is None:
            spec = spec.replace(dtype="float32")
        self.spec = spec
        meta = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in extra.items() if v}
        self.classes = resolve_classes(
            self.path, spec_classes=spec.classes, labels_file=spec.labels_file, metadata=meta
        )
        self._outputs: tuple[str, ...] = ()

    def describe(self) -> ModelInfo:
        shape: tuple[int | None, ...] | None = None
        if self.spec.size is not None:
            c = self.spec.n_channels
            h, w = self.spec.size
            shape = (c, h, w) if self.spec.layout == "NCHW" else (h, w, c)
        return ModelInfo(
            path=str(self.path),
            backend=self.backend,
            task=self.spec.task,
            classes=self.classes,
            media="image",
            input_name=None,
            input_shape=shape,
            layout=self.spec.layout,
            dtype=self.spec.dtype,
            outputs=self._outputs,
            device=self.device.name,
        )

    def run(self, batch: Any) -> dict[str, np.ndarray]:
        torch = self._torch
        x = torch.from_numpy(np.ascontiguousarray(batch))
        if not self.device.is_cpu:
            x = x.to(self.device.setting)
        try:
            with torch.inference_mode():
                out = self.module(x)
        except Exception as exc:
            raise InputError(
                f"inference failed on a batch of shape {list(x.shape)} ({one_line(exc, 300)})",
                file=str(self.path),
            ) from None
        if isinstance(out, dict):
            result = {str(k): v.detach().cpu().numpy() for k, v in out.items()}
        elif isinstance(out, list | tuple):
            names = (
                ("boxes", "scores", "labels")
                if len(out) == 3
                else tuple(f"output_{i}" for i in range(len(out)))
            )
            result = {n: v.detach().cpu().numpy() for n, v in zip(names, out, strict=True)}
        else:
            result = {"output": out.detach().cpu().numpy()}
        self._outputs = tuple(result)
        return result
