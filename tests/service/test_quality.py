"""Data-quality analysis of stored evaluations: cached properties, importance, bins, explorer,
duplicates, leakage and label issues on small crafted workspaces."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from PIL import Image

from assay.errors import InputError, NotFoundError, ParameterError
from assay.evaluation.classification import ClassificationResults
from assay.evaluation.detection import evaluate_detections
from assay.service import quality as store_quality
from assay.service.quality import (
    analyze_stored,
    dataset_properties,
    explore,
    label_issues_stored,
    property_bins,
)
from assay.store import Workspace
from assay.store import properties as store_properties

N = 240
CLASSES = ["a", "b", "c", "d"]


def _pattern(rng: np.random.Generator, brightness: float) -> np.ndarray:
    small = rng.integers(0, 256, size=(6, 8, 3)).astype(np.float64) * brightness
    return np.asarray(Image.fromarray(small.astype(np.uint8)).resize((64, 48), Image.BILINEAR))


def _json_safe(out: Any) -> None:
    json.dumps(out, allow_nan=False)  # raises on NaN / inf


@pytest.fixture(scope="module")
def image_ws(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """240 images; the model errs on dark ones (brightness < 0.3) and is confident elsewhere;
    8 labels flipped on purpose; image 1 is a re-encoded copy of image 0."""
    tmp = tmp_path_factory.mktemp("quality")
    media = tmp / "media"
    media.mkdir()
    rng = np.random.default_rng(0)
    level = rng.uniform(0.1, 1.0, N)
    paths = []
    for i in range(N):
        path = media / f"{i:03d}.png"
        Image.fromarray(_pattern(rng, level[i])).save(path)
        paths.append(path)
    Image.open(paths[0]).save(media / "copy.jpg", quality=80)
    paths[1] = media / "copy.jpg"
    y = rng.integers(0, 4, N)
    dark = level < 0.3
    wrong = (dark & (rng.random(N) < 0.7)) | (~dark & (rng.random(N) < 0.03))
    pred = np.where(wrong, (y + 1 + rng.integers(0, 3, N)) % 4, y)
    scores = np.full((N, 4), 0.02)
    scores[np.arange(N), pred] = 0.94
    flipped = rng.choice(np.flatnonzero(~dark & ~wrong), 8, replace=False)
    given = y.copy()
    given[flipped] = (y[flipped] + 2) % 4
    samples = pa.table(
        {
            "id": [f"s{i}" for i in range(N)],
            "path": [str(p) for p in paths],
            "exposure": rng.random(N),
            "camera": [["phone", "dslr"][i % 2] for i in range(N)],
        }
    )
    ws = Workspace(tmp / "home")
    dv = ws.add_dataset_version("pics", task="classification", samples=samples, media_root=media)
    res = ClassificationResults(given, scores, CLASSES, sample_ids=[f"s{i}" for i in range(N)])
    rec = ws.save_evaluation(res, name="m", dataset_version_id=dv.id, params={"threshold": 0.5})
    return {"ws": ws, "id": rec.id, "dv": dv.id, "flipped": flipped, "dark": dark, "level": level}


def test_analysis_of_an_image_classifier(image_ws: dict[str, Any]) -> None:
    ws = image_ws["ws"]
    calls: list[tuple[int, int]] = []
    out = analyze_stored(ws, image_ws["id"], progress=lambda d, t: calls.append((d, t)))
    _json_safe(out)
    # two phases, each from 0: the images, then the ranking (a fit and a step per property, per
    # held-out fold)
    cut = calls.index((N, N))
    ranking = calls[cut + 1 :]
    steps = 3 * (1 + sum(r["importance"] is not None for r in out["importance"]))
    assert ranking[0] == (0, steps) and ranking[-1] == (steps, steps)
    assert all(t == steps for _, t in ranking) and all(t == N for _, t in calls[: cut + 1])
    assert out["task"] == "classification" and out["n_samples"] == N
    assert out["point"] == {"threshold": 0.5}  # the point it was stored with
    kinds = {p["name"]: p["kind"] for p in out["properties"]}
    assert kinds["brightness"] == "image" and kinds["exposure"] == "metadata"
    assert kinds["camera"] == "metadata"
    camera = next(p for p in out["properties"] if p["name"] == "camera")
    assert camera["categories"] == ["dslr", "phone"]
    # brightness, the channel means and contrast all carry the planted effect (the model may
    # use any of them); brightness correlates most with correctness
    top = out["importance"][0]
    assert top["property"] in {"brightness", "greenness", "redness", "blueness", "contrast"}
    assert top["importance"] > 0.05
    by = {r["property"]: r for r in out["importance"]}
    strongest = max(out["importance"], key=lambda r: abs(r["spearman"] or 0))
    assert strongest["property"] in {"brightness", "colourfulness"}  # both scale with the level
    assert by["brightness"]["spearman"] > 0.3
    assert abs(by["exposure"]["importance"]) < 0.05 and abs(by["exposure"]["spearman"]) < 0.15
    dup = out["duplicates"]
    assert dup["kind"] == "image" and dup["leakage"] is None
    assert {"indices": [0, 1], "ids": ["s0", "s1"]}.items() <= dup["groups"][0].items()
    flagged = [r["index"] for r in out["label_issues"]]
    assert set(image_ws["flipped"].tolist()) <= set(flagged)
    first = out["label_issues"][0]
    assert first["id"] == f"s{first['index']}" and first["confidence"] > 0.9
    assert set(out["stages_s"]) == {"properties", "importance", "duplicates", "label_issues"}


def test_label_issues_stored_and_no_forks_from_the_views(
    image_ws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = image_ws["ws"]
    found = label_issues_stored(ws, image_ws["id"])
    assert set(image_ws["flipped"].tolist()) <= {r["index"] for r in found}
    assert label_issues_stored(ws, image_ws["id"], results=ws.load_results(image_ws["id"])) == found
    assert [r["index"] for r in analyze_stored(ws, image_ws["id"])["label_issues"]] == [
        r["index"] for r in found[:100]
    ]
    # the views pass processes on when they compute the properties (the cache gone)
    seen: list[object] = []
    real = store_quality.image_properties

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("processes"))
        return real(*args, **kwargs)

    monkeypatch.setattr(store_quality, "image_properties", spy)
    cache = ws.datasets_dir / str(image_ws["dv"]) / "properties.parquet"
    cache.unlink()
    property_bins(ws, image_ws["id"], "brightness", processes=False)
    cache.unlink()
    explore(ws, image_ws["id"], "brightness", limit=1, processes=False)
    assert seen == [False, False]


def test_a_column_that_determines_the_label_is_left_out_of_the_ranking(tmp_path: Path) -> None:
    """TREC's fine question type under the coarse one would top any ranking and explain nothing:
    it stays a property (bins, explorer) but is left out of the ranking, with a note."""
    rng = np.random.default_rng(7)
    n = 300
    y = rng.integers(0, 3, n)
    fine = [f"{'abc'[c]}{k}" for c, k in zip(y, rng.integers(0, 4, n), strict=True)]
    texts = [" ".join(f"w{k}" for k in rng.integers(0, 500, 6 + 10 * int(c == 0))) for c in y]
    wrong = (y == 0) & (rng.random(n) < 0.5)  # the model errs on one class
    scores = np.eye(3)[np.where(wrong, (y + 1) % 3, y)] * 0.9 + 0.05
    ws = Workspace(tmp_path / "home")
    samples = pa.table(
        {
            "id": [f"q{i}" for i in range(n)],
            "text": texts,
            "fine_label": fine,
            "source": [["web", "book"][i % 2] for i in range(n)],
            "level": (y * 10 + rng.integers(0, 2, n)).astype(float),  # numeric, 6 values
        }
    )
    dv = ws.add_dataset_version("q", task="classification", samples=samples)
    rec = ws.save_evaluation(ClassificationResults(y, scores, ["A", "B", "C"]), name="q",
                             dataset_version_id=dv.id)  # fmt: skip
    out = analyze_stored(ws, rec.id)
    _json_safe(out)
    ranked = {r["property"] for r in out["importance"]}
    assert "fine_label" not in ranked and "level" not in ranked
    assert {"source", "length", "tokens"} <= ranked
    assert "fine_label: left out, it determines the label" in out["notes"]
    assert "level: left out, it determines the label" in out["notes"]
    assert {p["name"] for p in out["properties"]} >= {"fine_label", "level", "source"}
    bins = property_bins(ws, rec.id, "fine_label")
    assert len(bins["bins"]) == 12
    assert out["importance"][0]["property"] in {"length", "tokens"}  # the planted effect


def test_properties_are_cached_per_dataset_version(
    image_ws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, dv = image_ws["ws"], image_ws["dv"]
    first = dataset_properties(ws, dv)
    cache = ws.datasets_dir / str(dv) / "properties.parquet"
    assert cache.is_file()
    stamp = cache.stat().st_mtime_ns

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("recomputed")

    monkeypatch.setattr(store_quality, "image_properties", boom)
    again = dataset_properties(ws, dv)
    assert not again.computed and cache.stat().st_mtime_ns == stamp
    for name, v in first.values.items():
        np.testing.assert_array_equal(again.values[name], v)
    assert again.extra["phash"].dtype == np.uint64
    np.testing.assert_array_equal(again.extra["phash"], first.extra["phash"])
    analyze_stored(ws, image_ws["id"])  # the analysis reads the cache too
    # a stale cache (another samples table) is recomputed
    monkeypatch.setattr(store_properties, "_stamp", lambda ws, dv: [0, 0, 0])
    with pytest.raises(AssertionError, match="recomputed"):
        dataset_properties(ws, dv)


def test_property_bins_show_the_dark_images_failing(image_ws: dict[str, Any]) -> None:
    ws = image_ws["ws"]
    out = property_bins(ws, image_ws["id"], "brightness", bins=5)
    _json_safe(out)
    accs = [b["accuracy"]["value"] for b in out["bins"]]
    assert len(accs) == 5 and accs[0] < 0.6 and min(accs[2:]) > 0.85
    assert sum(b["n"] for b in out["bins"]) == N and out["n_missing"] == 0
    low = out["bins"][0]["accuracy"]
    assert low["low"] <= low["value"] <= low["high"]
    by_class = property_bins(ws, image_ws["id"], "brightness", bins=5, label="a")
    assert all(b["tpr"] is not None and b["precision"] is not None for b in by_class["bins"])
    cats = property_bins(ws, image_ws["id"], "camera")
    assert [b["category"] for b in cats["bins"]] == ["dslr", "phone"]
    with pytest.raises(ParameterError):
        property_bins(ws, image_ws["id"], "no_such_property")
    with pytest.raises(ParameterError):
        property_bins(ws, image_ws["id"], "brightness", label="zebra")
    with pytest.raises(ParameterError):
        property_bins(ws, image_ws["id"], "brightness", bins=0)


def test_explore_ranks_and_filters(image_ws: dict[str, Any]) -> None:
    ws = image_ws["ws"]
    out = explore(ws, image_ws["id"], "brightness", outcome="incorrect", descending=False, limit=10)
    _json_safe(out)
    values = [it["value"] for it in out["items"]]
    assert values == sorted(values) and len(values) == 10
    assert all(it["outcome"] == "incorrect" for it in out["items"])
    assert all(image_ws["dark"][it["index"]] for it in out["items"][:5])
    assert out["total"] == N - sum(1 for _ in range(0)) - int(
        explore(ws, image_ws["id"], "brightness", outcome="correct", limit=0)["total"]
    )
    flipped = int(image_ws["flipped"][0])
    everything = explore(ws, image_ws["id"], "brightness", limit=N)["items"]
    assert next(it for it in everything if it["index"] == flipped)["possible_label_error"]
    tp = explore(ws, image_ws["id"], "exposure", outcome="tp", label="b", limit=N)
    assert tp["items"] and all(
        it["outcome"] == "tp" and it["actual"] == it["predicted"] == "b" for it in tp["items"]
    )
    with pytest.raises(ParameterError):
        explore(ws, image_ws["id"], "brightness", outcome="tp")  # needs a label
    with pytest.raises(ParameterError):
        explore(ws, image_ws["id"], "brightness", outcome="maybe")


def test_bad_input(image_ws: dict[str, Any]) -> None:
    ws = image_ws["ws"]
    with pytest.raises(NotFoundError):
        analyze_stored(ws, 999)
    with pytest.raises(InputError, match="evaluated set itself"):
        analyze_stored(ws, image_ws["id"], train=image_ws["dv"])
    with pytest.raises(NotFoundError):
        analyze_stored(ws, image_ws["id"], train=999)


def test_text_duplicates_leakage_and_training_vocabulary(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    words = [f"w{k}" for k in range(300)]
    texts = [" ".join(rng.choice(words, 12)) for _ in range(60)]
    texts[5] = texts[4] + " !"  # a near copy inside the test set
    train_texts = [" ".join(rng.choice(words[:150], 12)) for _ in range(40)]
    train_texts[7] = texts[9].upper()  # leaked
    ws = Workspace(tmp_path / "home")
    train = ws.add_dataset_version(
        "train", task="classification",
        samples=pa.table({"id": [f"t{i}" for i in range(40)], "text": train_texts}),
    )  # fmt: skip
    dv = ws.add_dataset_version(
        "test", task="classification",
        samples=pa.table({"id": [f"x{i}" for i in range(60)], "text": texts}),
    )  # fmt: skip
    y = rng.integers(0, 2, 60)
    scores = np.eye(2)[y] * 0.8 + 0.1
    rec = ws.save_evaluation(ClassificationResults(y, scores, ["neg", "pos"]), name="t",
                             dataset_version_id=dv.id)  # fmt: skip
    out = analyze_stored(ws, rec.id, train=train.id)
    _json_safe(out)
    assert out["duplicates"]["kind"] == "text"
    assert [g["indices"] for g in out["duplicates"]["groups"]] == [[4, 5]]
    assert [(r["index"], r["id"], r["train_id"]) for r in out["duplicates"]["leakage"]] == [
        (9, "x9", "t7")
    ]
    props = {p["name"]: p for p in out["properties"]}
    assert props["oov_share"]["kind"] == "text" and "training" in props["oov_share"]["description"]
    rows = explore(ws, rec.id, "oov_share", limit=60, train=train.id)["items"]
    # words w150..w299 never occur in training: the top OOV share is well above 0
    assert rows[0]["value"] > 0.5 and rows[-1]["value"] <= rows[0]["value"]
    assert out["label_issues"] == [] or all(r["id"].startswith("x") for r in out["label_issues"])


def test_detection_box_properties_and_outcomes(tmp_path: Path) -> None:
    images, anns, dets = [], [], []
    media = tmp_path / "img"
    media.mkdir()
    rng = np.random.default_rng(0)
    for i in range(90):
        Image.fromarray(rng.integers(0, 256, (40, 50, 3)).astype(np.uint8)).save(media / f"{i}.png")
        images.append({"id": i + 1, "file_name": f"{i}.png", "width": 50, "height": 40})
        n_boxes = 1 + i % 3
        for k in range(n_boxes):
            box = [2.0 + 12 * k, 5.0, 10.0, 10.0]
            anns.append({"id": len(anns) + 1, "image_id": i + 1, "category_id": 1, "bbox": box,
                         "area": 100.0, "iscrowd": 0})  # fmt: skip
            if not (n_boxes == 3 and k == 2):  # crowded images miss their third box
                dets.append({"image_id": i + 1, "category_id": 1, "bbox": box, "score": 0.9})
    gt = {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "thing"}]}
    res = evaluate_detections(gt, dets)
    samples = pa.table(
        {
            "id": [str(i + 1) for i in range(90)],
            "file_name": [f"{i}.png" for i in range(90)],
            "path": [str(media / f"{i}.png") for i in range(90)],
            "width": [50] * 90,
            "height": [40] * 90,
        }
    )
    ws = Workspace(tmp_path / "home")
    dv = ws.add_dataset_version("boxes", task="detection", samples=samples, media_root=media)
    rec = ws.save_evaluation(res, name="det", dataset_version_id=dv.id)
    out = analyze_stored(ws, rec.id)
    _json_safe(out)
    kinds = {p["name"]: p["kind"] for p in out["properties"]}
    assert kinds["boxes"] == "box" and kinds["occlusion"] == "box" and kinds["width"] == "image"
    assert "metadata_width" not in kinds  # the same numbers as the image's own width
    assert out["importance"][0]["property"] == "boxes"
    assert out["label_issues"] == [] and out["n_correct"] == 60
    bins = property_bins(ws, rec.id, "boxes", bins=3, label="thing")
    assert [b["tpr"]["value"] for b in bins["bins"]] == [1.0, 1.0, pytest.approx(2 / 3)]
    fn = explore(ws, rec.id, "boxes", outcome="fn", limit=90)
    assert fn["total"] == 30 and all(it["fn"] == 1 and it["value"] == 3 for it in fn["items"])
    assert fn["items"][0]["actual"] == ["thing"] and fn["items"][0]["outcome"] == "incorrect"
