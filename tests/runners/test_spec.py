"""The preprocessing spec: files next to the model, keyword arguments, validation."""

from __future__ import annotations

import json

import pytest

from assay.errors import InputError
from assay.runners import DetectionSpec, PreprocessSpec, load_spec, read_spec_file, spec_path_for


def test_json_spec_next_to_model(tmp_path):
    model = tmp_path / "model.onnx"
    model.write_bytes(b"")
    (tmp_path / "model.preprocess.json").write_text(
        json.dumps(
            {
                "size": [224, 224],
                "resize": 256,
                "resize_mode": "shorter",
                "mean": [0.485, 0.456, 0.406],
                "std": [0.229, 0.224, 0.225],
                "channels": "BGR",
                "layout": "NHWC",
                "dtype": "float32",
                "labels_file": "names.txt",
                "detection": {"format": "yolo", "objectness": True, "iou_threshold": 0.6},
            }
        )
    )
    assert spec_path_for(model) == tmp_path / "model.preprocess.json"
    spec = load_spec(model)
    assert spec.size == (224, 224) and spec.resize == 256 and spec.crop is None
    assert spec.mean == (0.485, 0.456, 0.406) and spec.channels == "BGR" and spec.layout == "NHWC"
    assert spec.labels_file == str(tmp_path / "names.txt")  # relative to the spec file
    assert spec.detection == DetectionSpec(format="yolo", objectness=True, iou_threshold=0.6)
    assert spec.source == str(tmp_path / "model.preprocess.json")


def test_yaml_spec_and_keyword_overrides(tmp_path):
    model = tmp_path / "net.onnx"
    (tmp_path / "net.preprocess.yaml").write_text(
        "size: [32, 48]\nscale: 1.0\nmean: 127.5\nstd: 127.5\ntask: multilabel\n"
        "activation: sigmoid\nclasses: a, b, c\n"
    )
    spec = load_spec(model, channels="L", size=(16, 16))
    assert spec.size == (16, 16) and spec.channels == "L"
    assert spec.mean == (127.5,) and spec.scale == 1.0 and spec.task == "multilabel"
    assert spec.classes == ("a", "b", "c") and spec.activation == "sigmoid"


def test_defaults_without_a_file(tmp_path):
    spec = load_spec(tmp_path / "m.onnx")
    assert spec == PreprocessSpec()
    assert spec.scale == pytest.approx(1 / 255) and spec.layout is None and spec.size is None


def test_detection_task_gets_a_default_layout():
    assert PreprocessSpec(task="detection").detection == DetectionSpec()


@pytest.mark.parametrize(
    ("content", "field", "words"),
    [
        ({"sise": [3, 3]}, "sise", "unknown field"),
        ({"size": [0, 3]}, "size", "positive integers"),
        ({"size": 224}, "size", "(height, width)"),
        ({"resize_mode": "squash"}, "resize_mode", "not one of"),
        ({"resize": [3, 3], "resize_mode": "shorter"}, "resize", "one integer"),
        ({"mean": [1, 2]}, "mean", "1 or 3 numbers"),
        ({"std": [1, 0, 1]}, "std", "standard deviation of 0"),
        ({"scale": -1}, "scale", "positive number"),
        ({"layout": "CHW"}, "layout", "not one of"),
        ({"dtype": "uint8"}, "dtype", "raw pixels"),
        ({"classes": ["a", "a"]}, "classes", "distinct"),
        ({"detection": {"format": "ssd"}}, "format", "not one of"),
        ({"detection": {"iou": 0.5}}, "detection.iou", "unknown field"),
        ({"detection": {"iou_threshold": 2}}, "detection.iou_threshold", "[0, 1]"),
    ],
)
def test_bad_specs_name_the_file_and_the_field(tmp_path, content, field, words):
    path = tmp_path / "m.preprocess.json"
    path.write_text(json.dumps(content))
    with pytest.raises(InputError) as err:
        read_spec_file(path)
    message = str(err.value)
    assert message.startswith(str(path)) and f"'{field}" in message and words in message
    assert "\n" not in message


def test_bad_keyword_argument_is_named():
    with pytest.raises(InputError, match=r"keyword arguments: field 'channels'.*not one of"):
        load_spec("x.onnx", channels="RGBA")


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("m.preprocess.json", "{not json", "not valid JSON"),
        ("m.preprocess.yaml", "size: [1, 2\n", "not valid YAML"),
        ("m.preprocess.json", "[1, 2]", "expected a mapping"),
    ],
)
def test_unreadable_spec_files(tmp_path, name, text, words):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(InputError, match=words) as err:
        read_spec_file(path)
    assert str(err.value).startswith(str(path))
