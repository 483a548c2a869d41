"""Running a model over a labeled dataset (evaluation/model_run.py): every source of inputs, the
predictions file it writes, its checks, and resuming after an interruption."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
import skops.io as sio
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from assay.errors import InputError
from assay.evaluation.model_run import evaluate_model, predict_dataset
from assay.evaluation.run import evaluate_files
from assay.runners import load_runner, run_images
from tests.runners.models import constant_outputs, linear_softmax, write_images

CLASSES = ("cat", "dog", "owl")


class Stop(Exception):
    pass


class Counting:
    """Wraps a runner and counts the batches it predicts."""

    def __init__(self, runner):
        self.inner = runner
        self.path, self.spec = runner.path, runner.spec
        self.batches = 0

    def describe(self):
        return self.inner.describe()

    def run(self, batch):
        return self.inner.run(batch)

    def predict(self, batch, geometries=None):
        self.batches += 1
        return self.inner.predict(batch, geometries)


@pytest.fixture()
def model(tmp_path: Path) -> Path:
    path, _, _ = linear_softmax(
        tmp_path / "lin.onnx", n_classes=3, metadata={"classes": ",".join(CLASSES)}
    )
    return path


@pytest.fixture()
def image_folder(tmp_path: Path) -> Path:
    root = tmp_path / "pets"
    for k, name in enumerate(CLASSES):
        write_images(root / name, 4, size=(8, 8), seed=k)
    return root


def _paths(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.png"))


def _wide(path: Path) -> dict[str, list]:
    return pq.read_table(path).to_pydict()


def test_image_folder_predictions_are_the_runners_scores(
    model: Path, image_folder: Path, tmp_path: Path
) -> None:
    runner = load_runner(model)
    out = predict_dataset(image_folder, runner, batch_size=5, work_dir=tmp_path / "work")
    assert out == tmp_path / "work" / "predictions.parquet"
    table = _wide(out)
    assert list(table) == ["id", *CLASSES]
    paths = _paths(image_folder)
    assert table["id"] == [p.relative_to(image_folder).as_posix() for p in paths]
    expected = run_images(load_runner(model), paths, batch_size=5).scores
    got = np.column_stack([table[c] for c in CLASSES])
    np.testing.assert_allclose(got, expected, rtol=0, atol=0)


def test_evaluate_model_is_evaluate_files_of_its_predictions(
    model: Path, image_folder: Path, tmp_path: Path
) -> None:
    run = evaluate_model(image_folder, load_runner(model), batch_size=4, work_dir=tmp_path / "w")
    assert run.task == "classification" and run.results.n_samples == 12
    assert run.pred_source == (tmp_path / "w" / "predictions.parquet").resolve()
    again = evaluate_files(image_folder, run.pred_source)
    assert run.results.summary() == again.results.summary()
    assert run.samples.column("path").to_pylist() == [str(p) for p in _paths(image_folder)]


def test_a_tables_path_column(model: Path, image_folder: Path, tmp_path: Path) -> None:
    rows = ["id,label,path"]
    for i, p in enumerate(_paths(image_folder)):
        rows.append(f"s{i},{p.parent.name},{p.relative_to(image_folder.parent).as_posix()}")
    gt = tmp_path / "gt.csv"
    gt.write_text("\n".join(rows) + "\n")
    run = evaluate_model(gt, load_runner(model), batch_size=3, work_dir=tmp_path / "w")
    table = _wide(run.pred_source)
    assert table["id"] == [f"s{i}" for i in range(12)]
    folder_run = evaluate_model(
        image_folder, load_runner(model), batch_size=3, work_dir=tmp_path / "w2"
    )
    for c in CLASSES:
        assert table[c] == _wide(folder_run.pred_source)[c]
    assert run.results.summary() == folder_run.results.summary()


def _text_model(tmp_path: Path) -> Path:
    texts = ["what is it", "who is he", "where is it", "what now", "who now", "where now"] * 3
    labels = ["what", "who", "where"] * 6
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression(max_iter=200)).fit(texts, labels)
    sio.dump(pipe, tmp_path / "q.skops")
    return tmp_path / "q.skops"


def test_a_text_table_with_a_skops_pipeline(tmp_path: Path) -> None:
    path = _text_model(tmp_path)
    gt = tmp_path / "questions.csv"
    gt.write_text("id,label,text\n1,what,what is that\n2,who,who are you\n3,where,where to\n")
    run = evaluate_model(gt, load_runner(path), batch_size=2, work_dir=tmp_path / "w")
    assert run.results.summary()["top1_accuracy"] == 1.0
    table = _wide(run.pred_source)
    assert table["id"] == ["1", "2", "3"]
    np.testing.assert_allclose(
        np.column_stack([table[c] for c in ("what", "where", "who")]).sum(axis=1), 1.0
    )


def test_media_mismatches_are_one_line(model: Path, image_folder: Path, tmp_path: Path) -> None:
    texts = tmp_path / "texts.csv"
    texts.write_text("id,label,text\n1,cat,a cat\n")
    with pytest.raises(
        InputError,
        match=r"texts.csv: texts given to an image model: the dataset has texts, the model "
        r"\(lin.onnx\) takes images",
    ):
        predict_dataset(texts, load_runner(model), work_dir=tmp_path / "w")
    text_model = load_runner(_text_model(tmp_path))
    with pytest.raises(
        InputError,
        match=r"pets: images given to a text model: the dataset has image files, the model "
        r"\(q.skops\) takes texts",
    ):
        predict_dataset(image_folder, text_model, work_dir=tmp_path / "w")


def test_no_shared_class_and_missing_labels(model: Path, tmp_path: Path) -> None:
    root = tmp_path / "animals"
    for name in ("ant", "bee"):
        write_images(root / name, 2, size=(8, 8))
    with pytest.raises(InputError, match=r"lin.onnx: none of the model's 3 classes .* is a label"):
        predict_dataset(root, load_runner(model), work_dir=tmp_path / "w")
    write_images(root / "cat", 2, size=(8, 8))
    run = evaluate_model(root, load_runner(model), work_dir=tmp_path / "w2")
    assert any(
        "2 of the dataset's labels are not among the model's classes" in n for n in run.notes
    )
    table = _wide(run.pred_source)
    assert table["ant"] == [0.0] * 6 and table["bee"] == [0.0] * 6  # never predicted


def test_a_sample_without_its_file(model: Path, image_folder: Path, tmp_path: Path) -> None:
    gt = tmp_path / "gt.csv"
    gt.write_text(f"id,label,path\na,cat,{_paths(image_folder)[0]}\nb,dog,\n")
    with pytest.raises(InputError, match=r"gt.csv: row 2, column 'path': sample 'b' has no media"):
        predict_dataset(
            gt,
            load_runner(model),
            work_dir=tmp_path / "w",
        )


def test_model_task_against_dataset_task(model: Path, image_folder: Path, tmp_path: Path) -> None:
    coco = tmp_path / "instances.json"
    coco.write_text(json.dumps({"images": [], "annotations": [], "categories": []}))
    with pytest.raises(InputError, match=r"instances.json: is a detection dataset and the model"):
        predict_dataset(coco, load_runner(model), work_dir=tmp_path / "w")
    multi = tmp_path / "multi.jsonl"
    p = _paths(image_folder)[0]
    multi.write_text(json.dumps({"id": "a", "labels": ["cat", "dog"], "path": str(p)}) + "\n")
    with pytest.raises(InputError, match=r"multi.jsonl: is multi-label .* single-label"):
        predict_dataset(
            multi,
            load_runner(model),
            work_dir=tmp_path / "w",
        )


def test_scores_that_are_not_probabilities(image_folder: Path, tmp_path: Path) -> None:
    path, _, _ = linear_softmax(
        tmp_path / "logits.onnx",
        n_classes=3,
        metadata={"classes": ",".join(CLASSES)},
        softmax=False,
        seed=3,
    )
    with pytest.raises(
        InputError,
        match=r"logits.onnx: the model's score .* not a probability; set 'activation: softmax'",
    ):
        predict_dataset(image_folder, load_runner(path), work_dir=tmp_path / "w")
    run = evaluate_model(
        image_folder, load_runner(path, activation="softmax"), work_dir=tmp_path / "w2"
    )
    assert run.results.n_samples == 12


def test_classes_must_be_named(image_folder: Path, tmp_path: Path) -> None:
    path, _, _ = linear_softmax(tmp_path / "anon.onnx", n_classes=3)
    with pytest.raises(InputError, match=r"anon.onnx: the model does not name its classes"):
        predict_dataset(image_folder, load_runner(path), work_dir=tmp_path / "w")


def _coco_set(tmp_path: Path) -> Path:
    folder = tmp_path / "coco"
    images = write_images(folder / "images", 5, size=(32, 16))
    coco = {
        "images": [
            {"id": 10 + i, "file_name": f"images/{p.name}", "width": 32, "height": 16}
            for i, p in enumerate(images)
        ],
        "categories": [{"id": 7, "name": "car"}, {"id": 3, "name": "person"}],
        "annotations": [
            {"id": 100 + i, "image_id": 10 + i, "category_id": 3, "bbox": [8, 4, 24, 8],
             "area": 192, "iscrowd": 0}
            for i in range(5)
        ],
    }  # fmt: skip
    (folder / "instances.json").write_text(json.dumps(coco))
    return folder / "instances.json"


def _detector(tmp_path: Path) -> Path:
    # two boxes per image in the 16x16 input: "person" (model class 1) and "truck" (class 2)
    return constant_outputs(
        tmp_path / "det.onnx",
        {
            "boxes": np.array([[4.0, 4.0, 16.0, 12.0], [0.0, 0.0, 8.0, 8.0]]),
            "scores": np.array([0.9, 0.4]),
            "labels": np.array([1, 2]),
        },
    )


def test_detection_on_a_coco_folder(tmp_path: Path) -> None:
    gt = _coco_set(tmp_path)
    runner = load_runner(_detector(tmp_path), task="detection", classes=["car", "person", "truck"])
    run = evaluate_model(gt, runner, batch_size=2, work_dir=tmp_path / "w")
    results = json.loads(run.pred_source.read_text())
    assert len(results) == 5  # the truck boxes are left out: the dataset has no truck
    assert {r["image_id"] for r in results} == {10, 11, 12, 13, 14}
    assert {r["category_id"] for r in results} == {3}
    np.testing.assert_allclose(results[0]["bbox"], [8, 4, 24, 8])  # 16x16 -> 32x16 pixels
    assert run.task == "detection" and run.results.summary()["AP"] == pytest.approx(1.0)
    assert not any("labels are not among" in n for n in run.notes)  # car and person are
    assert any("5 detections left out" in n for n in run.notes)
    (gt.parent / "images" / "img_0002.png").unlink()
    with pytest.raises(InputError, match=r"no image file for image 12"):
        predict_dataset(gt, runner, work_dir=tmp_path / "w3")
    with pytest.raises(InputError, match=r"is a classification dataset and the model"):
        predict_dataset(tmp_path / "coco" / "images", runner, work_dir=tmp_path / "w4")


def test_an_interrupted_run_resumes_with_only_the_missing_batches(
    model: Path, image_folder: Path, tmp_path: Path
) -> None:
    whole = predict_dataset(image_folder, load_runner(model), batch_size=5, work_dir=tmp_path / "a")

    def stop_after_two(done: int, total: int) -> None:
        if done >= 10:
            raise Stop

    work = tmp_path / "b"
    with pytest.raises(Stop):
        predict_dataset(
            image_folder, load_runner(model), batch_size=5, work_dir=work, progress=stop_after_two
        )
    assert not (work / "predictions.parquet").exists()
    seen: list[tuple[int, int]] = []
    runner = Counting(load_runner(model))
    again = predict_dataset(
        image_folder, runner, batch_size=5, work_dir=work, progress=lambda d, t: seen.append((d, t))
    )
    assert runner.batches == 1  # 12 samples in batches of 5: two were on disk
    assert seen[0] == (10, 12) and seen[-1] == (12, 12)
    table, reference = _wide(again), _wide(whole)
    assert table == reference and len(set(table["id"])) == len(table["id"]) == 12
