"""Data-quality functions on crafted inputs with known answers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFilter

from assay.errors import InputError
from assay.evaluation.quality import (
    box_properties,
    by_property,
    determines_label,
    image_leakage,
    image_properties,
    importance,
    label_issues,
    near_duplicates_images,
    near_duplicates_texts,
    text_leakage,
    text_properties,
    wilson_interval,
)


def _save(path: Path, array: np.ndarray, **kw: object) -> Path:
    Image.fromarray(array.astype(np.uint8)).save(path, **kw)
    return path


def _pattern(seed: int, size: tuple[int, int] = (96, 128)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(12, 16, 3))
    return np.asarray(Image.fromarray(small.astype(np.uint8)).resize(size[::-1], Image.BILINEAR))


# ------------------------------------------------------------------ images


def test_image_properties_of_flat_and_split_images(tmp_path: Path) -> None:
    grey = _save(tmp_path / "grey.png", np.full((40, 80, 3), 128))
    red = _save(tmp_path / "red.png", np.tile([255, 0, 0], (50, 50, 1)))
    half = np.zeros((60, 60, 3))
    half[:, 30:] = 255  # luma 0 on one half, 1 on the other
    split = _save(tmp_path / "split.png", half)
    missing = tmp_path / "missing.jpg"
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image")
    t = image_properties([grey, red, split, missing, broken, None], workers=2)
    v = t.values
    assert v["brightness"][0] == pytest.approx(128 / 255, abs=1e-3)
    assert v["contrast"][0] == pytest.approx(0.0, abs=1e-6)
    assert v["sharpness"][0] == pytest.approx(0.0, abs=1e-9)
    assert v["colourfulness"][0] == pytest.approx(0.0, abs=1e-6)
    # grey (three equal bands): no redness, greenness or blueness
    assert np.isnan([v["redness"][0], v["greenness"][0], v["blueness"][0]]).all()
    assert (v["width"][0], v["height"][0], v["area"][0], v["aspect_ratio"][0]) == (
        80,
        40,
        3200,
        2.0,
    )
    assert (v["redness"][1], v["greenness"][1], v["blueness"][1]) == pytest.approx((1.0, 0.0, 0.0))
    assert v["brightness"][1] == pytest.approx(0.299, abs=2e-3)
    # pure red: rg = 255, yb = 127.5, no spread -> 0.3 * hypot(255, 127.5)
    assert v["colourfulness"][1] == pytest.approx(0.3 * np.hypot(255, 127.5), rel=1e-4)
    assert v["brightness"][2] == pytest.approx(0.5, abs=1e-3)
    assert v["contrast"][2] == pytest.approx(0.5, abs=1e-3)
    assert v["sharpness"][2] > 0.01
    assert t.unreadable == 3
    for name, col in v.items():
        assert np.isnan(col[3:]).all(), name
    assert not t.extra["hashed"][3:].any()


def test_sharpness_orders_blurred_copies(tmp_path: Path) -> None:
    base = Image.fromarray(_pattern(1, (120, 160)))
    paths = []
    for k, radius in enumerate([0, 1, 3]):
        im = base.filter(ImageFilter.GaussianBlur(radius)) if radius else base
        paths.append(tmp_path / f"b{k}.png")
        im.save(paths[-1])
    sharp = image_properties(paths, workers=1).values["sharpness"]
    assert sharp[0] > sharp[1] > sharp[2] > 0


def test_jpeg_draft_keeps_the_original_size_and_the_colours(tmp_path: Path) -> None:
    big = np.zeros((600, 800, 3))
    big[..., 2] = 200  # blue
    t = image_properties([_save(tmp_path / "big.jpg", big, quality=95)])
    assert (t.values["width"][0], t.values["height"][0]) == (800, 600)
    assert t.values["blueness"][0] == pytest.approx(200 / 255, abs=0.02)
    assert t.values["redness"][0] < 0.02


def test_uniqueness_is_zero_for_copies_and_larger_for_outliers(tmp_path: Path) -> None:
    paths = [_save(tmp_path / f"p{i}.png", _pattern(i)) for i in range(8)]
    paths.append(_save(tmp_path / "copy.png", _pattern(0)))
    u = image_properties(paths, workers=1).values["uniqueness"]
    assert u[0] == pytest.approx(0.0, abs=1e-6) and u[8] == pytest.approx(0.0, abs=1e-6)
    assert (u[1:8] > 0.1).all()


def test_near_duplicates_find_reencoded_and_resized_copies(tmp_path: Path) -> None:
    originals = [_save(tmp_path / f"o{i}.png", _pattern(10 + i, (240, 320))) for i in range(6)]
    im = Image.open(originals[2])
    im.resize((160, 120)).save(tmp_path / "small.jpg", quality=70)
    im.save(tmp_path / "reenc.jpg", quality=60)
    paths = [*originals, tmp_path / "small.jpg", tmp_path / "reenc.jpg"]
    groups = near_duplicates_images(paths, max_distance=4)
    assert [g["indices"] for g in groups] == [[2, 6, 7]]
    assert groups[0]["distance"] <= 4
    leaks = image_leakage(originals[:3], [tmp_path / "small.jpg", originals[4]])
    assert [(r["index"], r["train_index"]) for r in leaks] == [(0, 2)]
    with pytest.raises(InputError):
        near_duplicates_images(paths, max_distance=65)


def test_image_properties_refuse_bad_workers(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        image_properties([], workers=0)


# ------------------------------------------------------------------ texts


def test_text_properties_known_answers() -> None:
    t = text_properties(["Hello world", "hello hello there", "", None])
    v = t.values
    assert v["length"][:3].tolist() == [11, 17, 0] and np.isnan(v["length"][3])
    assert v["tokens"][:3].tolist() == [2, 3, 0]
    # tokens seen at least twice in the set: only "hello" (3 times)
    assert v["oov_share"][0] == pytest.approx(0.5) and v["oov_share"][1] == pytest.approx(1 / 3)
    assert np.isnan(v["oov_share"][2]) and np.isnan(v["oov_share"][3])
    assert "at least twice" in t.descriptions["oov_share"]
    trained = text_properties(["Hello world", "brand new words"], vocabulary={"hello", "new"})
    assert trained.values["oov_share"].tolist() == [0.5, pytest.approx(2 / 3)]
    assert "training" in trained.descriptions["oov_share"]
    with pytest.raises(InputError):
        text_properties(["ok", 3])  # type: ignore[list-item]


def test_text_uniqueness_and_near_copies() -> None:
    texts = [
        "The quick brown fox jumps over the lazy dog near the river bank today",
        "the quick brown fox jumps over the lazy dog near the river bank today!",
        "An entirely different sentence about weather forecasts and rain",
        "Stock markets closed higher on Tuesday after a volatile session",
    ]
    u = text_properties(texts).values["uniqueness"]
    assert u[0] < 0.2 and u[1] < 0.2 and u[2] > 0.6 and u[3] > 0.6
    groups = near_duplicates_texts(texts, threshold=0.8)
    assert [g["indices"] for g in groups] == [[0, 1]]
    leaks = text_leakage(
        texts[2:], [texts[0], "Stock markets closed higher on Tuesday after a volatile session."]
    )
    assert [(r["index"], r["train_index"]) for r in leaks] == [(1, 1)]
    with pytest.raises(InputError):
        near_duplicates_texts(texts, threshold=0)


# ------------------------------------------------------------------ boxes


def test_box_properties_known_answers() -> None:
    per_image, per_box = box_properties(
        [[0, 0, 10, 10], [5, 0, 10, 10], [40, 20, 10, 20], [1, 1, 5, 5]],
        [0, 0, 2, 2],
        [100, 30, 100],
        [50, 30, 50],
        iscrowd=[False, False, False, True],
    )
    v = per_image.values
    assert v["boxes"].tolist() == [2, 0, 1]
    assert v["occlusion"][0] == pytest.approx(50 / 150) and v["occlusion"][2] == 0.0
    assert v["box_area"][0] == pytest.approx(100 / 5000) and v["box_area"][2] == pytest.approx(
        200 / 5000
    )
    assert v["border_distance"][0] == 0.0 and v["border_distance"][2] == pytest.approx(0.2)
    assert v["box_aspect"][2] == pytest.approx(0.5)
    assert all(np.isnan(v[k][1]) for k in ("box_area", "occlusion", "border_distance"))
    assert np.isnan(per_box["area"][3])  # the crowd region
    with pytest.raises(InputError):
        box_properties([[0, 0, 1, 1]], [5], [10], [10])


# ------------------------------------------------------------------ importance and bins


def test_importance_finds_errors_planted_in_dark_images() -> None:
    rng = np.random.default_rng(0)
    n = 1500
    props = {
        "brightness": rng.random(n),
        "contrast": rng.random(n),
        "sharpness": rng.random(n),
        "width": rng.integers(100, 600, n).astype(float),
    }
    p_wrong = np.where(props["brightness"] < 0.25, 0.6, 0.05)
    correct = rng.random(n) >= p_wrong
    rows = importance(props, correct, seed=0)
    assert rows[0]["property"] == "brightness"
    assert rows[0]["importance"] > 0.1 and rows[0]["spearman"] > 0.2
    assert rows[0]["spearman_p"] < 1e-6
    for r in rows[1:]:
        assert abs(r["importance"]) < 0.05 and abs(r["spearman"]) < 0.1
    assert importance(props, correct, seed=0) == rows  # deterministic for a seed


def test_importance_is_small_where_nothing_was_planted() -> None:
    rng = np.random.default_rng(1)
    n = 1500
    props = {k: rng.random(n) for k in ("brightness", "contrast", "sharpness", "uniqueness")}
    correct = rng.random(n) >= 0.2
    for r in importance(props, correct, seed=3):
        assert abs(r["importance"]) < 0.05 and abs(r["spearman"]) < 0.1


def test_importance_edge_cases() -> None:
    rng = np.random.default_rng(2)
    x = rng.random(100)
    x[:10] = np.nan
    rows = importance({"x": x, "flat": np.ones(100), "cat": rng.integers(0, 3, 100)},
                      x > 0.3, categorical=["cat"])  # fmt: skip
    by = {r["property"]: r for r in rows}
    assert (
        by["x"]["n"] == 90 and by["flat"]["spearman"] is None and by["flat"]["importance"] is None
    )
    assert by["cat"]["spearman"] is None and by["cat"]["importance"] is not None
    assert rows[-1]["property"] == "flat"
    all_right = importance({"x": x}, np.ones(100, bool))
    assert all_right[0]["importance"] is None and all_right[0]["spearman"] is None
    with pytest.raises(InputError):
        importance({"x": x[:5]}, x > 0.3)
    with pytest.raises(InputError):
        importance({"x": x}, np.full(100, 2))


def test_importance_on_a_sample_of_rows_still_finds_the_effect_and_reports_progress() -> None:
    rng = np.random.default_rng(4)
    n = 6000
    props = {k: rng.random(n) for k in ("brightness", "contrast", "sharpness")}
    props["camera"] = rng.integers(0, 4, n).astype(float)
    correct = rng.random(n) >= np.where(props["brightness"] < 0.2, 0.5, 0.03)  # ~11 % wrong
    calls: list[tuple[int, int]] = []
    rows = importance(props, correct, categorical=["camera"], max_rows=800,
                      progress=lambda d, t: calls.append((d, t)))  # fmt: skip
    assert rows[0]["property"] == "brightness" and rows[0]["importance"] > 0.1
    assert all(abs(r["importance"]) < 0.05 for r in rows[1:])
    assert rows[0]["n"] == n  # Spearman over every row, the model over a sample
    total = 3 * (1 + len(props))
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    # the sample keeps at least 200 wrong samples however rare they are
    rare = rng.random(n) >= np.where(props["brightness"] < 0.05, 0.8, 0.0)  # ~4 % wrong
    top = importance(props, rare, max_rows=500, seed=1)[0]
    assert top["property"] == "brightness" and top["importance"] > 0.1
    with pytest.raises(InputError, match="n_repeats"):
        importance(props, correct, n_repeats=0)
    with pytest.raises(InputError, match="max_rows"):
        importance(props, correct, max_rows=5)
    few: list[tuple[int, int]] = []
    importance({"x": np.arange(10.0)}, np.arange(10) > 2, progress=lambda d, t: few.append((d, t)))
    assert few == [(0, 0)]  # too few samples for a model: nothing to follow


def test_determines_label() -> None:
    rng = np.random.default_rng(5)
    coarse = rng.integers(0, 4, 400)
    fine = coarse * 3 + rng.integers(0, 3, 400)  # 12 fine classes, each under one coarse one
    assert determines_label(fine, coarse)
    assert determines_label(fine.astype(float), np.array(list("abcd"))[coarse])  # names
    # nearly: one fine value ("other") shared by two coarse classes, as in TREC
    shared = np.where((fine == 11) | (fine == 8), 99, fine)
    assert determines_label(shared, coarse)
    assert not determines_label(shared, coarse, min_lambda=1.0)
    assert not determines_label(rng.integers(0, 12, 400), coarse)  # unrelated
    assert not determines_label(np.zeros(400), coarse)  # one value
    assert not determines_label(fine, np.zeros(400, int))  # one label
    assert not determines_label(np.arange(400), coarse)  # an id: too many values
    assert not determines_label(fine[:40], coarse[:40])  # 12 values over 40 samples: by chance
    with_nan = fine.astype(float)
    with_nan[:50] = np.nan
    assert determines_label(with_nan, coarse)
    matrix = np.eye(4, dtype=bool)[coarse]  # multi-label rows as the label
    assert determines_label(fine, matrix)
    with pytest.raises(InputError):
        determines_label(fine, coarse[:10])


def test_by_property_bins_and_wilson() -> None:
    statsmodels = pytest.importorskip("statsmodels.stats.proportion")
    for k, n in [(0, 10), (3, 10), (10, 10), (47, 113)]:
        lo, hi = statsmodels.proportion_confint(k, n, alpha=0.05, method="wilson")
        assert wilson_interval(k, n) == pytest.approx((lo, hi), abs=1e-9)
    assert wilson_interval(0, 0) == (None, None)
    v = np.arange(200.0)
    correct = v >= 40
    out = by_property(v, correct, bins=5)
    assert [b["n"] for b in out["bins"]] == [40] * 5
    assert out["bins"][0]["accuracy"]["value"] == 0.0 and out["bins"][1]["accuracy"]["value"] == 1.0
    assert out["bins"][0]["lower"] == 0.0 and out["bins"][-1]["upper"] == 199.0
    # a class: TPR over its samples, precision over those predicted as it
    tp = (v % 2 == 0) & correct
    fn = (v % 2 == 0) & ~correct
    fp = v % 4 == 1
    out = by_property(v, correct, bins=2, tp=tp, fp=fp, fn=fn)
    first = out["bins"][0]
    assert first["tpr"]["value"] == pytest.approx(30 / 50) and first["tpr"]["n"] == 50
    assert first["precision"]["value"] == pytest.approx(30 / (30 + 25))
    # ties never straddle bins; NaN counted apart
    tied = np.r_[np.zeros(50), np.ones(50), np.nan]
    out = by_property(tied, np.ones(101, bool), bins=10)
    assert [b["n"] for b in out["bins"]] == [50, 50] and out["n_missing"] == 1
    cats = by_property(
        np.array([0, 1, 1, np.nan]), [True, False, True, True], categories=["a", "b"]
    )
    assert [(b["category"], b["n"]) for b in cats["bins"]] == [("a", 1), ("b", 2)]
    with pytest.raises(InputError):
        by_property(v, correct, bins=0)


# ------------------------------------------------------------------ label issues


def test_label_issues_find_flipped_labels() -> None:
    rng = np.random.default_rng(0)
    n, c = 600, 3
    y = rng.integers(0, c, n)
    logits = rng.normal(0, 1, (n, c)) + 4 * np.eye(c)[y]
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    flipped = rng.choice(n, 15, replace=False)
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + 1) % c
    found = label_issues(noisy, probs, ["a", "b", "c"])
    idx = [r["index"] for r in found]
    hits = set(flipped.tolist()) & set(idx)
    assert len(hits) >= 12 and len(hits) >= 0.9 * len(idx)  # most found, few false alarms
    assert set(idx[:10]) <= set(flipped.tolist())
    top = found[0]
    assert top["given"] == "abc"[noisy[top["index"]]] and top["suggested"] == "abc"[y[top["index"]]]
    assert top["confidence"] > 0.5 and top["self_confidence"] < 0.1
    sc = [r["self_confidence"] for r in found]
    assert sc == sorted(sc)
    with pytest.raises(InputError):
        label_issues(noisy, probs[:, :2])
    with pytest.raises(InputError):
        label_issues(noisy + 5, probs)


def test_processes_give_the_same_properties_as_threads(tmp_path: Path) -> None:
    paths = [_save(tmp_path / f"p{i}.png", _pattern(i)) for i in range(12)]
    paths.append(tmp_path / "missing.png")
    threads = image_properties(paths, workers=2, processes=False)
    procs = image_properties(paths, workers=2, processes=True)
    for name, v in threads.values.items():
        np.testing.assert_array_equal(procs.values[name], v)
    np.testing.assert_array_equal(procs.extra["phash"], threads.extra["phash"])
    assert procs.unreadable == threads.unreadable == 1


def test_no_processes_by_default_from_a_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Forking while other threads may hold locks is unsafe: without ``processes`` a call from
    a thread (a server's) decodes on threads even past PROCESSES_FROM images."""
    import threading

    from assay.evaluation.quality import _images

    paths = [_save(tmp_path / f"p{i}.png", _pattern(i)) for i in range(8)]

    class NoFork:
        def __init__(self, *args: object, **kwargs: object) -> None:
            raise RuntimeError("forked")

    monkeypatch.setattr(_images, "PROCESSES_FROM", 1)
    monkeypatch.setattr(_images, "ProcessPoolExecutor", NoFork)
    if "fork" in __import__("multiprocessing").get_all_start_methods():
        with pytest.raises(RuntimeError, match="forked"):  # the main thread forks
            image_properties(paths, workers=2)
    out: dict[str, object] = {}
    worker = threading.Thread(target=lambda: out.update(t=image_properties(paths, workers=2)))
    worker.start()
    worker.join()
    assert "t" in out and out["t"].unreadable == 0  # type: ignore[attr-defined]
