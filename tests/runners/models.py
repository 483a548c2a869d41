"""Tiny models built in the tests (ONNX graphs with the onnx helper API), with numpy references."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = [helper.make_opsetid("", 17)]


def _save(graph: onnx.GraphProto, path: Path, metadata: dict[str, str] | None = None) -> Path:
    model = helper.make_model(graph, opset_imports=OPSET, producer_name="assay-tests")
    model.ir_version = 8
    for k, v in (metadata or {}).items():
        entry = model.metadata_props.add()
        entry.key, entry.value = k, v
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def linear_softmax(
    path: Path,
    *,
    shape=(3, 8, 8),
    n_classes: int = 4,
    seed: int = 0,
    metadata: dict[str, str] | None = None,
    softmax: bool = True,
    dtype: int = TensorProto.FLOAT,
) -> tuple[Path, np.ndarray, np.ndarray]:
    """softmax(flatten(x) @ W + b) over an input (N, *shape); returns (path, W, b)."""
    rng = np.random.default_rng(seed)
    d = int(np.prod(shape))
    w = (rng.normal(size=(d, n_classes)) * 0.05).astype(np.float32)
    b = rng.normal(size=n_classes).astype(np.float32)
    nodes = [
        helper.make_node("Flatten", ["x"], ["flat0"], axis=1),
        helper.make_node("Cast", ["flat0"], ["flat"], to=TensorProto.FLOAT),
        helper.make_node("Gemm", ["flat", "W", "b"], ["logits"]),
    ]
    out = "logits"
    if softmax:
        nodes.append(helper.make_node("Softmax", ["logits"], ["probs"], axis=-1))
        out = "probs"
    graph = helper.make_graph(
        nodes,
        "linear",
        [helper.make_tensor_value_info("x", dtype, ["N", *shape])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", n_classes])],
        initializer=[numpy_helper.from_array(w, "W"), numpy_helper.from_array(b, "b")],
    )
    return _save(graph, path, metadata), w, b


def reference_probs(
    x: np.ndarray, w: np.ndarray, b: np.ndarray, softmax: bool = True
) -> np.ndarray:
    logits = x.reshape(len(x), -1).astype(np.float64) @ w.astype(np.float64) + b
    if not softmax:
        return logits
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def conv_net(path: Path, *, size: int = 64, n_classes: int = 10, seed: int = 0) -> Path:
    """A small conv net: conv 3->16 (stride 2) + relu, conv 16->32 (stride 2) + relu, global
    average pool, linear, softmax; input (N, 3, size, size)."""
    rng = np.random.default_rng(seed)
    w1 = (rng.normal(size=(16, 3, 3, 3)) * 0.2).astype(np.float32)
    w2 = (rng.normal(size=(32, 16, 3, 3)) * 0.1).astype(np.float32)
    w3 = (rng.normal(size=(32, n_classes)) * 0.3).astype(np.float32)
    b3 = np.zeros(n_classes, np.float32)
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
    ]
    graph = helper.make_graph(
        nodes,
        "convnet",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, size, size])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", n_classes])],
        initializer=[
            numpy_helper.from_array(a, n)
            for a, n in ((w1, "w1"), (w2, "w2"), (w3, "w3"), (b3, "b3"))
        ],
    )
    return _save(graph, path, {"classes": ",".join(f"c{i}" for i in range(n_classes))})


def constant_outputs(
    path: Path,
    outputs: dict[str, np.ndarray],
    *,
    shape=(3, 16, 16),
) -> Path:
    """A model that repeats fixed per-image outputs for every image of the batch: each output
    ``name`` of per-image shape S comes out as (N, *S)."""
    nodes = [
        helper.make_node("Shape", ["x"], ["xs"], start=0, end=1),
    ]
    inits, outs = [], []
    for name, value in outputs.items():
        value = np.asarray(value)
        proto = TensorProto.FLOAT if value.dtype.kind == "f" else TensorProto.INT64
        value = value.astype(np.float32 if proto == TensorProto.FLOAT else np.int64)
        inits.append(numpy_helper.from_array(value[None], f"{name}_c"))
        inits.append(numpy_helper.from_array(np.array(value.shape, np.int64), f"{name}_s"))
        nodes.append(helper.make_node("Concat", ["xs", f"{name}_s"], [f"{name}_shape"], axis=0))
        nodes.append(helper.make_node("Expand", [f"{name}_c", f"{name}_shape"], [name]))
        outs.append(helper.make_tensor_value_info(name, proto, ["N", *value.shape]))
    graph = helper.make_graph(
        nodes,
        "constant",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", *shape])],
        outs,
        initializer=inits,
    )
    return _save(graph, path)


def write_images(
    folder: Path, n: int, *, size=(20, 12), seed: int = 0, fmt: str = "png"
) -> list[Path]:
    """n random RGB images (width, height = size) as files; returns their paths."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        arr = rng.integers(0, 256, size=(size[1], size[0], 3), dtype=np.uint8)
        p = folder / f"img_{i:04d}.{fmt}"
        Image.fromarray(arr).save(p)
        paths.append(p)
    return paths
