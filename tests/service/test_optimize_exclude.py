"""INT8 with nodes kept in float (:func:`assay.service.optimize.optimize_int8`'s ``exclude`` and
``exclude_head``) on the demo's shape detector, whose output joins box coordinates (pixels) and
class probabilities in one Concat.

Tolerance: with its head excluded the INT8 child's AP50 on 40 held-out scenes is within 0.02 of
its FP32 parent's; the whole graph quantized loses more than 0.15 (the reason for the option)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.demo.models import make_shape_detector
from assay.demo.seed import SHAPE_CLASSES, SHAPES_SIZE
from assay.demo.shapes import make_shapes_dataset
from assay.errors import ParameterError
from assay.service.optimize import onnx_excluded_nodes, onnx_ops, optimize_int8
from assay.service.runs import run_model
from assay.store import Workspace
from assay.store.datasets import register_dataset


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("exclude")
    train_gt, _ = make_shapes_dataset(root / "train", n_images=120, seed=1)
    test_gt, _ = make_shapes_dataset(root / "test", n_images=40, seed=0)
    model = make_shape_detector(train_gt, root / "det.onnx", SHAPE_CLASSES, size=SHAPES_SIZE)
    ws = Workspace(root / "ws")
    parent = ws.add_model(model, name="det", version="fp32")
    train, _, _ = register_dataset(ws, train_gt, name="shapes-train", task="detection")
    yield {"root": root, "ws": ws, "model": model, "parent": parent, "train": train,
           "test": test_gt}  # fmt: skip
    ws.close()


def _ap50(ws: Workspace, version_id: int, gt: Path) -> float:
    return float(run_model(ws, version_id, gt).results.summary()["AP50"])


def test_the_head_is_the_nodes_after_the_last_convolutions(setup: dict, tmp_path: Path) -> None:
    names = onnx_excluded_nodes(setup["model"], tmp_path / "named.onnx", [], head=True)
    assert names == ["Softmax_4", "Slice_5", "Mul_9", "Add_10", "Concat_11", "Reshape_12"]
    by_type = onnx_excluded_nodes(setup["model"], tmp_path / "named.onnx", ["Concat", "Relu_2"])
    assert by_type == ["Relu_2", "Concat_11"]
    assert onnx_excluded_nodes(setup["model"], tmp_path / "unused.onnx", []) == []
    assert not (tmp_path / "unused.onnx").exists()


def test_excluding_the_head_keeps_the_detectors_ap50(setup: dict) -> None:
    ws, parent, train, test = setup["ws"], setup["parent"], setup["train"], setup["test"]
    child = optimize_int8(ws, parent.id, calibration=train.id, samples=120, version="int8-head",
                          exclude_head=True)  # fmt: skip
    whole = optimize_int8(ws, parent.id, calibration=train.id, samples=120, version="int8-all")
    assert child.parent_version_id == parent.id
    assert child.path is not None and "6 nodes kept in float" in child.path
    stored = ws.home / child.artifact / child.info["model_file"]
    assert {"QuantizeLinear", "DequantizeLinear", "Concat"} <= onnx_ops(stored)
    ap_parent = _ap50(ws, parent.id, test)
    ap_child = _ap50(ws, child.id, test)
    ap_whole = _ap50(ws, whole.id, test)
    assert ap_parent > 0.5
    assert abs(ap_child - ap_parent) <= 0.02, (ap_parent, ap_child)
    assert ap_whole < ap_parent - 0.15, (ap_parent, ap_whole)


def test_an_unknown_name_is_refused_and_nothing_stored(setup: dict) -> None:
    ws, parent, train = setup["ws"], setup["parent"], setup["train"]
    before = ws.newest_model_version_id()
    with pytest.raises(ParameterError, match="'Nope' is neither a node nor an operator type"):
        optimize_int8(ws, parent.id, calibration=train.id, samples=8, exclude=["Nope"])
    with pytest.raises(ParameterError, match="at most"):
        optimize_int8(ws, parent.id, calibration=train.id, samples=8, exclude=["x"] * 1001)
    assert ws.newest_model_version_id() == before
