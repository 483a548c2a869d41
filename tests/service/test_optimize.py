"""INT8 quantization of a registered ONNX model (:mod:`assay.service.optimize`): the child is
registered with its parent and stays close to it on held-out data; models it cannot quantize are
refused in one line with nothing stored; and the profile (:mod:`assay.service.profile`).

Tolerance: on 90 held-out images the INT8 child's accuracy is within 3 points of its FP32
parent's, and it gives the parent's top class on at least 95 % of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from assay.errors import InputError, ParameterError
from assay.runners import load_batch
from assay.service.optimize import optimize_int8
from assay.service.profile import parse_batches, profile_model
from assay.store import Workspace
from assay.store.datasets import register_dataset
from tests.service.int8_models import make_classifier, write_folder


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict:
    root = tmp_path_factory.mktemp("int8")
    ws = Workspace(root / "ws")
    model = make_classifier(root / "train", root / "conv.onnx")
    write_folder(root / "test", 30, seed=7)
    parent = ws.add_model(model, name="conv", version="fp32")
    train, _, _ = register_dataset(ws, root / "train", name="train")
    test, _, _ = register_dataset(ws, root / "test", name="test")
    seen: list[tuple[int, int]] = []
    child = optimize_int8(
        ws, parent.id, calibration=train.id, samples=60, progress=lambda d, t: seen.append((d, t))
    )
    yield {
        "root": root,
        "ws": ws,
        "parent": parent,
        "child": child,
        "train": train,
        "test": test,
        "seen": seen,
    }
    ws.close()


def _counts(ws: Workspace) -> tuple[int, int]:
    return ws.newest_model_version_id(), len(ws.list_models())


def test_child_is_registered_with_its_parent(setup: dict) -> None:
    parent, child, ws = setup["parent"], setup["child"], setup["ws"]
    assert child.parent_version_id == parent.id
    assert (child.model_name, child.version, child.backend) == ("conv", "int8", "onnxruntime")
    assert child.info["classes"] == parent.info["classes"]
    # its path says how it was made, not the temporary folder it was quantized in
    assert child.path is not None and child.path.startswith(f"INT8 of model version {parent.id}")
    assert child.info["path"] == child.path and "assay-int8-" not in child.path
    # quantized for real: its stored graph holds Quantize / DequantizeLinear pairs
    from assay.service.optimize import onnx_ops

    stored = ws.home / child.artifact / child.info["model_file"]
    assert {"QuantizeLinear", "DequantizeLinear"} <= onnx_ops(stored)
    assert "QuantizeLinear" not in onnx_ops(ws.home / parent.artifact / parent.info["model_file"])
    # the calibration progress went up to the samples asked for
    assert setup["seen"][0] == (0, 60) and setup["seen"][-1] == (60, 60)


def test_child_stays_close_to_its_parent(setup: dict) -> None:
    ws, root = setup["ws"], setup["root"]
    paths = sorted((root / "test").glob("*/*.png"))
    truth = np.array([["left", "right", "top"].index(p.parent.name) for p in paths])
    top = {}
    for key in ("parent", "child"):
        runner = ws.load_model_runner(setup[key].id)
        batch, _ = load_batch(list(paths), runner.spec)
        top[key] = np.asarray(runner.predict(batch)).argmax(axis=1)
    acc_parent = float(np.mean(top["parent"] == truth))
    acc_child = float(np.mean(top["child"] == truth))
    assert acc_parent > 0.8  # a model worth quantizing
    assert abs(acc_child - acc_parent) <= 0.03
    assert np.mean(top["child"] == top["parent"]) >= 0.95


def test_same_inputs_give_the_same_child_back(setup: dict) -> None:
    ws = setup["ws"]
    again = optimize_int8(ws, setup["parent"].id, calibration=setup["train"].id, samples=60)
    assert again.id == setup["child"].id


def test_refusals_store_nothing(setup: dict, tmp_path: Path) -> None:
    ws, parent, child, train = setup["ws"], setup["parent"], setup["child"], setup["train"]
    before = _counts(ws)
    with pytest.raises(InputError, match="quantized already"):
        optimize_int8(ws, child.id, calibration=train.id)
    with pytest.raises(ParameterError, match="--samples"):
        optimize_int8(ws, parent.id, calibration=train.id, samples=0)
    # a version registered from predictions only
    bare = ws.add_model_version("from-predictions")
    with pytest.raises(InputError, match="predictions file"):
        optimize_int8(ws, bare.id, calibration=train.id)
    # a dataset version without images (a table of texts)
    texts = tmp_path / "texts.csv"
    texts.write_text("id,text,label\n1,hello,a\n2,bye,b\n")
    table, _, _ = register_dataset(ws, texts, name="texts")
    with pytest.raises(InputError, match="no images"):
        optimize_int8(ws, parent.id, calibration=table.id)
    # a dynamic height and width with no size to calibrate at
    dynamic = make_classifier(tmp_path / "train", tmp_path / "dyn.onnx", dynamic_hw=True)
    dyn = ws.add_model(dynamic, name="dyn")
    before = _counts(ws)
    with pytest.raises(InputError, match="dynamic input height and width"):
        optimize_int8(ws, dyn.id, calibration=train.id)
    assert _counts(ws) == before


def test_a_skops_model_is_refused(setup: dict, tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.linear_model import LogisticRegression

    ws = setup["ws"]
    rng = np.random.default_rng(0)
    model = LogisticRegression().fit(rng.normal(size=(20, 3)), np.arange(20) % 2)
    sio.dump(model, tmp_path / "tab.skops")
    version = ws.add_model(tmp_path / "tab.skops", name="sk")
    with pytest.raises(InputError, match="INT8 quantization takes ONNX"):
        optimize_int8(ws, version.id, calibration=setup["train"].id)


def test_profile_fields_are_measured_and_stored(setup: dict) -> None:
    ws, parent = setup["ws"], setup["parent"]
    seen: list[tuple[int, int]] = []
    profile = profile_model(
        ws, parent.id, batches=(1, 4), runs=5, progress=lambda d, t: seen.append((d, t))
    )
    assert profile["device"] == "cpu" and profile["model_version_id"] == parent.id
    assert [row["batch"] for row in profile["batches"]] == [1, 4]
    for row in profile["batches"]:
        assert 0 < row["p50_ms"] <= row["p95_ms"]
        assert row["throughput"] > 0
    model_dir = ws.home / parent.artifact / "model"
    assert profile["size_bytes"] == sum(p.stat().st_size for p in model_dir.iterdir())
    assert profile["peak_memory_bytes"] >= 0
    assert seen[0] == (0, 10) and seen[-1] == (10, 10)
    assert ws.model_profiles(parent.id) == {parent.id: [profile]}
    # profiling again on the device replaces the stored one
    again = profile_model(ws, parent.id, batches=(2,), runs=3)
    assert ws.model_profiles(parent.id) == {parent.id: [again]}


def test_profile_refusals() -> None:
    with pytest.raises(ParameterError):
        parse_batches("0,8")
    with pytest.raises(ParameterError):
        parse_batches("a")
    assert parse_batches("32, 1,8,8") == (1, 8, 32)


def test_openvino_ir_is_quantized_by_nncf(setup: dict, tmp_path: Path) -> None:
    """The NNCF path (the ``nncf`` extra, which CI installs)."""
    pytest.importorskip("nncf")
    import openvino as ov

    ws, root = setup["ws"], setup["root"]
    onnx_model = ws.home / setup["parent"].artifact / setup["parent"].info["model_file"]
    ov.save_model(ov.convert_model(str(onnx_model)), str(tmp_path / "conv.xml"))
    (tmp_path / "conv.preprocess.json").write_text((root / "conv.preprocess.json").read_text())
    parent = ws.add_model(tmp_path / "conv.xml", name="conv-ir")
    child = optimize_int8(ws, parent.id, calibration=setup["train"].id, samples=30)
    assert (child.backend, child.parent_version_id) == ("openvino", parent.id)
    stored = ws.home / child.artifact / child.info["model_file"]
    ops = {op.get_type_name() for op in ov.Core().read_model(str(stored)).get_ops()}
    assert "FakeQuantize" in ops
    paths = sorted((root / "test").glob("*/*.png"))
    top = []
    for version in (parent, child):
        runner = ws.load_model_runner(version.id)
        batch, _ = load_batch(list(paths), runner.spec)
        top.append(np.asarray(runner.predict(batch)).argmax(axis=1))
    assert np.mean(top[0] == top[1]) >= 0.95
    with pytest.raises(InputError, match="quantized already"):
        optimize_int8(ws, child.id, calibration=setup["train"].id)
