"""The demo is made of real models: trained here, registered with their spec (optimised children
with their parent), run over held-out data by the runners; the detector looks only at pixels. It
shows every feature: a leaderboard of three TREC models, a pruned child that fixes and breaks
questions, a multi-label tagger, a training set that leaks into the test set, a dataset version not
run yet, a ground truth with folds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assay.demo.seed import (
    DEMO_KEYS,
    SHAPES_TRAIN_DATASET,
    SHIFTED_DIGITS_DATASET,
    TAGS_TRAIN_DATASET,
    TREC_TRAIN_DATASET,
    UNLABELED_DIGITS_DATASET,
    UNLABELED_SHAPES_DATASET,
)
from assay.store import Workspace

Demo = tuple[Path, dict[str, int]]


def _demo(*args: str, timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assay.demo", "--no-serve", *args],
        capture_output=True, text=True, timeout=timeout, env={**os.environ, "COLUMNS": "120"},
    )  # fmt: skip


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    home = tmp_path_factory.mktemp("demo") / "workspace"
    out = _demo("--home", str(home))
    assert out.returncode == 0, out.stderr
    assert "Building the demo workspace" in out.stdout
    assert "INT8 against its FP32 parent" in out.stdout and "samples fixed" in out.stdout
    assert "Pruned against its parent" in out.stdout
    assert "INT8 against its FP32 parent without labels" in out.stdout
    ids = json.loads((home / "demo-complete.json").read_text())
    return home, ids


@pytest.fixture()
def ws(demo: Demo) -> Iterator[Workspace]:
    workspace = Workspace(demo[0])
    try:
        yield workspace
    finally:
        workspace.close()


def _dataset_version(ws: Workspace, name: str) -> int:
    (dataset,) = [d for d in ws.list_datasets() if d.name == name]
    (version,) = ws.list_dataset_versions(dataset.id)
    return version.id


def test_every_demo_evaluation_runs_a_registered_model(demo: Demo, ws: Workspace) -> None:
    _, ids = demo
    assert set(ids) == set(DEMO_KEYS)
    records = {key: ws.get_evaluation(i) for key, i in ids.items()}
    for key, record in records.items():
        version = record.model_version
        assert version is not None
        if key == "text_cv":  # out-of-fold scores of five models: registered from predictions
            assert not version.runnable
            continue
        assert version.runnable, key
        assert ws.predictions_file(record.id) is not None  # the model's own predictions
    fp32, int8 = records["image"].model_version, records["image_int8"].model_version
    assert fp32 is not None and int8 is not None
    assert int8.parent_version_id == fp32.id
    assert (fp32.version, int8.version) == ("fp32", "int8")
    assert fp32.backend == int8.backend == "onnxruntime"
    assert records["text"].model_version.backend == "skops"  # type: ignore[union-attr]
    assert records["image"].dataset_version.id == records["image_int8"].dataset_version.id
    # real models: far above chance, and the detector clearly imperfect
    digits = ws.load_results(ids["image"]).summary()
    assert digits["accuracy"] > 0.9 and digits["n_classes"] == 10
    assert ws.load_results(ids["image_int8"]).summary()["accuracy"] > 0.9
    for key in ("text", "text_pruned", "text_nb", "text_char", "text_cv"):
        assert ws.load_results(ids[key]).summary()["accuracy"] > 0.6, key  # 6 classes
    boxes = ws.load_results(ids["detection"]).summary()
    assert 0.4 < boxes["AP50"] < 0.95 and 0.1 < boxes["AP"] < 0.8


def test_the_int8_child_is_statically_quantized(demo: Demo, ws: Workspace) -> None:
    import onnx

    version = ws.get_evaluation(demo[1]["image_int8"]).model_version
    assert version is not None
    (model,) = (ws.models_dir / str(version.id)).rglob("*.onnx")
    ops = {node.op_type for node in onnx.load(str(model)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops  # activations too, not only weights
    # made by `assay models optimize`'s code, calibrated on the registered training digits, and
    # both it and its parent profiled
    assert _dataset_version(ws, "digits-train") > 0
    assert version.parent_version_id is not None
    profiles = ws.model_profiles()
    for vid in (version.id, version.parent_version_id):
        (profile,) = profiles[vid]
        assert [row["batch"] for row in profile["batches"]] == [1, 8, 32]


def test_three_models_on_one_trec_version_make_a_leaderboard(demo: Demo, ws: Workspace) -> None:
    from assay.service.comparisons import leaderboard_stored

    _, ids = demo
    keys = ("text", "text_pruned", "text_nb", "text_char")
    records = [ws.get_evaluation(ids[k]) for k in keys]
    assert len({r.dataset_version.id for r in records}) == 1
    models = {r.model_version.model_name for r in records if r.model_version is not None}
    assert len(models) >= 3, models
    board = leaderboard_stored(ws, records[0].dataset_version.id, "accuracy", n=50)
    assert {row["id"] for row in board["rows"]} == {ids[k] for k in keys}
    assert board["rows"][0]["id"] == ids["text"]  # the logistic regression leads


def test_the_pruned_child_fixes_and_breaks_questions(demo: Demo, ws: Workspace) -> None:
    from assay.service.comparisons import compare_stored

    _, ids = demo
    parent, child = ws.get_evaluation(ids["text"]), ws.get_evaluation(ids["text_pruned"])
    assert parent.model_version is not None and child.model_version is not None
    assert child.model_version.parent_version_id == parent.model_version.id
    assert child.model_version.model_name == parent.model_version.model_name
    assert parent.dataset_version.id == child.dataset_version.id
    pair = compare_stored(ws, parent.id, child.id, intervals=False)
    changes = pair["disagreements"]
    assert changes["fixed"] > 0 and changes["broken"] > 0, changes


def test_a_multilabel_set_and_its_tagger(demo: Demo, ws: Workspace) -> None:
    record = ws.get_evaluation(demo[1]["tags"])
    assert record.task == "multilabel" and record.n_classes == 3
    assert record.model_version is not None and record.model_version.task == "multilabel"
    results = ws.load_results(record.id)
    assert results.multilabel  # type: ignore[attr-defined]
    summary = results.summary()
    assert 0.8 < summary["roc_auc_macro"] < 1.0  # a real model: good, not perfect
    assert 0.5 < summary["accuracy"] < 1.0  # exact label sets
    samples = ws.samples_table(record.dataset_version.id)
    sizes = {len(s) for s in samples.column("labels").to_pylist()}
    assert max(sizes) > 1  # several shapes in a scene
    train = ws.get_dataset_version(_dataset_version(ws, TAGS_TRAIN_DATASET))
    assert train.n_samples == 300


def test_the_trec_training_set_leaks_into_the_test_set(demo: Demo, ws: Workspace) -> None:
    from assay.service.quality import analyze_stored

    train = _dataset_version(ws, TREC_TRAIN_DATASET)
    out = analyze_stored(ws, demo[1]["text"], train=train, processes=False)
    leakage = out["duplicates"]["leakage"]
    assert leakage, out["notes"]
    assert all(row["distance"] <= 0.2 for row in leakage)


def test_a_dataset_version_no_model_has_run_yet(demo: Demo, ws: Workspace, tmp_path: Path) -> None:
    """What the Models page's Calculate runs: the digits moved by a pixel, ready to evaluate."""
    from assay.evaluation.model_run import evaluate_model

    _, ids = demo
    shifted = _dataset_version(ws, SHIFTED_DIGITS_DATASET)
    assert all(r.dataset_version.id != shifted for r in ws.list_evaluations())
    dv = ws.get_dataset_version(shifted)
    assert dv.task == "classification" and dv.n_samples == 599
    version = ws.get_evaluation(ids["image"]).model_version
    assert version is not None
    run = evaluate_model(
        ws.dataset_ground_truth(shifted), ws.load_model_runner(version.id), work_dir=tmp_path
    )
    shifted_accuracy = run.results.summary()["accuracy"]
    assert 0.1 < shifted_accuracy < ws.load_results(ids["image"]).summary()["accuracy"]


def test_fp32_and_int8_agree_on_the_digits_without_labels(demo: Demo, ws: Workspace) -> None:
    """The held-out digits registered without their labels, both models run on them as
    prediction runs (no metrics), their agreement the same as on the labeled run's argmaxes."""
    import numpy as np

    from assay.service.agreement import agreement_stored
    from assay.service.unlabeled import is_unlabeled, prediction_scores

    _, ids = demo
    bare = _dataset_version(ws, UNLABELED_DIGITS_DATASET)
    assert is_unlabeled(ws, bare)
    a, b = ws.get_evaluation(ids["image_unlabeled"]), ws.get_evaluation(ids["image_int8_unlabeled"])
    assert a.dataset_version.id == b.dataset_version.id == bare
    assert a.status == b.status == "predictions" and a.headline_metric is None
    assert a.model_version is not None and b.model_version is not None
    assert b.model_version.parent_version_id == a.model_version.id
    labeled = ws.get_evaluation(ids["image"])
    assert a.n_samples == labeled.n_samples  # the same images, without their labels
    out = agreement_stored(ws, a.id, b.id)
    assert out["n_samples"] == labeled.n_samples and out["agreement"] > 0.9
    # the same models on the same images: the labeled pair's agreement, labels ignored
    assert agreement_stored(ws, ids["image"], ids["image_int8"])["agreement"] == out["agreement"]
    fp32 = ws.load_results(ids["image"])
    names = [str(c) for c in fp32.classes]
    by_id = {
        str(i): names[k] for i, k in zip(fp32.sample_ids, fp32.y_score.argmax(axis=1), strict=True)
    }
    mine = prediction_scores(ws, a.id)
    top = [mine.classes[k] for k in mine.y_score.argmax(axis=1)]
    assert sorted(by_id) == sorted(map(str, mine.sample_ids))
    assert all(by_id[str(i)] == t for i, t in zip(mine.sample_ids, top, strict=True))
    assert np.isclose(mine.y_score.sum(axis=1), 1.0, atol=1e-4).all()


def test_the_detectors_int8_child_is_made_by_optimize_and_keeps_its_ap50(
    demo: Demo, ws: Workspace
) -> None:
    """Made by ``assay models optimize --int8 --exclude-head``'s code: statically quantized,
    calibrated on the registered training scenes, its head in float; AP50 within 0.02 of FP32's
    (the whole graph quantized: 0.424 against 0.744)."""
    import onnx

    _, ids = demo
    fp32 = ws.load_results(ids["detection"]).summary()["AP50"]
    int8 = ws.load_results(ids["detection_int8"]).summary()["AP50"]
    assert abs(int8 - fp32) <= 0.02, (fp32, int8)
    version = ws.get_evaluation(ids["detection_int8"]).model_version
    assert version is not None and version.parent_version_id is not None
    assert version.path is not None and "nodes kept in float" in version.path
    assert _dataset_version(ws, SHAPES_TRAIN_DATASET) > 0
    (model,) = (ws.models_dir / str(version.id)).rglob("*.onnx")
    graph = onnx.load(str(model)).graph
    ops = [node.op_type for node in graph.node]
    assert "QuantizeLinear" in ops and "Concat" in ops  # the convolutions quantized, the head not


def test_the_detectors_compared_without_labels(demo: Demo, ws: Workspace) -> None:
    """The held-out scenes' images registered without boxes, both detectors run on them as
    prediction runs, compared by box agreement."""
    from assay.service.agreement import agreement_image, agreement_stored
    from assay.service.unlabeled import is_unlabeled

    _, ids = demo
    bare = _dataset_version(ws, UNLABELED_SHAPES_DATASET)
    assert is_unlabeled(ws, bare)
    a = ws.get_evaluation(ids["detection_unlabeled"])
    b = ws.get_evaluation(ids["detection_int8_unlabeled"])
    assert a.dataset_version.id == b.dataset_version.id == bare
    assert a.task == b.task == "detection" and a.status == b.status == "predictions"
    out = agreement_stored(ws, a.id, b.id, iou=0.5)
    assert out["n_images"] == ws.get_evaluation(ids["detection"]).n_samples
    assert out["agreed"] > 0.8 * max(out["boxes_a"], out["boxes_b"]), out
    image = agreement_image(ws, a.id, b.id, 0)
    assert (image["width"], image["height"]) == (160, 120)


def test_the_cross_validation_has_folds(demo: Demo, ws: Workspace) -> None:
    record = ws.get_evaluation(demo[1]["text_cv"])
    assert record.dataset_version.id == _dataset_version(ws, TREC_TRAIN_DATASET)
    folds = ws.load_results(record.id).folds()  # type: ignore[attr-defined]
    assert folds is not None
    assert sorted(f["fold"] for f in folds["folds"]) == [f"fold-{k}" for k in range(1, 6)]


def test_a_second_run_reuses_the_workspace(demo: Demo) -> None:
    home, ids = demo
    out = _demo("--home", str(home), timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Reusing the demo workspace" in out.stdout and "older demo" not in out.stdout
    for name in ("Handwritten digits (MLP, INT8)", "Shape detection (cell detector)"):
        assert name in out.stdout
    ws = Workspace(home)
    try:
        assert len(ws.list_evaluations()) == len(ids)
    finally:
        ws.close()


def test_rebuild_leaves_a_folder_that_is_not_a_demo_alone(tmp_path: Path) -> None:
    keep = tmp_path / "mine.txt"
    keep.write_text("not a demo")
    out = _demo("--home", str(tmp_path), "--rebuild", timeout=120)
    # rich wraps the line at the terminal's width (the path's length decides where): words only
    assert out.returncode == 2 and "not a demo workspace" in " ".join(out.stdout.split())
    assert keep.read_text() == "not a demo"


def test_the_detector_sees_pixels_not_annotations(demo: Demo, tmp_path: Path) -> None:
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
