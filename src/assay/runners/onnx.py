"""ONNX models through ONNX Runtime, in the default install; on the CPU, or a CUDA / TensorRT
GPU where ``onnxruntime-gpu`` provides it (:mod:`assay.runners.devices`).

>>> runner = OnnxRunner("model.onnx", PreprocessSpec())    # doctest: +SKIP
>>> runner.predict(np.zeros((2, 3, 64, 64), np.float32))    # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import InputError, one_line
from assay.runners.base import (
    BaseRunner,
    ModelInfo,
    check_output_classes,
    fit_spec_to_input,
    static_dims,
)
from assay.runners.devices import CPU_PROVIDER, resolve_device
from assay.runners.labels import resolve_classes
from assay.runners.spec import PreprocessSpec

_ORT_TYPES = {
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
    "tensor(uint8)": "uint8",
    "tensor(int8)": "int8",
}

# Idle intra-op threads sleep instead of spinning: the decoding threads need those cores.
SESSION_CONFIG = {"session.intra_op.allow_spinning": "0"}


class OnnxRunner(BaseRunner):
    """An ONNX model in an ``onnxruntime.InferenceSession``.

    ``threads``: intra-op threads (0 = ONNX Runtime's default, one per core); ``device``: as
    :func:`~assay.runners.devices.resolve_device` takes it (the providers it names, the CPU's
    last); a GPU provider that onnxruntime could not start is an ``InputError``, never a silent
    fall back to the CPU.
    """

    backend = "onnxruntime"

    def __init__(
        self, path: str | Path, spec: PreprocessSpec, *, threads: int = 0, device: str = "cpu"
    ) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        self.device = resolve_device(self.backend, device)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        for key, value in SESSION_CONFIG.items():
            options.add_session_config_entry(key, value)
        try:
            self.session = ort.InferenceSession(
                str(self.path), options, providers=self.device.setting
            )
        except Exception as exc:  # onnxruntime raises its own Fail / InvalidProtobuf / InvalidGraph
            raise InputError(
                f"not a loadable ONNX model ({one_line(exc, 300)})", file=str(self.path)
            ) from None
        if not self.device.is_cpu:
            used = self.session.get_providers()
            wanted = self.device.setting[0][0]
            if wanted not in used:
                raise InputError(
                    f"{self.device.name} asked but onnxruntime could not start its {wanted} "
                    f"(providers in use: {', '.join(used) or CPU_PROVIDER})",
                    file=str(self.path),
                )
        inputs = self.session.get_inputs()
        names = [i.name for i in inputs]
        if spec.input_name is not None and spec.input_name not in names:
            raise InputError(
                f"no input named {spec.input_name!r} (inputs: {', '.join(names)})",
                file=str(self.path),
                where="spec field 'input_name'",
            )
        self._input = next(i for i in inputs if i.name == (spec.input_name or names[0]))
        self._outputs = [o.name for o in self.session.get_outputs()]
        if spec.embedding is not None and spec.embedding not in self._outputs:
            raise InputError(
                f"no output named {spec.embedding!r} (outputs: {', '.join(self._outputs)})",
                file=str(self.path),
                where="spec field 'embedding'",
            )
        dtype = _ORT_TYPES.get(self._input.type)
        self.media = (
            "text" if spec.tokenizer else ("image" if len(self._input.shape) == 4 else "table")
        )
        if self.media == "image":
            spec = fit_spec_to_input(self.path, spec, self._input.shape, dtype)
        elif spec.dtype is None and dtype is not None:
            spec = spec.replace(dtype=dtype)
        self.spec = spec
        meta = self.session.get_modelmeta().custom_metadata_map
        self.classes = resolve_classes(
            self.path, spec_classes=spec.classes, labels_file=spec.labels_file, metadata=meta
        )
        if spec.task != "detection":
            out_shape = (
                self.session.get_outputs()[0].shape
                if not spec.output_name
                else next(o.shape for o in self.session.get_outputs() if o.name == spec.output_name)
            )
            width = out_shape[-1] if out_shape and isinstance(out_shape[-1], int) else None
            check_output_classes(self.path, width, self.classes)

    def describe(self) -> ModelInfo:
        shape = static_dims(self._input.shape)
        return ModelInfo(
            path=str(self.path),
            backend=self.backend,
            task=self.spec.task,
            classes=self.classes,
            media=self.media,
            input_name=self._input.name,
            input_shape=shape[1:],
            layout=self.spec.layout if self.media == "image" else None,
            dtype=self.spec.dtype,
            outputs=tuple(self._outputs),
            device=self.device.name,
        )

    def run(self, batch: Any) -> dict[str, np.ndarray]:
        x = np.asarray(batch)
        if self.spec.dtype is not None and x.dtype != np.dtype(self.spec.dtype):
            x = x.astype(self.spec.dtype)
        try:
            values = self.session.run(None, {self._input.name: x})
        except Exception as exc:
            raise InputError(
                f"inference failed on a batch of shape {list(x.shape)} ({one_line(exc, 300)})",
                file=str(self.path),
            ) from None
        return dict(zip(self._outputs, values, strict=True))
