"""Post-training INT8 quantization of a registered model, calibrated on a registered dataset
version, the child registered as a new version of the same model with its parent
(``assay models optimize``, the Models page's Optimize job, the demo's INT8 child).

Calibration: ``samples`` images of the dataset version (a seeded random choice among those
whose file is still there, in the dataset's order), read through the model's own preprocessing
(its stored spec, :func:`assay.runners.load_batch`), so the activation ranges are those of the
tensors the model sees when Assay runs it.

- ONNX (``onnxruntime``): :func:`onnxruntime.quantization.quantize_static`, QDQ format (Quantize /
  DequantizeLinear pairs around each quantized operator, which ONNX Runtime fuses into integer
  kernels on the CPU and which every execution provider reads), activations as unsigned 8 bits
  (asymmetric: ReLU outputs use the whole range), weights as signed 8 bits **per output channel**
  (one scale per Conv filter / Gemm / MatMul column, so a channel with small weights keeps its
  precision: the usual choice for convolutional networks), ranges from MinMax calibration. On the
  demo's digits MLP both settings stay within one held-out digit of FP32 (accuracy 0.9666 FP32,
  0.9666 per channel, 0.9683 per tensor, 599 digits), so per channel costs nothing there.
- OpenVINO IR (``openvino``): NNCF's :func:`nncf.quantize` (its default preset: symmetric
  weights and activations per channel, the MinMax / FastBiasCorrection pipeline), saved as IR with
  FP32 weights kept where not quantized. Needs the ``nncf`` extra (not part of ``openvino``:
  NNCF 2.19 pins numpy < 2.3, pandas < 2.4 and networkx < 3.5, which would hold back every other
  extra installed beside it).

Exclusion (``--exclude-head``, ``--exclude NODE_OR_OP,...``): nodes left in float. ``exclude``
names ONNX nodes (by name; an unnamed node is named ``<OpType>_<position>`` in the graph) or
operator types (every node of that type); with NNCF, IgnoredScope's names and types. The *head*
(:func:`onnx_head_nodes`) is every node between the last weighted operators (Conv, Gemm, MatMul)
and the graph's outputs. It matters for a detector whose output concatenates box coordinates (in
pixels, hundreds) with class probabilities (0 to 1): a quantized Concat shares one scale, so the
probabilities keep about two levels. On the demo's shape detector (60 scenes) AP50 is 0.744 FP32,
0.424 with the whole graph quantized, 0.740 with its head excluded (Softmax, Slice, the box's Mul
and Add, Concat, Reshape kept in float; both Conv pairs quantized).

Refused in one line (an :class:`~assay.errors.InputError`): a version without a model (a
predictions file), a backend neither of the two (TorchScript, Hugging Face, scikit-learn), a model
already quantized (Quantize / DequantizeLinear, QLinear* or *Integer operators; OpenVINO
FakeQuantize), a model that does not take images or whose input size is not known (a dynamic
height and width with no ``size`` in its spec: there is no one tensor shape to calibrate), a
non-float32 input, and a dataset version without images.

>>> child = optimize_int8(ws, 3, calibration=5, samples=300)  # doctest: +SKIP
>>> child.parent_version_id, child.version  # doctest: +SKIP
(3, 'int8')
"""

from __future__ import annotations

import contextlib
import io
import logging
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import InputError, ParameterError, one_line
from assay.runners import load_batch
from assay.store.records import ModelVersion
from assay.store.workspace import Workspace

Progress = Callable[[int, int], None]  # (calibration samples read, of total)

DEFAULT_SAMPLES = 300  # calibration samples: ONNX Runtime's and NNCF's usual few hundred
MAX_SAMPLES = 10_000
CALIBRATION_BATCH = 32
BACKENDS = ("onnxruntime", "openvino")
# operators only a quantized ONNX graph holds
QUANTIZED_ONNX_OPS = frozenset(
    {
        "QuantizeLinear",
        "DequantizeLinear",
        "DynamicQuantizeLinear",
        "QLinearConv",
        "QLinearMatMul",
        "QLinearAdd",
        "QLinearMul",
        "MatMulInteger",
        "ConvInteger",
        "QGemm",
        "DynamicQuantizeMatMul",
    }
)


def optimize_int8(
    ws: Workspace,
    model_version_id: int,
    *,
    calibration: int,
    samples: int = DEFAULT_SAMPLES,
    version: str | None = None,
    name: str | None = None,
    seed: int = 0,
    exclude: Sequence[str] = (),
    exclude_head: bool = False,
    progress: Progress | None = None,
) -> ModelVersion:
    """Quantize model version ``model_version_id`` to INT8, calibrated on ``samples`` images of
    dataset version ``calibration``, and register the child (model ``name``, default the
    parent's; label ``version``, default ``int8``) with its parent. ``exclude``: node names or
    operator types kept in float; ``exclude_head``: the output head kept in float (ONNX; see
    the module docstring). A name that is neither a node nor an operator type of the graph is a
    :class:`ParameterError`. The same parent, data and settings give the same bytes, so a
    second call gives the same version back."""
    if not 1 <= samples <= MAX_SAMPLES:
        raise ParameterError(f"--samples must be between 1 and {MAX_SAMPLES} (got {samples})")
    exclude = _exclusions(exclude)
    parent = ws.get_model_version(model_version_id)
    if not parent.runnable:
        raise InputError(
            f"model version {parent.id} was registered from a predictions file; "
            "there is no model to quantize"
        )
    backend = parent.backend or "?"
    if backend not in BACKENDS:
        raise InputError(
            f"model version {parent.id} is a {backend} model; INT8 quantization takes ONNX "
            "(onnxruntime) or OpenVINO IR models"
        )
    runner = ws.load_model_runner(parent.id)
    model_path = Path(runner.path)
    if backend == "onnxruntime":
        refuse_quantized_onnx(model_path, parent.id)
    else:
        refuse_quantized_openvino(model_path, parent.id)
        if exclude_head:
            raise ParameterError(
                "--exclude-head is for ONNX models; name an OpenVINO model's nodes or operator "
                "types with --exclude"
            )
    info = runner.describe()
    spec = runner.spec
    if info.media != "image":
        raise InputError(
            f"model version {parent.id} takes {info.media}; calibration reads images "
            "(INT8 here is for image models)"
        )
    if spec.size is None:
        raise InputError(
            f"model version {parent.id} has a dynamic input height and width and no 'size' in "
            "its spec; give it one (assay models add --input-size) to calibrate it"
        )
    if (spec.dtype or "float32") != "float32":
        raise InputError(
            f"model version {parent.id} takes {spec.dtype} input; only float32 models are quantized"
        )
    paths = calibration_paths(ws, calibration, samples, seed=seed)
    batches = _Batches(paths, spec, progress)
    kept = ""
    with tempfile.TemporaryDirectory(prefix="assay-int8-") as tmp:
        if backend == "onnxruntime":
            out = Path(tmp) / f"{model_path.stem}-int8.onnx"
            named = Path(tmp) / f"{model_path.stem}-named.onnx"
            nodes = onnx_excluded_nodes(model_path, named, exclude, head=exclude_head)
            kept = f", {len(nodes)} nodes kept in float" if nodes else ""
            source = named if nodes else model_path
            quantize_onnx(source, out, batches, input_name=str(info.input_name), exclude=nodes)
        else:
            out = Path(tmp) / f"{model_path.stem}-int8.xml"
            quantize_openvino(model_path, out, batches, len(paths), exclude=exclude)
            kept = f", {', '.join(exclude)} kept in float" if exclude else ""
        return ws.add_model(
            out,
            name=name or parent.model_name,
            version=version or "int8",
            parent_version_id=parent.id,
            spec=spec,
            origin=(
                f"INT8 of model version {parent.id} (assay models optimize, calibrated on "
                f"{len(paths)} images of dataset version {calibration}{kept})"
            ),
        )


def calibration_paths(ws: Workspace, version_id: int, samples: int, *, seed: int = 0) -> list[Path]:
    """Up to ``samples`` image files of dataset version ``version_id``: a seeded random choice
    among the samples whose file is registered with it and still there, in the dataset's order."""
    dv = ws.get_dataset_version(version_id)
    table = ws.samples_table(version_id)
    if "path" not in table.column_names or table.num_rows == 0:
        raise InputError(
            f"dataset version {version_id} ({dv.dataset_name} {dv.version}) has no images "
            "to calibrate on"
        )
    order = np.random.default_rng(seed).permutation(table.num_rows)
    chosen: list[int] = []
    for index in order:
        if len(chosen) == samples:
            break
        try:
            path = ws.media_path(version_id, int(index))
        except Exception:  # a file moved out of the dataset's folder: not read
            path = None
        if path is not None and path.is_file():
            chosen.append(int(index))
    if not chosen:
        raise InputError(
            f"none of the images of dataset version {version_id} ({dv.dataset_name} "
            f"{dv.version}) is still there to calibrate on"
        )
    chosen.sort()
    return [p for p in (ws.media_path(version_id, i) for i in chosen) if p is not None]


class _Batches:
    """The calibration tensors, batch by batch, through the model's preprocessing; calls
    ``progress(done, total)`` as it goes."""

    def __init__(self, paths: list[Path], spec: Any, progress: Progress | None) -> None:
        self.paths = paths
        self.spec = spec
        self.progress = progress

    def __len__(self) -> int:
        return len(self.paths)

    def __iter__(self) -> Iterator[np.ndarray]:
        total = len(self.paths)
        if self.progress is not None:
            self.progress(0, total)
        for start in range(0, total, CALIBRATION_BATCH):
            chunk = self.paths[start : start + CALIBRATION_BATCH]
            batch, _ = load_batch(list(chunk), self.spec)
            yield np.ascontiguousarray(batch, dtype=np.float32)
            if self.progress is not None:
                self.progress(start + len(chunk), total)


def onnx_ops(path: Path) -> set[str]:
    """The operator types of an ONNX graph (its subgraphs' too), read without its weights."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    ops: set[str] = set()
    graphs = [model.graph]
    while graphs:
        graph = graphs.pop()
        for node in graph.node:
            ops.add(node.op_type)
            for attr in node.attribute:
                if attr.g is not None and attr.g.node:
                    graphs.append(attr.g)
                graphs.extend(g for g in attr.graphs)
    return ops


def refuse_quantized_onnx(path: Path, version_id: int) -> None:
    """An :class:`InputError` when the ONNX model at ``path`` is quantized already."""
    found = sorted(onnx_ops(path) & QUANTIZED_ONNX_OPS)
    if found:
        raise InputError(
            f"model version {version_id} is quantized already ({', '.join(found[:3])} "
            "operators); quantize its float parent instead"
        )


MAX_EXCLUDED = 1000  # names in --exclude
WEIGHTED_OPS = frozenset({"Conv", "ConvTranspose", "Gemm", "MatMul"})


def _exclusions(exclude: Sequence[str]) -> list[str]:
    """The names given, stripped, empty ones dropped, bounded."""
    names = [str(n).strip() for n in exclude if str(n).strip()]
    if len(names) > MAX_EXCLUDED or any(len(n) > 256 for n in names):
        raise ParameterError(
            f"--exclude takes at most {MAX_EXCLUDED} names of up to 256 characters"
        )
    return list(dict.fromkeys(names))


def onnx_head_nodes(graph: Any) -> list[str]:
    """The names of the nodes of ``graph`` (an ONNX GraphProto, every node named) that compute
    its outputs after the last weighted operators: walking back from each output, every node
    met before a Conv, ConvTranspose, Gemm or MatMul (those are not part of the head)."""
    producer = {out: node for node in graph.node for out in node.output}
    head: dict[str, None] = {}
    todo = [o.name for o in graph.output]
    seen: set[str] = set()
    while todo:
        tensor = todo.pop()
        node = producer.get(tensor)
        if node is None or node.name in seen:
            continue
        seen.add(node.name)
        if node.op_type in WEIGHTED_OPS:
            continue
        head[node.name] = None
        todo.extend(node.input)
    order = {node.name: k for k, node in enumerate(graph.node)}
    return sorted(head, key=order.__getitem__)


def onnx_excluded_nodes(
    model: Path, named: Path, exclude: Sequence[str], *, head: bool = False
) -> list[str]:
    """The names of the nodes of ``model`` to keep in float: those named in ``exclude``, those
    whose operator type it names, and with ``head`` :func:`onnx_head_nodes`. When any, the model
    is written to ``named`` with every unnamed node named ``<OpType>_<position>`` (the names the
    answer uses). A name matching no node and no operator type is a :class:`ParameterError`."""
    import onnx

    if not exclude and not head:
        return []
    proto = onnx.load(str(model))
    graph = proto.graph
    taken = {n.name for n in graph.node if n.name}
    for k, node in enumerate(graph.node):
        if not node.name:
            candidate = f"{node.op_type}_{k}"
            while candidate in taken:
                candidate += "_"
            node.name = candidate
            taken.add(candidate)
    types = {n.op_type for n in graph.node}
    unknown = [e for e in exclude if e not in taken and e not in types]
    if unknown:
        shown = ", ".join(sorted(taken)[:8]) + (" ..." if len(taken) > 8 else "")
        raise ParameterError(
            f"--exclude: {unknown[0]!r} is neither a node nor an operator type of the model "
            f"(its nodes: {shown}; types: {', '.join(sorted(types))})"
        )
    wanted = set(exclude)
    chosen = {n.name for n in graph.node if n.name in wanted or n.op_type in wanted}
    if head:
        chosen.update(onnx_head_nodes(graph))
    onnx.save(proto, str(named))
    return [n.name for n in graph.node if n.name in chosen]


def quantize_onnx(
    model: Path,
    out: Path,
    batches: _Batches,
    *,
    input_name: str,
    exclude: Sequence[str] = (),
) -> None:
    """ONNX Runtime's static quantization of ``model`` into ``out``: QDQ, activations QUInt8,
    weights QInt8 per channel, MinMax ranges over ``batches``; the nodes named in ``exclude``
    kept in float."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter(batches)

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self.batches, None)
            return None if batch is None else {input_name: batch}

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # the quantizer's advice ("consider pre-processing") on root
    try:
        quantize_static(
            str(model),
            str(out),
            Reader(),
            quant_format=QuantFormat.QDQ,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=list(exclude),
        )
    except InputError:
        raise
    except Exception as exc:  # the quantizer's own errors: one line
        raise InputError(f"ONNX Runtime could not quantize it ({one_line(exc, 300)})") from None
    finally:
        root.setLevel(level)


def refuse_quantized_openvino(path: Path, version_id: int) -> None:
    """An :class:`InputError` when the OpenVINO IR at ``path`` holds FakeQuantize operators."""
    import openvino as ov

    model = ov.Core().read_model(str(path))
    if any(op.get_type_name() in ("FakeQuantize", "FakeConvert") for op in model.get_ops()):
        raise InputError(
            f"model version {version_id} is quantized already (FakeQuantize operators); "
            "quantize its float parent instead"
        )


def quantize_openvino(
    model: Path, out: Path, batches: _Batches, n_samples: int, *, exclude: Sequence[str] = ()
) -> None:
    """NNCF's post-training quantization of the OpenVINO IR at ``model`` into ``out`` (.xml and
    .bin), calibrated on ``batches`` (one sample per calibration item); ``exclude``: operation
    names or types kept in float (NNCF's IgnoredScope)."""
    try:
        import nncf
    except ImportError:
        raise InputError(
            "quantizing an OpenVINO model needs NNCF: pip install 'assay[nncf]'"
        ) from None
    import openvino as ov

    logging.getLogger("nncf").setLevel(logging.ERROR)
    items = [sample[None] for batch in batches for sample in batch]
    ov_model = ov.Core().read_model(str(model))
    scope = None
    if exclude:
        names = {op.get_friendly_name() for op in ov_model.get_ops()}
        types = {op.get_type_name() for op in ov_model.get_ops()}
        unknown = [e for e in exclude if e not in names and e not in types]
        if unknown:
            raise ParameterError(
                f"--exclude: {unknown[0]!r} is neither an operation nor an operation type of "
                f"the model (types: {', '.join(sorted(types))})"
            )
        scope = nncf.IgnoredScope(
            names=[e for e in exclude if e in names],
            types=[e for e in exclude if e in types and e not in names],
            validate=False,
        )
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # NNCF's own progress bars
            quantized = nncf.quantize(
                ov_model,
                nncf.Dataset(items),
                subset_size=n_samples,
                **({"ignored_scope": scope} if scope is not None else {}),
            )
        ov.save_model(quantized, str(out), compress_to_fp16=False)
    except Exception as exc:
        raise InputError(f"NNCF could not quantize it ({one_line(exc, 300)})") from None
