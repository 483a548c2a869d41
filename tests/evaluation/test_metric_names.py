"""The registry of metric names: names resolve case-insensitively with the aliases of each task,
refusals are one line listing the accepted names, and every row compare and the leaderboard
give (and every key the registry names) agrees with the registry and the results' summary."""

from __future__ import annotations

import numpy as np
import pytest

from assay.demo.shapes import make_shapes_dataset
from assay.errors import ParameterError
from assay.evaluation import metric_names as names
from assay.evaluation.classification import ClassificationResults
from assay.evaluation.compare import compare
from assay.evaluation.compare.leaderboard import leaderboard, leaderboard_metrics
from assay.evaluation.detection import DetectionResults, evaluate_detections
from assay.evaluation.metric_names import headline, metric, metrics, normalize, resolve
from assay.evaluation.results import OperatingPoint

CLASSES = ["ant", "bee", "cat"]


@pytest.mark.parametrize(
    ("name", "task", "key"),
    [
        ("accuracy", "classification", "accuracy"),
        ("Accuracy", "classification", "accuracy"),
        ("ACC", "classification", "accuracy"),
        ("f1", "classification", "macro_f1"),
        ("F1", "classification", "macro_f1"),
        ("Macro F1", "classification", "macro_f1"),
        ("macro-f1", "classification", "macro_f1"),
        ("precision", "classification", "macro_precision"),
        ("recall", "classification", "macro_recall"),
        ("auc", "classification", "roc_auc_macro"),
        ("ROC_AUC", "classification", "roc_auc_macro"),
        ("ROC AUC", "classification", "roc_auc_macro"),
        ("ap", "classification", "average_precision_macro"),
        ("AuPRC", "classification", "average_precision_macro"),
        ("top1", "classification", "top1_accuracy"),
        ("top-1 accuracy", "classification", "top1_accuracy"),
        ("logloss", "classification", "log_loss"),
        ("Log Loss", "classification", "log_loss"),
        ("ECE", "classification", "ece"),
        ("mAP", "detection", "AP"),
        ("map", "detection", "AP"),
        ("AP", "detection", "AP"),
        ("ap50", "detection", "AP50"),
        ("mAP50", "detection", "AP50"),
        ("AP@.75", "detection", "AP75"),
        ("f1", "detection", "f1"),
        ("F1", "detection", "f1"),
        ("precision", "detection", "precision"),
        ("APs", "detection", "APs"),
        ("subset_accuracy", "multilabel", "accuracy"),
        ("Subset Accuracy", "multilabel", "accuracy"),
        ("hamming", "multilabel", "hamming_loss"),
        ("Hamming loss", "multilabel", "hamming_loss"),
        ("f1", "multilabel", "macro_f1"),
        ("micro_f1", "multilabel", "micro_f1"),
    ],
)
def test_names_resolve_case_insensitively_with_the_tasks_aliases(
    name: str, task: str, key: str
) -> None:
    assert resolve(name, task).key == key


@pytest.mark.parametrize(
    ("name", "task"),
    [
        ("acuracy", "classification"),
        ("AP50", "classification"),
        ("mAP", "classification"),
        ("hamming_loss", "classification"),
        ("top1", "multilabel"),
        ("macro_f1", "detection"),
        ("auc", "detection"),
        ("", "detection"),
    ],
)
def test_refusals_are_one_line_listing_the_accepted_names(name: str, task: str) -> None:
    with pytest.raises(ParameterError) as caught:
        resolve(name, task)
    message = str(caught.value)
    assert "\n" not in message and f"not a {task} metric" in message and repr(name) in message
    listed = message.split("choose from ", 1)[1]
    for m in metrics(task):
        assert m.key in listed
    assert "also " in listed  # a few aliases too


def test_a_metric_of_the_task_not_offered_here_says_so() -> None:
    with pytest.raises(ParameterError, match=r"'ece' \(calibration error\) is not available") as e:
        resolve("ece", "classification", among=("accuracy", "macro_f1"), what="--metric")
    message = str(e.value)
    assert message.startswith("--metric: ") and "accuracy, macro_f1; also acc, f1" in message


def test_an_unknown_task_is_refused() -> None:
    with pytest.raises(ParameterError, match="task: 'regression' is not one of"):
        resolve("accuracy", "regression")


def test_no_name_means_two_metrics_of_one_task() -> None:
    for task in names.TASKS:
        seen: dict[str, str] = {}
        for m in metrics(task):
            for name in (m.key, m.label, *m.aliases):
                assert seen.setdefault(normalize(name), m.key) == m.key, (task, name)


def test_every_entry_is_well_formed() -> None:
    for m in metrics():
        assert m.unit in names.UNITS and m.tasks and set(m.tasks) <= set(names.TASKS)
        assert m.label and m.key
    for task in names.TASKS:
        keys = [m.key for m in metrics(task)]
        assert len(keys) == len(set(keys)), task  # one entry per key and task
        assert all(metric(k, task).key == k for k in names.HEADLINE[task])


@pytest.fixture(scope="module")
def evaluations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple]:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    ids = np.array([f"s{i}" for i in range(300)])

    def single(strength: float, seed: int) -> ClassificationResults:
        logits = np.random.default_rng(seed).normal(size=(300, 3))
        logits[np.arange(300), y] += strength
        p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return ClassificationResults(y, p, classes=CLASSES, sample_ids=ids)

    tags = rng.random((300, 3)) < 0.4

    def multi(noise: float, seed: int) -> ClassificationResults:
        s = np.where(tags, 0.7, 0.3) + np.random.default_rng(seed).normal(
            scale=noise, size=(300, 3)
        )
        return ClassificationResults(
            tags, np.clip(s, 0, 1), classes=CLASSES, multilabel=True, sample_ids=ids
        )

    root = tmp_path_factory.mktemp("names")
    gt, dets = make_shapes_dataset(root, n_images=12, seed=1)
    det = evaluate_detections(gt, dets)
    return {
        "classification": (single(0.5, 1), single(1.5, 2)),
        "multilabel": (multi(0.3, 1), multi(0.2, 2)),
        "detection": (det, evaluate_detections(gt, dets)),
    }


@pytest.mark.parametrize("task", names.TASKS)
def test_compare_rows_are_the_registrys_headline(evaluations, task: str) -> None:
    a, b = evaluations[task]
    rows = compare(a, b, intervals=False)["metrics"]
    assert [r["metric"] for r in rows] == [m.key for m in headline(task)]
    for row in rows:
        m = metric(row["metric"], task)
        assert (row["label"], row["higher_is_better"]) == (m.label, m.higher_is_better)


@pytest.mark.parametrize("task", names.TASKS)
def test_every_registry_key_is_in_the_summary(evaluations, task: str) -> None:
    r = evaluations[task][0]
    at = OperatingPoint(iou=0.5, score=0.3) if isinstance(r, DetectionResults) else None
    summary = r.summary(at)
    assert summary["task"] == task
    missing = [m.key for m in metrics(task) if m.key not in summary]
    assert not missing


@pytest.mark.parametrize("task", ["classification", "detection"])
def test_leaderboard_choices_and_aliases(evaluations, task: str) -> None:
    a, b = evaluations[task]
    choices = leaderboard_metrics(task)
    assert [c["metric"] for c in choices] == [m.key for m in headline(task)]
    for c in choices:
        m = metric(c["metric"], task)
        assert (c["label"], c["higher_is_better"]) == (m.label, m.higher_is_better)
    entries = [(1, "a", a, None), (2, "b", b, None)]
    name, key = ("mAP", "AP") if task == "detection" else ("Logloss", "log_loss")
    board = leaderboard(entries, name, n=50)
    assert board["metric"] == key and board["label"] == metric(key, task).label
    assert board["higher_is_better"] == metric(key, task).higher_is_better
    with pytest.raises(ParameterError, match="choose from") as caught:
        leaderboard(entries, "nonsense", n=50)
    assert all(c["metric"] in str(caught.value) for c in choices)


def test_the_verdicts_use_the_registry_labels(evaluations) -> None:
    out = compare(*evaluations["classification"], n=100)
    assert any(" on accuracy" in v for v in out["verdicts"])
    assert any("macro F1" in v for v in out["verdicts"])


def test_the_gate_takes_aliases_per_task() -> None:
    from assay.cli.compare import gate, parse_gate

    assert parse_gate("mAP, Accuracy,F1,f1,logloss") == ("mAP", "accuracy", "F1", "f1", "log_loss")
    with pytest.raises(ParameterError, match="unknown metric acuracy") as caught:
        parse_gate("accuracy,acuracy")
    assert "AP50" in str(caught.value) and "macro_f1" in str(caught.value)

    def row(key: str, higher: bool) -> dict:
        return {"metric": key, "label": key, "higher_is_better": higher, "delta": -0.1,
                "low": -0.2, "high": -0.05, "p_value": 0.001, "significant": True}  # fmt: skip

    det = {"task": "detection", "level": 0.95, "metrics": [row("AP", True), row("f1", True)]}
    assert len(gate(det, parse_gate("mAP,F1"))) == 2
    cls = {"task": "classification", "level": 0.95, "metrics": [row("macro_f1", True)]}
    assert len(gate(cls, parse_gate("F1"))) == 1
    with pytest.raises(ParameterError, match="mAP is not a metric of a classification") as e:
        gate(cls, parse_gate("mAP"))
    assert "macro_f1" in str(e.value)
