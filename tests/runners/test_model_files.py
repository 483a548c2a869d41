"""Everything a model brings lies inside its folder, links followed: a spec's labels file or
tokenizer, sibling labels, the spec itself, an OpenVINO .bin, ONNX external data, a model folder's
files. Anything else is one line naming the model (or spec) and the field, quoting nothing of the
file it points at, and is refused before a backend loads anything."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from assay.errors import InputError
from assay.runners import load_runner, load_spec
from assay.runners.files import external_locations, model_files, onnx_external_data
from tests.runners.models import OPSET, linear_softmax, reference_probs

PASSWD = Path("/etc/passwd")
SECRET_LINES = ["root:x:0:0:root:/root:/bin/bash", "s3cret-token-1234"]


@pytest.fixture()
def secret(tmp_path: Path) -> Path:
    """A file outside every model folder whose lines must never show."""
    path = tmp_path / "outside" / "secret.txt"
    path.parent.mkdir()
    path.write_text("\n".join(SECRET_LINES) + "\n")
    return path


def _refused(call, *words: str) -> str:
    with pytest.raises(InputError) as err:
        call()
    message = str(err.value)
    assert "\n" not in message, message
    for word in words:
        assert word in message, message
    leaked = list(SECRET_LINES)
    if PASSWD.is_file():
        leaked += [line for line in PASSWD.read_text().splitlines() if line.strip()]
    assert not any(line in message for line in leaked), message
    return message


def model_in(folder: Path, name: str = "lin.onnx", n_classes: int = 4) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path, _, _ = linear_softmax(folder / name, n_classes=n_classes)
    return path


def external_model(folder: Path, location: str = "lin.data") -> tuple[Path, np.ndarray, np.ndarray]:
    """``lin.onnx`` whose every tensor lies in the external file ``location``."""
    folder.mkdir(parents=True, exist_ok=True)
    path, w, b = linear_softmax(folder / "lin.onnx", n_classes=4)
    model = onnx.load(str(path))
    (folder / location).parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(
        model,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location=location,
        size_threshold=0,
    )
    return path, w, b


def _relocate(path: Path, location: str) -> None:
    """Point every external tensor of ``path`` at ``location`` (as an attacker would)."""
    model = onnx.load(str(path), load_external_data=False)
    for tensor in model.graph.initializer:
        for entry in tensor.external_data:
            if entry.key == "location":
                entry.value = location
    onnx.save(model, str(path))


# ------------------------------------------------------------------ the spec and its fields


@pytest.mark.parametrize("value", ["/etc/passwd", "../outside/secret.txt", "link.txt"])
def test_a_specs_labels_file_outside_the_folder_is_refused(
    tmp_path: Path, secret: Path, value: str
) -> None:
    model = model_in(tmp_path / "m")
    (tmp_path / "m" / "link.txt").symlink_to(secret)
    spec = tmp_path / "m" / "lin.preprocess.json"
    spec.write_text(json.dumps({"labels_file": value}))
    _refused(lambda: load_runner(model), str(spec), "field 'labels_file'", "outside")
    _refused(lambda: load_spec(model), "field 'labels_file'")


def test_a_labels_file_inside_the_folder_still_reads(tmp_path: Path) -> None:
    model = model_in(tmp_path / "m")
    (tmp_path / "m" / "names").mkdir()
    (tmp_path / "m" / "names" / "real.txt").write_text("a\nb\nc\nd\n")
    (tmp_path / "m" / "names.txt").symlink_to(tmp_path / "m" / "names" / "real.txt")
    (tmp_path / "m" / "lin.preprocess.json").write_text('{"labels_file": "names.txt"}')
    assert load_runner(model).describe().classes == ("a", "b", "c", "d")


def test_a_spec_that_links_outside_is_refused(tmp_path: Path, secret: Path) -> None:
    model = model_in(tmp_path / "m")
    secret.with_name("spec.json").write_text('{"labels_file": "secret.txt"}')
    (tmp_path / "m" / "lin.preprocess.json").symlink_to(secret.with_name("spec.json"))
    _refused(lambda: load_runner(model), str(model), "spec 'lin.preprocess.json'", "outside")


@pytest.mark.parametrize("name", ["labels.txt", "lin.labels.txt"])
def test_sibling_labels_that_link_outside_are_refused(
    tmp_path: Path, secret: Path, name: str
) -> None:
    model = model_in(tmp_path / "m")
    (tmp_path / "m" / name).symlink_to(secret)
    _refused(lambda: load_runner(model), str(model), f"labels file '{name}'", "outside")
    (tmp_path / "m" / name).unlink()
    (tmp_path / "m" / name).symlink_to(PASSWD)
    _refused(lambda: load_runner(model), f"labels file '{name}'", "outside")


def test_a_dangling_link_outside_looks_the_same(tmp_path: Path, secret: Path) -> None:
    model = model_in(tmp_path / "m")
    (tmp_path / "m" / "labels.txt").symlink_to(secret)
    first = _refused(lambda: load_runner(model))
    (tmp_path / "m" / "labels.txt").unlink()
    (tmp_path / "m" / "labels.txt").symlink_to(tmp_path / "outside" / "no-such-file")
    assert _refused(lambda: load_runner(model)) == first


def test_a_tokenizer_folder_outside_is_refused(tmp_path: Path, secret: Path) -> None:
    model = model_in(tmp_path / "m")
    (tmp_path / "m" / "tok").symlink_to(secret.parent, target_is_directory=True)
    spec = tmp_path / "m" / "lin.preprocess.json"
    for value in ("tok", "/etc/ssl", "../outside"):
        spec.write_text(json.dumps({"tokenizer": value}))
        _refused(lambda: load_runner(model), str(spec), "field 'tokenizer'", "outside")


def test_a_tokenizer_folder_with_a_link_outside_is_refused(tmp_path: Path, secret: Path) -> None:
    model = model_in(tmp_path / "m")
    (tmp_path / "m" / "tok").mkdir()
    (tmp_path / "m" / "tok" / "vocab.txt").symlink_to(secret)
    spec = tmp_path / "m" / "lin.preprocess.json"
    spec.write_text('{"tokenizer": "tok"}')
    _refused(lambda: load_spec(model), str(spec), "field 'tokenizer', file 'vocab.txt'")


def test_a_model_folder_with_a_link_outside_is_refused_before_loading(
    tmp_path: Path, secret: Path
) -> None:
    folder = tmp_path / "clf"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "bert"}')
    (folder / "tokenizer.json").symlink_to(secret)  # the hf extra need not even be installed
    _refused(lambda: load_runner(folder), str(folder), "file 'tokenizer.json'", "outside")
    (folder / "tokenizer.json").unlink()
    (folder / "sub").mkdir()
    (folder / "sub" / "loop").symlink_to(folder, target_is_directory=True)
    _refused(lambda: load_runner(folder), "file 'sub/loop'", "a link to a folder that holds it")


# ------------------------------------------------------------------ OpenVINO weights


@pytest.mark.parametrize("given", ["ir.xml", "ir.bin"])
def test_an_openvino_bin_that_links_outside_is_refused_before_loading(
    tmp_path: Path, secret: Path, given: str
) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "ir.xml").write_text('<?xml version="1.0"?><net name="x" version="11"></net>')
    (folder / "ir.bin").symlink_to(secret)
    _refused(
        lambda: load_runner(folder / given), str(folder / "ir.xml"), "weights 'ir.bin'", "outside"
    )


def test_an_openvino_pair_inside_is_both_files(tmp_path: Path) -> None:
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "ir.xml").write_text("<net/>")
    (folder / "ir.bin").write_bytes(b"\0" * 8)
    names = [name for _, name in model_files(folder / "ir.bin")]
    assert names == ["ir.xml", "ir.bin"]


# ------------------------------------------------------------------ ONNX external data


def test_an_onnx_model_with_external_weights_runs(tmp_path: Path) -> None:
    path, w, b = external_model(tmp_path / "m", location="weights.data")
    assert onnx_external_data(path) == ["weights.data"]
    assert [n for _, n in model_files(path)] == ["lin.onnx", "weights.data"]
    x = np.random.default_rng(0).uniform(size=(2, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(load_runner(path).predict(x), reference_probs(x, w, b), rtol=1e-5)


@pytest.mark.parametrize(
    "location",
    ["../outside/secret.txt", "/etc/passwd", "link.data", "sub/../../outside/secret.txt"],
)
def test_external_data_outside_the_folder_is_refused(
    tmp_path: Path, secret: Path, location: str
) -> None:
    path, _, _ = external_model(tmp_path / "m")
    (tmp_path / "m" / "link.data").symlink_to(secret)
    _relocate(path, location)
    _refused(
        lambda: load_runner(path), str(path), f"external data location {location!r}", "outside"
    )


@pytest.mark.parametrize(
    ("location", "words"),
    [
        ("*/_ORT_MEM_ADDR_/*", "not a file name"),
        ("missing.data", "no such file"),
        ("sub/../lin.data", "not a path relative to the model's folder"),
    ],
)
def test_external_data_that_is_no_file_is_refused(
    tmp_path: Path, location: str, words: str
) -> None:
    path, _, _ = external_model(tmp_path / "m")
    _relocate(path, location)
    _refused(lambda: load_runner(path), str(path), words)


def test_external_data_in_a_subgraph_is_found(tmp_path: Path) -> None:
    """An initializer of an If node's branch is a tensor too."""
    value = numpy_helper.from_array(np.ones(3, np.float32), "k")
    value.data_location = TensorProto.EXTERNAL
    for key, v in (("location", "../deep.bin"), ("offset", "0"), ("length", "12")):
        entry = value.external_data.add()
        entry.key, entry.value = key, v
    value.ClearField("raw_data")
    branch = helper.make_graph(
        [helper.make_node("Identity", ["k"], ["y1"])],
        "then",
        [],
        [helper.make_tensor_value_info("y1", TensorProto.FLOAT, [3])],
        initializer=[value],
    )
    other = helper.make_graph(
        [helper.make_node("Constant", [], ["y2"], value_floats=[0.0, 0.0, 0.0])],
        "else",
        [],
        [helper.make_tensor_value_info("y2", TensorProto.FLOAT, [3])],
    )
    graph = helper.make_graph(
        [helper.make_node("If", ["c"], ["y"], then_branch=branch, else_branch=other)],
        "g",
        [helper.make_tensor_value_info("c", TensorProto.BOOL, [])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])],
    )
    model = helper.make_model(graph, opset_imports=OPSET)
    assert external_locations(model.SerializeToString()) == ["../deep.bin"]
    path = tmp_path / "m" / "if.onnx"
    path.parent.mkdir()
    path.write_bytes(model.SerializeToString())
    _refused(lambda: load_runner(path), "external data location '../deep.bin'", "outside")


def test_a_plain_model_has_no_external_data(tmp_path: Path) -> None:
    assert onnx_external_data(model_in(tmp_path / "m")) == []
