"""The leaderboard: sorted by the chosen metric, every value inside its interval, a clearly
worse model marked significantly worse than the best and a copy of the best not, by one max-T
family over all pairs (the verdict, its p and the interval of the difference from the best of
the others agree; rank intervals; the winner's simultaneous interval); McNemar as the reference
p for accuracy; lower-is-better metrics turned the right way; detection ranked over images; bad
metrics, too few resamples and mixed tasks refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from assay.demo.shapes import make_shapes_dataset
from assay.errors import InputError, ParameterError
from assay.evaluation.classification import ClassificationResults
from assay.evaluation.compare.leaderboard import leaderboard
from assay.evaluation.detection import evaluate_detections
from assay.evaluation.results import OperatingPoint
from assay.metrics.paired import mcnemar_exact

CLASSES = ["ant", "bee", "cat"]


def _model(y: np.ndarray, strength: float, seed: int, ids: np.ndarray) -> ClassificationResults:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(y), 3))
    logits[np.arange(len(y)), y] += strength
    p = np.exp(logits)
    return ClassificationResults(y, p / p.sum(1, keepdims=True), classes=CLASSES, sample_ids=ids)


@pytest.fixture(scope="module")
def board_entries() -> list:
    y = np.random.default_rng(0).integers(0, 3, 1200)
    ids = np.array([f"s{i}" for i in range(1200)])
    strong = _model(y, 2.0, 1, ids)
    # the same model with rows shuffled: matched by id, it ties with the best
    perm = np.random.default_rng(9).permutation(1200)
    copy = ClassificationResults(
        y[perm], strong.y_score[perm], classes=CLASSES, sample_ids=ids[perm]
    )
    return [
        (1, "weak", _model(y, 0.7, 2, ids), None),
        (2, "strong", strong, None),
        (3, "copy", copy, None),
        (4, "middle", _model(y, 1.3, 3, ids), OperatingPoint(threshold=0.4)),
    ]


def test_the_board_is_sorted_and_marks_the_significantly_worse(board_entries) -> None:
    board = leaderboard(board_entries, "accuracy", n=300)
    rows = board["rows"]
    assert [r["rank"] for r in rows] == [1, 2, 3, 4]
    values = [r["value"] for r in rows]
    assert values == sorted(values, reverse=True)
    assert rows[0]["best"] and rows[0]["key"] in (2, 3) and rows[0]["delta"] is None
    by = {r["key"]: r for r in rows}
    twin = by[3 if rows[0]["key"] == 2 else 2]
    assert twin["delta"] == 0 and not twin["significant"] and twin["p_value"] == 1.0
    assert by[1]["significant"] and by[4]["significant"] and by[1]["delta"] < 0
    assert by[1]["test"] == "McNemar exact"
    for r in rows:
        assert r["low"] <= r["value"] <= r["high"]
    # McNemar from the rows themselves, Holm over the three differences
    best, weak = board_entries[1][2], board_entries[0][2]
    ra = best.y_score.argmax(1) == best.y_true
    rb = weak.y_score.argmax(1) == weak.y_true
    assert by[1]["p_value"] == pytest.approx(mcnemar_exact(int((ra & ~rb).sum()),
                                                           int((~ra & rb).sum())))  # fmt: skip
    # the verdict is the simultaneous one: the difference's interval, its p and the ranks agree
    assert board["procedure"] == "max-T bootstrap over all pairs (simultaneous, 95 %)"
    assert board["critical_value"] > 1.96
    for r in rows[1:]:
        assert r["delta_low"] <= r["delta"] <= r["delta_high"]
        assert r["significant"] == (r["delta_high"] < 0) == (r["p_holm"] < 0.05)
        assert r["significant"] == (r["rank_low"] > 1)
    assert rows[0]["delta_low"] is None and rows[0]["p_holm"] is None
    assert by[1]["rank_low"] >= 3 and by[4]["rank_low"] >= 3 and by[1]["rank_high"] == 4
    assert {(by[k]["rank_low"], by[k]["rank_high"]) for k in (2, 3)} == {(1, 2)}
    for r in rows:
        assert (
            r["simultaneous_low"] <= r["low"] <= r["value"] <= r["high"] <= r["simultaneous_high"]
        )
    assert by[4]["value"] == pytest.approx(
        board_entries[3][2].summary(OperatingPoint(threshold=0.4))["accuracy"]
    )


def test_lower_is_better_metrics_sort_ascending(board_entries) -> None:
    board = leaderboard(board_entries, "log_loss", n=200)
    values = [r["value"] for r in board["rows"]]
    assert values == sorted(values) and not board["higher_is_better"]
    assert board["rows"][-1]["key"] == 1 and board["rows"][-1]["test"] == "paired bootstrap"
    # worse is higher here: the interval of (its loss - the best of the others) lies above 0
    worst = board["rows"][-1]
    assert worst["significant"] and 0 < worst["delta_low"] <= worst["delta"] <= worst["delta_high"]
    assert worst["rank_low"] == worst["rank_high"] == 4


def test_too_few_resamples_are_refused(board_entries) -> None:
    with pytest.raises(ParameterError, match="too few for 95% simultaneous intervals"):
        leaderboard(board_entries, n=10)
    assert leaderboard(board_entries, n=20)["critical_value"] is not None


def test_bad_metrics_and_mixed_tasks_are_refused(board_entries, tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="not a classification metric"):
        leaderboard(board_entries, "AP50")
    gt, dets = make_shapes_dataset(tmp_path, n_images=10, seed=1)
    det = evaluate_detections(gt, dets)
    with pytest.raises(InputError, match="different tasks"):
        leaderboard([*board_entries, (9, "boxes", det, None)])
    with pytest.raises(InputError, match="no evaluations"):
        leaderboard([])


def test_detection_is_ranked_over_images(tmp_path: Path) -> None:
    gt, dets = make_shapes_dataset(tmp_path, n_images=60, seed=2)
    data = json.loads(Path(dets).read_text())
    (tmp_path / "fewer.json").write_text(json.dumps(data[::2]))
    at = OperatingPoint(iou=0.5, score=0.3)
    entries = [
        (1, "fewer", evaluate_detections(gt, tmp_path / "fewer.json"), at),
        (2, "all", evaluate_detections(gt, dets), at),
    ]
    board = leaderboard(entries, n=100)
    assert board["metric"] == "AP" and board["task"] == "detection"
    assert [r["key"] for r in board["rows"]] == [2, 1]
    assert board["rows"][1]["significant"] and board["rows"][1]["test"].endswith("over images")
    assert [(r["rank_low"], r["rank_high"]) for r in board["rows"]] == [(1, 1), (2, 2)]
    assert board["rows"][0]["value"] == pytest.approx(entries[1][2].summary(at)["AP"])


def test_multilabel_boards_rank_by_subset_accuracy_and_equal_scikit_learn() -> None:
    """Multi-label evaluations are ranked too: by subset accuracy (scikit-learn's
    ``accuracy_score`` on indicator rows) with McNemar on the samples whose every label is
    right, or by any multi-label metric (macro F1 equals ``f1_score(average="macro")``); a board
    mixing single- and multi-label evaluations is refused."""
    from sklearn.metrics import accuracy_score, f1_score

    rng = np.random.default_rng(3)
    n, c = 400, 5
    y = (rng.random((n, c)) < 0.3).astype(int)
    entries, scores = [], []
    for k, noise in enumerate((0.3, 0.5, 0.8)):
        s = np.clip(y * 0.6 + rng.normal(0, noise, (n, c)) * 0.3 + 0.2, 0, 1)
        scores.append(s)
        r = ClassificationResults(
            y, s, classes=[f"c{i}" for i in range(c)], threshold=0.5, multilabel=True
        )
        entries.append((k, f"m{k}", r, None))
    out = leaderboard(entries, n=200)
    assert (out["task"], out["metric"]) == ("multilabel", "accuracy")
    rows = {row["key"]: row for row in out["rows"]}
    for k, s in enumerate(scores):
        assert rows[k]["value"] == pytest.approx(accuracy_score(y, (s >= 0.5).astype(int)))
    assert [row["key"] for row in out["rows"]] == [0, 1, 2]
    ok = [(s >= 0.5).astype(int) == y for s in scores]
    right = [o.all(axis=1) for o in ok]
    assert rows[2]["p_value"] == pytest.approx(
        mcnemar_exact(int((right[0] & ~right[2]).sum()), int((~right[0] & right[2]).sum()))
    )
    assert rows[2]["significant"] and rows[1]["rank_low"] == 2
    f1 = leaderboard(entries, "macro_f1", n=200)
    for row in f1["rows"]:
        s = scores[row["key"]]
        want = f1_score(y, (s >= 0.5).astype(int), average="macro", zero_division=0)
        assert row["value"] == pytest.approx(want)
        assert row["low"] <= row["value"] <= row["high"]
    single = ClassificationResults([0, 1] * 200, np.tile([[0.6, 0.4]], (400, 1)))
    with pytest.raises(InputError, match="different tasks"):
        leaderboard([entries[0], (9, "single", single, None)])
