"""OpenVINO IR (``model.xml`` + ``model.bin``), or an ONNX file read through OpenVINO; the
``openvino`` extra.

    >>> runner = OpenVinoRunner("model.xml", PreprocessSpec())   # doctest: +SKIP
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
from assay.runners.devices import resolve_device
from assay.runners.labels import resolve_classes
from assay.runners.spec import PreprocessSpec

_OV_TYPES = {"f32": "float32", "f16": "float16", "f64": "float64", "u8": "uint8", "i8": "int8"}


def _dims(partial_shape: Any) -> list[int | None]:
    return [d.get_length() if d.is_static else None for d in partial_shape]


class OpenVinoRunner(BaseRunner):
    """A model compiled by OpenVINO for ``device`` (see :mod:`assay.runners.devices`: ``cpu``,
    ``auto``, ``GPU``, ``GPU.N``, ``AUTO``), at f32 precision except on ``AUTO`` (OpenVINO's own
    choice). Class names come from the spec or a labels file
    (or the IR's ``rt_info`` "classes" / "labels" entry when present)."""

    backend = "openvino"

    def __init__(self, path: str | Path, spec: PreprocessSpec, *, device: str = "cpu") -> None:
        import openvino as ov

        self.path = Path(path)
        self.device = resolve_device(self.backend, device)
        target = str(self.device.setting)
        core = ov.Core()
        try:
            model = core.read_model(str(self.path))
            # f32: OpenVINO would pick bf16 on CPUs that have it (f16 on a GPU), and scores drift
            config = {"INFERENCE_PRECISION_HINT": "f32"} if target != "AUTO" else {}
            self.compiled = core.compile_model(model, target, config)
        except Exception as exc:
            raise InputError(
                f"not a loadable OpenVINO model ({one_line(exc, 300)})", file=str(self.path)
            ) from None
        inputs = list(model.inputs)
        names = [i.get_any_name() for i in inputs]
        if spec.input_name is not None and spec.input_name not in names:
            raise InputError(
                f"no input named {spec.input_name!r} (inputs: {', '.join(names)})",
                file=str(self.path),
                where="spec field 'input_name'",
            )
        index = names.index(spec.input_name) if spec.input_name else 0
        self._input_name = names[index]
        self._shape = _dims(inputs[index].get_partial_shape())
        dtype = _OV_TYPES.get(inputs[index].get_element_type().get_type_name())
        self._outputs = [o.get_any_name() for o in model.outputs]
        self.media = "image" if len(self._shape) == 4 else "table"
        if self.media == "image":
            spec = fit_spec_to_input(self.path, spec, self._shape, dtype)
        elif spec.dtype is None and dtype is not None:
            spec = spec.replace(dtype=dtype)
        self.spec = spec
        meta: dict[str, str] = {}
        for key in ("classes", "labels"):
            try:
                if model.has_rt_info(key):
                    meta[key] = str(model.get_rt_info(key))
            except Exception:  # pragma: no cover - rt_info API differs across versions
                pass
        self.classes = resolve_classes(
            self.path, spec_classes=spec.classes, labels_file=spec.labels_file, metadata=meta
        )
        if spec.task != "detection":
            out = _dims(model.outputs[0].get_partial_shape())
            check_output_classes(self.path, out[-1] if out else None, self.classes)

    def describe(self) -> ModelInfo:
        return ModelInfo(
            path=str(self.path),
            backend=self.backend,
            task=self.spec.task,
            classes=self.classes,
            media=self.media,
            input_name=self._input_name,
            input_shape=static_dims(self._shape)[1:],
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
            result = self.compiled({self._input_name: x})
        except Exception as exc:
            raise InputError(
                f"inference failed on a batch of shape {list(x.shape)} ({one_line(exc, 300)})",
                file=str(self.path),
            ) from None
        return {name: np.asarray(result[i]) for i, name in enumerate(self._outputs)}
