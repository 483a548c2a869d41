"""Sharded classification evaluation (assay.evaluation.sharded): the same report as the in-memory
path to 1e-9 whatever the split (1, 2, 7 shards, batches smaller than a shard), with ties and
classes never labeled; bad shards are one line naming the shard and the row."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from assay.errors import InputError, ParameterError
from assay.evaluation.results import OperatingPoint
from assay.evaluation.run import evaluate_files
from assay.evaluation.sharded import evaluate_sharded, find_shards, is_sharded

N, C = 240, 6
CLASSES = [f"c{i}" for i in range(C)]


def _close(a: Any, b: Any, path: str = "") -> None:
    """Every number of ``a`` equals ``b``'s to 1e-9 (ints, strings, None exactly)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), path
        for k in a:
            _close(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _close(x, y, f"{path}[{i}]")
    elif isinstance(a, float) and isinstance(b, float):
        assert math.isclose(a, b, rel_tol=0, abs_tol=1e-9), (path, a, b)
    else:
        assert a == b and type(a) is type(b), (path, a, b)


def _write_set(folder: Path, *, multilabel: bool, seed: int) -> tuple[Path, pa.Table]:
    """A ground truth (class c5 never labeled, ids in another order than the scores) and its
    predictions table (scores rounded to 2 decimals: many ties)."""
    rng = np.random.default_rng(seed)
    ids = [f"s{i:04d}" for i in range(N)]
    if multilabel:
        s = np.round(rng.random((N, C)), 2)
        sets = ["|".join(CLASSES[j] for j in range(C - 1) if rng.random() < 0.3) for _ in ids]
        gt = pa.table({"id": ids, "labels": sets})
    else:
        s = np.round(rng.dirichlet(np.ones(C), N), 2)
        y = rng.integers(0, C - 1, N)
        s[y == 0, 0] = np.round(s[y == 0, 0] + 0.3, 2).clip(0, 1)  # a better-than-chance class
        gt = pa.table({"id": ids, "label": [CLASSES[k] for k in y]})
    gt_path = folder / "gt.parquet"
    pq.write_table(gt.take(rng.permutation(N)), gt_path)
    perm = rng.permutation(N)
    table = pa.table(
        {"id": [ids[i] for i in perm], **{c: s[perm, j] for j, c in enumerate(CLASSES)}}
    )
    return gt_path, table


def _shards(folder: Path, table: pa.Table, k: int) -> Path:
    out = folder / f"shards{k}"
    out.mkdir()
    for i, part in enumerate(np.array_split(np.arange(table.num_rows), k)):
        pq.write_table(table.take(part), out / f"part-{i:02d}.parquet")
    return out


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pa.Table]:
    folder = tmp_path_factory.mktemp("single")
    gt, table = _write_set(folder, multilabel=False, seed=0)
    pq.write_table(table, folder / "pred.parquet")
    return gt, folder, table


@pytest.fixture(scope="module")
def multi(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, pa.Table]:
    folder = tmp_path_factory.mktemp("multi")
    gt, table = _write_set(folder, multilabel=True, seed=1)
    pq.write_table(table, folder / "pred.parquet")
    return gt, folder, table


@pytest.mark.parametrize("k", [1, 2, 7])
@pytest.mark.parametrize("threshold", [None, 0.3, 0.55])
@pytest.mark.parametrize("which", ["single", "multi"])
def test_sharded_report_equals_in_memory(
    which: str, threshold: float | None, k: int, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    gt, folder, table = request.getfixturevalue(which)
    memory = evaluate_files(gt, folder / "pred.parquet", threshold=threshold).results
    shards = _shards(tmp_path, table, k)
    run = evaluate_sharded(gt, shards, threshold=threshold, batch_rows=29 if k == 2 else 10_000)
    sharded = run.results
    assert run.task == memory.task and len(run.shards) == k
    _close(memory.report(), sharded.report())
    for metric in ("f1", "accuracy", "precision", "recall", "micro_f1"):
        _close(memory.optimal(metric), sharded.optimal(metric))
    _close(memory.headline(), sharded.headline())
    # another threshold than the evaluation's: summary and per-class table
    at = OperatingPoint(threshold=0.45)
    _close(memory.summary(at), sharded.summary(at))
    _close(memory.per_class(at), sharded.per_class(at))
    _close(memory.confusion(normalize="true", top=3), sharded.confusion(normalize="true", top=3))
    sharded.close()


def test_zero_division_nan_and_top_k_equal_in_memory(single: Any, tmp_path: Path) -> None:
    from assay.evaluation.classification import ClassificationResults

    gt, folder, table = single
    base = evaluate_files(gt, folder / "pred.parquet").results
    memory = ClassificationResults(
        base.y_true, base.y_score, base.classes, zero_division=float("nan"), top_k=[2, 4, 9]
    )
    sharded = evaluate_sharded(
        gt, _shards(tmp_path, table, 3), zero_division=float("nan"), top_k=[2, 4, 9]
    ).results
    _close(memory.report(), sharded.report())


def test_glob_and_folder_name_the_same_shards(single: Any, tmp_path: Path) -> None:
    _, _, table = single
    folder = _shards(tmp_path, table, 3)
    assert is_sharded(folder) and is_sharded(f"{folder}/*.parquet")
    assert not is_sharded(tmp_path / "pred.csv")
    assert find_shards(folder) == find_shards(f"{folder}/part-*.parquet")
    with pytest.raises(InputError, match="no Parquet shards found"):
        find_shards(tmp_path / "nothing-*.parquet")


def test_what_a_sharded_evaluation_does_not_offer(single: Any, tmp_path: Path) -> None:
    gt, _, table = single
    res = evaluate_sharded(gt, _shards(tmp_path, table, 2)).results
    for call in (
        lambda: res.samples(),
        lambda: res.sample(0),
        lambda: res.curve("roc", "c0"),
        lambda: res.intervals(),
        lambda: res.arrays(),
        lambda: res.confusion(normalize="probability"),
    ):
        with pytest.raises(ParameterError, match="not offered by a sharded evaluation"):
            call()
    assert res.folds() is None
    spill = res._spill.path
    assert spill.exists()
    res.close()
    assert not spill.exists()


def test_multilabel_confusion_only_at_its_threshold(multi: Any, tmp_path: Path) -> None:
    gt, _, table = multi
    res = evaluate_sharded(gt, _shards(tmp_path, table, 2), threshold=0.4).results
    assert res.confusion()["threshold"] == 0.4
    with pytest.raises(ParameterError, match="threshold 0.6"):
        res.confusion(OperatingPoint(threshold=0.6))


def _bad(tmp_path: Path, table: pa.Table, second: pa.Table) -> Path:
    folder = tmp_path / "bad"
    folder.mkdir()
    pq.write_table(table.slice(0, 100), folder / "a.parquet")
    pq.write_table(second, folder / "b.parquet")
    return folder


def test_bad_shards_are_one_line_naming_the_shard_and_row(single: Any, tmp_path: Path) -> None:
    gt, _, table = single
    rest = table.slice(100)
    spill = tmp_path / "spill"
    spill.mkdir()

    def check(second: pa.Table, pattern: str) -> None:
        folder = _bad(tmp_path, table, second)
        with pytest.raises(InputError, match=pattern) as info:
            evaluate_sharded(gt, folder, work_dir=spill)
        assert "\n" not in str(info.value)
        assert not list(spill.iterdir())  # nothing spilled is left behind
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()

    check(
        rest.drop_columns(["c3"]),
        r"b\.parquet: its classes differ from a\.parquet: missing column 'c3'",
    )
    check(rest.drop_columns(["id"]), r"b\.parquet: missing column 'id'")
    check(rest.append_column("c9", pa.array(np.zeros(rest.num_rows))), r"b\.parquet: .*'c9'")
    scores = rest.column("c2").to_numpy().copy()
    scores[5] = np.nan
    nan = rest.set_column(rest.schema.get_field_index("c2"), "c2", pa.array(scores))
    check(nan, r"b\.parquet: row 6, column 'c2': score is nan")
    scores[5] = 1.5
    high = rest.set_column(rest.schema.get_field_index("c2"), "c2", pa.array(scores))
    check(high, r"b\.parquet: row 6, column 'c2': score 1.5 is outside \[0, 1\]")
    ids = rest.column("id").to_pylist()
    ids[3] = "nobody"
    unknown = rest.set_column(0, "id", pa.array(ids))
    check(unknown, r"b\.parquet: row 4: prediction for id 'nobody' that is not in the ground truth")
    ids[3] = table.column("id")[0].as_py()
    again = rest.set_column(0, "id", pa.array(ids))
    check(again, r"b\.parquet: row 4: id '.*' has a prediction already")
    check(rest.slice(1), r"no prediction for id '.*' \(ground truth row \d+\)")
    text = rest.set_column(1, "c0", pa.array(["x"] * rest.num_rows))
    check(text, r"b\.parquet: column 'c0': holds string, expected numbers")


def test_a_label_without_a_score_column_names_the_ground_truth_row(
    single: Any, tmp_path: Path
) -> None:
    _, _, table = single
    gt = tmp_path / "gt.csv"
    ids = table.column("id").to_pylist()
    gt.write_text("id,label\n" + "".join(f"{i},c1\n" for i in ids[:-1]) + f"{ids[-1]},zebra\n")
    with pytest.raises(InputError, match=rf"gt\.csv: row {N}: label 'zebra' is not among"):
        evaluate_sharded(gt, _shards(tmp_path, table, 2))


def test_detection_is_refused(single: Any, tmp_path: Path) -> None:
    gt, _, table = single
    with pytest.raises(ParameterError, match="classification only"):
        evaluate_sharded(gt, _shards(tmp_path, table, 1), task="detection")


# ------------------------------------------------------------------------------ detection
COCO_KEYS = ("AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl")
AP_KEYS = ("AP", "AP50", "AP75", "AR100", "APs", "APm", "APl", "total_labeled")


@pytest.fixture(scope="module")
def detections(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    """The demo shapes set (crowd regions included) with scores rounded to 0.1 (ties), plus one
    image holding 150 tied boxes of one class (COCO keeps the first 100 of a cell)."""
    import json

    from assay.demo.shapes import make_shapes_dataset

    folder = tmp_path_factory.mktemp("det")
    gt_path, dt_path = make_shapes_dataset(folder, n_images=30)
    dets = json.loads(Path(dt_path).read_text())
    for d in dets:
        d["score"] = round(d["score"], 1)
    first = dets[0]
    rng = np.random.default_rng(3)
    for i in range(150):
        x, y = rng.uniform(0, 20, 2)
        dets.append(
            {
                "image_id": first["image_id"],
                "category_id": first["category_id"],
                "bbox": [float(x), float(y), 12.0, 9.0],
                "score": 0.5 if i % 2 else 0.7,
            }
        )
    (folder / "dt.json").write_text(json.dumps(dets))
    return Path(gt_path), dets


def _det_shards(folder: Path, dets: list[dict[str, Any]], k: int, *, columns: bool) -> Path:
    """``k`` shards of whole images (each image's detections in file order), bbox as a list or as
    x, y, w, h columns."""
    out = folder / f"det{k}"
    out.mkdir()
    images = sorted({d["image_id"] for d in dets})
    groups = np.array_split(np.random.default_rng(k).permutation(images), k)
    for i, group in enumerate(groups):
        keep = set(group.tolist())
        part = [d for d in dets if d["image_id"] in keep]
        cols: dict[str, Any] = {
            "image_id": [d["image_id"] for d in part],
            "category_id": [d["category_id"] for d in part],
            "score": [d["score"] for d in part],
        }
        if columns:
            for j, name in enumerate("xywh"):
                cols[name] = [float(d["bbox"][j]) for d in part]
        else:
            cols["bbox"] = [[float(v) for v in d["bbox"]] for d in part]
        pq.write_table(pa.table(cols), out / f"part-{i:02d}.parquet")
    return out


@pytest.mark.parametrize("k", [1, 2, 7])
def test_sharded_detection_equals_in_memory_coco(detections: Any, tmp_path: Path, k: int) -> None:
    from assay.evaluation.detection import evaluate_detections
    from assay.evaluation.sharded import evaluate_detection_shards

    gt, dets = detections
    memory = evaluate_detections(gt, dets)
    sharded, shards = evaluate_detection_shards(gt, _det_shards(tmp_path, dets, k, columns=k == 2))
    assert len(shards) == k
    a, b = memory.summary(), sharded.summary()
    _close({key: a[key] for key in COCO_KEYS}, {key: b[key] for key in COCO_KEYS})
    assert a["macro_over"] == b["macro_over"] and a["n_samples"] == b["n_samples"]
    for x, y in zip(memory.per_class()["items"], sharded.per_class()["items"], strict=True):
        _close({key: x[key] for key in AP_KEYS}, {key: y[key] for key in AP_KEYS})
    assert sharded.headline() == {"metric": "AP", "label": "AP", "value": b["AP"]}
    assert set(sharded.report()) == set(memory.report())


def test_an_image_split_across_detection_shards_is_refused(detections: Any, tmp_path: Path) -> None:
    from assay.evaluation.sharded import evaluate_detection_shards

    gt, dets = detections
    folder = tmp_path / "split"
    folder.mkdir()
    table = pa.table(
        {
            "image_id": [d["image_id"] for d in dets],
            "category_id": [d["category_id"] for d in dets],
            "bbox": [[float(v) for v in d["bbox"]] for d in dets],
            "score": [d["score"] for d in dets],
        }
    )
    pq.write_table(table.slice(0, 1), folder / "a.parquet")
    pq.write_table(table.slice(1), folder / "b.parquet")
    with pytest.raises(InputError, match=r"b\.parquet: row \d+: image_id \d+ has detections in a"):
        evaluate_detection_shards(gt, folder)
    pq.write_table(
        table.slice(0, 0).append_column("x", pa.array([], pa.float64())), folder / "a.parquet"
    )
    bad = table.slice(1).set_column(0, "image_id", pa.array([999999] * (table.num_rows - 1)))
    pq.write_table(bad, folder / "b.parquet")
    with pytest.raises(
        InputError, match=r"b\.parquet: row 1: image_id 999999 is not in the ground"
    ):
        evaluate_detection_shards(gt, folder)


def test_ground_truth_tables_read_lean_keep_the_readers_checks(single: Any, tmp_path: Path) -> None:
    """A text id / label table is read as Arrow columns (never Python strings): the same numbers
    as through the ordinary reader (integer ids take that one), and the same one-line errors."""
    gt, _, table = single
    shards = _shards(tmp_path, table, 2)
    lean = evaluate_sharded(gt, shards).results.report()
    truth = pq.read_table(gt)
    with_folds = truth.append_column("fold", pa.array(["a", "b"] * (N // 2)))
    pq.write_table(with_folds, tmp_path / "folds.parquet")
    run = evaluate_sharded(tmp_path / "folds.parquet", shards)
    _close(lean, run.results.report())
    assert any("folds are not evaluated" in note for note in run.notes)

    # integer ids: the ordinary reader (ids written out as text), same numbers
    def number(t: pa.Table) -> pa.Table:
        return t.set_column(0, "id", pa.array([int(i[1:]) for i in t.column("id").to_pylist()]))

    pq.write_table(number(truth), tmp_path / "numbered.parquet")
    (tmp_path / "n").mkdir()
    numbered = _shards(tmp_path / "n", number(table), 3)
    _close(lean, evaluate_sharded(tmp_path / "numbered.parquet", numbered).results.report())
    twice = truth.set_column(
        0, "id", pa.array([*truth.column("id").to_pylist()[:-1], truth.column("id")[3].as_py()])
    )
    pq.write_table(twice, tmp_path / "twice.parquet")
    with pytest.raises(InputError, match=rf"twice\.parquet: row {N}: id '.*' appears twice"):
        evaluate_sharded(tmp_path / "twice.parquet", shards)
    labels = truth.column("label").to_pylist()
    labels[7] = ""
    empty = truth.set_column(1, "label", pa.array(labels))
    pq.write_table(empty, tmp_path / "empty.parquet")
    with pytest.raises(InputError, match=r"empty\.parquet: row 8: empty 'label'"):
        evaluate_sharded(tmp_path / "empty.parquet", shards)


def test_a_file_named_like_a_glob_is_that_file(tmp_path: Path) -> None:
    odd = tmp_path / "pred[1].parquet"
    odd.write_bytes(b"")
    assert not is_sharded(odd) and is_sharded(tmp_path / "pred[12].parquet")


@pytest.mark.parametrize("which", ["single", "multi"])
def test_float32_scores_keep_float32_runs_and_the_same_numbers(
    which: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """float32 score columns: the runs stay float32 (half the disk), every count at a float64
    threshold and every quantile as with the scores read as float64 (thresholds at 2-decimal
    scores, whose float32 is not the float64 of the same decimal)."""
    gt, _, table = request.getfixturevalue(which)
    cast = pa.schema([pa.field("id", pa.string()), *(pa.field(c, pa.float32()) for c in CLASSES)])
    small = table.cast(cast)
    pq.write_table(small, tmp_path / "pred32.parquet")
    for threshold in (None, 0.3, 0.55):
        memory = evaluate_files(gt, tmp_path / "pred32.parquet", threshold=threshold).results
        (tmp_path / f"t{threshold}").mkdir()
        sharded = evaluate_sharded(gt, _shards(tmp_path / f"t{threshold}", small, 3)).results
        assert sharded._runs[0].pos is not None
        assert np.load(sharded._runs[0].pos).dtype == np.float32
        at = OperatingPoint(threshold=threshold)
        _close(memory.summary(at), sharded.summary(at))
        _close(memory.per_class(at), sharded.per_class(at))
        for metric in ("f1", "accuracy", "micro_f1"):
            _close(memory.optimal(metric), sharded.optimal(metric))
