"""The demo is made of real models: trained here, registered with their spec (the INT8 digits model
with its FP32 parent), run over held-out data by the runners; the detector looks only at pixels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from assay.store import Workspace


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    home = tmp_path_factory.mktemp("demo") / "workspace"
    out = subprocess.run(
        [sys.executable, "-m", "assay.demo", "--no-serve", "--home", str(home)],
        capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "120"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Building the demo workspace" in out.stdout
    assert "INT8 against its FP32 parent" in out.stdout and "samples fixed" in out.stdout
    ids = json.loads((home / "demo-complete.json").read_text())
    return home, ids


def test_every_demo_evaluation_runs_a_registered_model(demo: tuple[Path, dict[str, int]]) -> None:
    home, ids = demo
    assert set(ids) == {"image", "image_int8", "text", "detection", "detection_int8"}
    ws = Workspace(home)
    try:
        records = {key: ws.get_evaluation(i) for key, i in ids.items()}
        for record in records.values():
            version = record.model_version
            assert version is not None and version.runnable
            assert ws.predictions_file(record.id) is not None  # the model's own predictions
        fp32, int8 = records["image"].model_version, records["image_int8"].model_version
        assert fp32 is not None and int8 is not None
        assert int8.parent_version_id == fp32.id and (fp32.version, int8.version) == (
            "fp32",
            "int8",
        )
        assert fp32.backend == int8.backend == "onnxruntime"
        assert records["text"].model_version.backend == "skops"  # type: ignore[union-attr]
        assert records["image"].dataset_version.id == records["image_int8"].dataset_version.id
        # real models: far above chance, and the detector clearly imperfect
        digits = ws.load_results(ids["image"]).summary()
        assert digits["accuracy"] > 0.9 and digits["n_classes"] == 10
        assert ws.load_results(ids["image_int8"]).summary()["accuracy"] > 0.9
        assert ws.load_results(ids["text"]).summary()["accuracy"] > 0.6  # 6 classes
        boxes = ws.load_results(ids["detection"]).summary()
        assert 0.4 < boxes["AP50"] < 0.95 and 0.1 < boxes["AP"] < 0.8
    finally:
        ws.close()


def test_a_second_run_reuses_the_workspace(demo: tuple[Path, dict[str, int]]) -> None:
    home, ids = demo
    out = subprocess.run(
        [sys.executable, "-m", "assay.demo", "--no-serve", "--home", str(home)],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "120"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "Reusing the demo workspace" in out.stdout
    for name in ("Handwritten digits (MLP, INT8)", "Shape detection (cell detector)"):
        assert name in out.stdout
    ws = Workspace(home)
    try:
        assert len(ws.list_evaluations()) == len(ids)
    finally:
        ws.close()


def test_the_detector_sees_pixels_not_annotations(
    demo: tuple[Path, dict[str, int]], tmp_path: Path
) -> None:
    from assay.evaluation.model_run import predict_dataset

    home, ids = demo
    ws = Workspace(home)
    try:
        version = ws.get_evaluation(ids["detection"]).model_version
        assert version is not None
        runner = ws.load_model_runner(version.id)
        gt = home / "demo-data" / "shapes-detection" / "instances.json"
        coco = json.loads(gt.read_text())
        blind = gt.with_name("no-annotations.json")
        blind.write_text(json.dumps({**coco, "annotations": []}))
        a = json.loads(predict_dataset(gt, runner, work_dir=tmp_path / "a").read_text())
        b = json.loads(predict_dataset(blind, runner, work_dir=tmp_path / "b").read_text())
    finally:
        ws.close()
    assert a and a == b
