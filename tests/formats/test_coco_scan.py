"""The numba scanner of COCO results files reads exactly what orjson's path reads, and gives up
(to that path) on every shape it does not vouch for, so errors still name the entry."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import orjson
import pytest

from assay.errors import InputError
from assay.formats import _coco_scan, coco
from assay.formats._coco_scan import scan_results
from assay.formats.coco import load_detection_gt, load_detection_results

FIELDS = ("image_id", "category_id", "bbox", "score")


def _scan(raw: bytes) -> dict[str, np.ndarray] | None:
    return scan_results(np.frombuffer(raw, np.uint8))


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(
        np.ascontiguousarray(a, np.float64).view(np.int64),
        np.ascontiguousarray(b, np.float64).view(np.int64),
    )


def _numbers(rng: np.random.Generator, n: int) -> np.ndarray:
    """Floats as detectors write them: short decimals, float32 values, 17 digits, exponents."""
    parts = [
        rng.random(n) * 1000,
        rng.standard_normal(n) * 10.0 ** rng.integers(-30, 30, n),
        rng.random(n).astype(np.float32).astype(np.float64),
        np.array(
            [
                round(float(v), int(k))
                for v, k in zip(rng.random(n) * 640, rng.integers(0, 8, n), strict=True)
            ]
        ),
        rng.integers(-(2**40), 2**40, n).astype(np.float64),
    ]
    x = np.concatenate(parts)
    rng.shuffle(x)
    return x


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scan_equals_orjson(seed: int) -> None:
    rng = np.random.default_rng(seed)
    vals = _numbers(rng, 2000)
    m = len(vals) // 5
    dets = [
        {
            "score": float(vals[4 * m + i]),
            "image_id": int(rng.integers(-5, 10**15)),
            "bbox": [float(v) for v in vals[4 * i : 4 * i + 4]],
            "category_id": int(rng.integers(0, 90)),
            **({"extra": "plain text", "flag": None, "ok": True} if i % 3 == 0 else {}),
        }
        for i in range(m)
    ]
    dets[0]["score"] = 1  # an integer where a float belongs
    dets[1]["bbox"] = [0, -0.0, 1e-3, 2.5e2]
    for raw in (
        orjson.dumps(dets),
        orjson.dumps(dets, option=orjson.OPT_INDENT_2),
        json.dumps(dets, indent=seed or None).encode(),  # Python's writer: "1.0", "1e-05"
    ):
        got = _scan(raw)
        assert got is not None
        ref = orjson.loads(raw)
        for f in FIELDS:
            want = np.array([d[f] for d in ref])
            if f in ("image_id", "category_id"):
                assert got[f].dtype == np.int64 and np.array_equal(got[f], want)
            else:
                assert _same_bits(got[f], want.astype(np.float64)), f


OK = b'{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.5}'


@pytest.mark.parametrize(
    "raw",
    [
        b"[]",
        b"{}",
        b"",
        b"[" + OK + b",]",
        b"[" + OK + b"] x",
        b"[" + OK,
        b'[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3], "score": 1}]',
        b'[{"image_id": 1.0, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 1}]',
        b'[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 01}]',
        b'[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 1.}]',
        b'[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": .5}]',
        b'[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": -}]',
        b'[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}]',
        b'[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 1e999}]',
        b'[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": true}]',
        b'[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": "0.5"}]',
        b'[{"image_id": 1, "image_id": 2, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 1}]',
        b'[{"image_id": 123456789012345678901, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 1}]',
        b'[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 1, "seg": [[1]]}]',
        b'[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 1, "n": "\\u00e9"}]',
        b'[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 1, "n": "\xc3\xa9"}]',
        b'[{"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 1, "n": tru}]',
        b"\xef\xbb\xbf[" + OK + b"]",
        b"[" + b"{" * 100_000,  # braces alone: no columns bigger than the file
    ],
)
def test_scan_gives_up(raw: bytes) -> None:
    assert _scan(raw) is None


def _gt() -> object:
    return load_detection_gt(
        {
            "images": [{"id": i, "width": 640, "height": 480} for i in (1, 2)],
            "categories": [{"id": 1, "name": "a"}, {"id": 3, "name": "b"}],
            "annotations": [],
        }
    )


def test_file_paths_agree_and_errors_name_the_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(coco, "SCAN_MIN_BYTES", 0)  # these small files too go through the scanner
    read: list[bool] = []

    def spy(buf: np.ndarray) -> dict[str, np.ndarray] | None:
        got = scan_results(buf)
        read.append(got is not None)
        return got

    monkeypatch.setattr(_coco_scan, "scan_results", spy)
    gt = _gt()
    dets = [
        {"image_id": 2, "category_id": 3, "bbox": [1.5, 2, 30, 40.25], "score": 0.9},
        {"image_id": 1, "category_id": 1, "bbox": [0, 0, 5, 5], "score": 0.1},
    ]
    fast = tmp_path / "fast.json"
    fast.write_bytes(orjson.dumps(dets))
    slow = tmp_path / "slow.json"  # a nested extra value: orjson's path
    slow.write_bytes(orjson.dumps([{**d, "segmentation": [[1, 2, 3]]} for d in dets]))
    a = load_detection_results(fast, gt)  # type: ignore[arg-type]
    b = load_detection_results(slow, gt)  # type: ignore[arg-type]
    assert read == [True, False]  # the plain file scanned, the nested one left to orjson
    for f in ("boxes", "labels", "scores", "image"):
        assert np.array_equal(getattr(a, f), getattr(b, f)), f
    assert a.source == str(fast)
    bad = tmp_path / "bad.json"
    for entry, msg in (
        ({"image_id": 9, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 1}, "unknown image_id 9"),
        ({"image_id": 1, "category_id": 1, "bbox": [0, 0, 0, 1], "score": 1}, "non-positive size"),
        ({"image_id": 1, "category_id": 1, "bbox": [0, 0, 1, 1], "score": True}, "field 'score'"),
    ):
        bad.write_bytes(orjson.dumps([dets[0], entry]))
        with pytest.raises(InputError, match=msg) as e:
            load_detection_results(bad, gt)  # type: ignore[arg-type]
        assert "entry 1" in str(e.value) and "bad.json" in str(e.value)
        assert "\n" not in str(e.value)


def test_small_files_skip_the_scanner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(buf: np.ndarray) -> None:
        raise AssertionError("a small file compiled / ran the scanner")

    monkeypatch.setattr(_coco_scan, "scan_results", refuse)
    p = tmp_path / "small.json"
    p.write_bytes(b"[" + OK.replace(b'"image_id": 1', b'"image_id": 2') + b"]")
    dt = load_detection_results(p, _gt())  # type: ignore[arg-type]
    assert dt.n_boxes == 1 and int(dt.image[0]) == 1
