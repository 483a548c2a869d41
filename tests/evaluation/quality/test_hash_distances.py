"""``hash_distances``: the pairs within one set (each block of rows compared only with the rows
after it) and between two sets equal a brute-force reference over the whole square, across
block boundaries, in the same order."""

from __future__ import annotations

import numpy as np
import pytest

from assay.evaluation.quality._images import hash_distances


def reference(a: np.ndarray, b: np.ndarray | None, max_distance: int) -> list[tuple[int, int, int]]:
    other = a if b is None else b
    d = np.array([[bin(int(x) ^ int(y)).count("1") for y in other] for x in a], dtype=np.int64)
    d = d.reshape(len(a), len(other))
    ii, jj = np.nonzero(d <= max_distance)
    return [(i, j, int(d[i, j])) for i, j in zip(ii.tolist(), jj.tolist(), strict=True)
            if b is not None or j > i]  # fmt: skip


def hashes(rng: np.random.Generator, n: int) -> np.ndarray:
    """Random 64-bit hashes with planted exact copies and copies a few bits away."""
    a = rng.integers(0, 2**63, n, dtype=np.uint64) | (rng.integers(0, 2, n, dtype=np.uint64) << 63)
    for i in range(3, n, 37):
        flips = rng.choice(64, size=int(rng.integers(0, 5)), replace=False)
        a[i] = a[i - 3] ^ np.uint64(sum(1 << int(f) for f in flips))
    return a


@pytest.mark.parametrize("n", [0, 1, 2, 150])
@pytest.mark.parametrize("max_distance", [0, 3, 64])
def test_within_and_between_equal_the_whole_square(n: int, max_distance: int) -> None:
    rng = np.random.default_rng(n + max_distance)
    a, b = hashes(rng, n), hashes(rng, 40)
    b[:5] = a[:5] if n >= 5 else b[:5]
    assert hash_distances(a, max_distance=max_distance) == reference(a, None, max_distance)
    assert hash_distances(a, b, max_distance=max_distance) == reference(a, b, max_distance)


def test_across_blocks() -> None:
    # 3,000 hashes: blocks of 1,398 rows, so pairs straddle block boundaries
    rng = np.random.default_rng(5)
    a = hashes(rng, 3000)
    a[1500] = a[1390]  # a pair across the first boundary
    got = hash_distances(a, max_distance=4)
    x = a[:, None] ^ a[None, :]
    d = np.bitwise_count(x).astype(np.int64) if hasattr(np, "bitwise_count") else None
    if d is None:  # pragma: no cover - numpy < 2
        pytest.skip("numpy < 2: no bitwise_count for the reference")
    ii, jj = np.nonzero(np.triu(d <= 4, k=1))
    assert got == [(i, j, int(d[i, j])) for i, j in zip(ii.tolist(), jj.tolist(), strict=True)]
    assert (1390, 1500, 0) in got
