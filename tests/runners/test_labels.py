"""Class names from the spec, the model's metadata or a labels file next to it."""

from __future__ import annotations

import pytest

from assay.errors import InputError
from assay.runners import parse_names, read_labels_file, resolve_classes


@pytest.mark.parametrize(
    "text",
    ['["cat", "dog", "red fox"]', "cat, dog ,red fox", '{"0": "cat", "2": "red fox", "1": "dog"}'],
)
def test_metadata_forms(text):
    assert parse_names(text, source="m.onnx") == ("cat", "dog", "red fox")


def test_bad_metadata():
    with pytest.raises(InputError, match="m.onnx: class names are not valid JSON"):
        parse_names("[cat", source="m.onnx")
    with pytest.raises(InputError, match="appears twice"):
        parse_names("a,b,a", source="m.onnx")


def test_labels_file_and_precedence(tmp_path):
    model = tmp_path / "net.onnx"
    model.write_bytes(b"")
    assert resolve_classes(model) is None
    (tmp_path / "labels.txt").write_text("x\ny\n")
    assert resolve_classes(model) == ("x", "y")
    (tmp_path / "net.labels.txt").write_text("cat\n\n  dog  \n")
    assert resolve_classes(model) == ("cat", "dog")
    assert resolve_classes(model, metadata={"labels": "a,b"}) == ("a", "b")
    assert resolve_classes(
        model, labels_file=str(tmp_path / "labels.txt"), metadata={"labels": "a,b"}
    ) == ("x", "y")
    assert resolve_classes(model, spec_classes=("p", "q"), metadata={"classes": "a,b"}) == (
        "p",
        "q",
    )


def test_bad_labels_file(tmp_path):
    path = tmp_path / "labels.txt"
    path.write_text("a\nb\na\n")
    with pytest.raises(InputError, match=r"labels.txt: entry 3: class name 'a' appears twice"):
        read_labels_file(path)
    path.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(InputError, match="cannot read the labels file"):
        read_labels_file(path)
