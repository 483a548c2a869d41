"""The ONNX Runtime runner on models built in the test, the registry, and bad model files."""

from __future__ import annotations

import json

import numpy as np
import pytest
from onnx import TensorProto
from PIL import Image

from assay.errors import InputError
from assay.runners import (
    MissingExtraError,
    Runner,
    load_batch,
    load_runner,
    register_runner,
    runner_entry,
)
from tests.runners.models import constant_outputs, linear_softmax, reference_probs


def test_softmax_of_a_linear_map(tmp_path):
    path, w, b = linear_softmax(
        tmp_path / "lin.onnx", metadata={"classes": json.dumps(["a", "b", "c", "d"])}
    )
    runner = load_runner(path)
    assert isinstance(runner, Runner)
    info = runner.describe()
    assert info.backend == "onnxruntime" and info.task == "classification"
    assert info.classes == ("a", "b", "c", "d") and info.media == "image"
    assert info.input_shape == (3, 8, 8) and info.layout == "NCHW" and info.dtype == "float32"
    assert runner.spec.size == (8, 8)  # filled in from the model
    x = np.random.default_rng(0).uniform(size=(5, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(runner.predict(x), reference_probs(x, w, b), rtol=1e-5, atol=1e-6)


def test_logits_with_softmax_activation_and_labels_file(tmp_path):
    path, w, b = linear_softmax(tmp_path / "lin.onnx", softmax=False, n_classes=3)
    (tmp_path / "lin.labels.txt").write_text("cat\ndog\nfox\n")
    runner = load_runner(path, activation="softmax", runner_options={"threads": 1})
    assert runner.describe().classes == ("cat", "dog", "fox")
    x = np.random.default_rng(1).uniform(size=(4, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(runner.predict(x), reference_probs(x, w, b), rtol=1e-5, atol=1e-6)


def test_images_through_spec_file_then_model(tmp_path):
    path, w, b = linear_softmax(
        tmp_path / "m.onnx", shape=(8, 8, 3), metadata={"labels": "p,q,r,s"}
    )
    (tmp_path / "m.preprocess.json").write_text(
        json.dumps(
            {
                "layout": "NHWC",
                "mean": [0.5, 0.5, 0.5],
                "std": [0.25, 0.25, 0.25],
                "channels": "BGR",
            }
        )
    )
    img = np.random.default_rng(2).integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "x.png")
    runner = load_runner(path)
    assert runner.spec.size == (8, 8) and runner.spec.layout == "NHWC"
    batch, _ = load_batch([tmp_path / "x.png"], runner.spec)
    ref_x = ((img[:, :, ::-1] / 255.0 - 0.5) / 0.25)[None].astype(np.float32)
    np.testing.assert_allclose(batch, ref_x, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(runner.predict(batch), reference_probs(ref_x, w, b), rtol=1e-4)


def test_uint8_model_takes_raw_pixels(tmp_path):
    path, w, b = linear_softmax(tmp_path / "u8.onnx", shape=(4, 4, 3), dtype=TensorProto.UINT8)
    runner = load_runner(path)
    assert runner.spec.dtype == "uint8" and runner.spec.scale == 1.0
    assert runner.spec.layout == "NHWC"
    img = np.random.default_rng(3).integers(0, 256, size=(4, 4, 3), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "x.png")
    batch, _ = load_batch([tmp_path / "x.png"], runner.spec)
    assert batch.dtype == np.uint8 and np.array_equal(batch[0], img)
    np.testing.assert_allclose(
        runner.predict(batch), reference_probs(batch, w, b), rtol=1e-4, atol=1e-12
    )


def test_detection_model_end_to_end(tmp_path):
    boxes = np.array([[0.0, 0.0, 8.0, 8.0], [4.0, 4.0, 16.0, 12.0]])
    path = constant_outputs(
        tmp_path / "det.onnx",
        {"boxes": boxes, "scores": np.array([0.2, 0.9]), "labels": np.array([0, 1])},
    )
    (tmp_path / "det.labels.txt").write_text("circle\nsquare\n")
    runner = load_runner(path, task="detection")
    Image.new("RGB", (32, 64)).save(tmp_path / "a.png")  # w 32, h 64 -> input 16 x 16
    batch, geos = load_batch([tmp_path / "a.png"], runner.spec)
    (det,) = runner.predict(batch, geos)
    np.testing.assert_allclose(det.scores, [0.9, 0.2], rtol=1e-6)
    assert det.labels.tolist() == [1, 0]
    np.testing.assert_allclose(det.boxes, [[8, 16, 32, 48], [0, 0, 16, 32]])


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "not a loadable ONNX model"),
        (b"hello, I am a text file\n" * 3, "not a loadable ONNX model"),
    ],
)
def test_not_a_model(tmp_path, content, words):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        load_runner(path)
    message = str(err.value)
    assert message.startswith(str(path)) and words in message and "\n" not in message


def test_truncated_model(tmp_path):
    path, _, _ = linear_softmax(tmp_path / "m.onnx", shape=(3, 32, 32))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"m.onnx: not a loadable ONNX model") as err:
        load_runner(path)
    assert "\n" not in str(err.value)


def test_spec_that_does_not_fit_the_model(tmp_path):
    path, _, _ = linear_softmax(tmp_path / "m.onnx")
    (tmp_path / "m.preprocess.yaml").write_text("size: [16, 16]\n")
    with pytest.raises(InputError) as err:
        load_runner(path)
    message = str(err.value)
    assert message.startswith(str(path)) and "field 'size'" in message and "8x8" in message
    with pytest.raises(InputError, match="input has 3 channels"):
        load_runner(path, size=(8, 8), channels="L")
    with pytest.raises(InputError, match="gives 4 scores but 2 class names"):
        load_runner(path, size=(8, 8), classes=["a", "b"])
    with pytest.raises(InputError, match="no input named 'image'"):
        load_runner(path, size=(8, 8), input_name="image")


def test_wrong_batch_shape_is_one_line(tmp_path):
    path, _, _ = linear_softmax(tmp_path / "m.onnx")
    runner = load_runner(path)
    with pytest.raises(
        InputError, match=r"m.onnx: inference failed on a batch of shape \[2, 3, 9, 9\]"
    ) as err:
        runner.predict(np.zeros((2, 3, 9, 9), np.float32))
    assert "\n" not in str(err.value)


def test_registry_errors(tmp_path):
    with pytest.raises(InputError, match="no such model file"):
        load_runner(tmp_path / "missing.onnx")
    other = tmp_path / "model.h5"
    other.write_bytes(b"x")
    with pytest.raises(InputError, match=r"model.h5: unknown model type '.h5'"):
        load_runner(other)
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(InputError, match="config.json"):
        load_runner(folder)
    (tmp_path / "ir.xml").write_text("<net/>")
    (tmp_path / "ir.bin").write_bytes(b"")
    assert runner_entry(tmp_path / "ir.bin").name == "OpenVINO"


def test_missing_extra_names_the_extra(tmp_path):
    register_runner(
        [".fake"],
        "Fake backend",
        "assay.runners.onnx:OnnxRunner",
        extra="fakeextra",
        requires="assay_no_such_module_for_tests",
    )
    path = tmp_path / "m.fake"
    path.write_bytes(b"")
    with pytest.raises(MissingExtraError) as err:
        load_runner(path)
    assert str(err.value) == (
        f"{path}: Fake backend models need the 'fakeextra' extra: pip install 'assay[fakeextra]'"
    )
