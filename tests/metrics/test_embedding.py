"""The embedding kernels against their references: PCA against scikit-learn's (up to the sign of
each axis), on both solvers (exact covariance, and the seeded randomized one above
EXACT_MAX_FEATURES features); cosine neighbours against a brute-force sort; bad input refused."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.decomposition import PCA

from assay.errors import InputError, ParameterError
from assay.metrics.embedding import EXACT_MAX_FEATURES, cosine_neighbours, pca


def _planted(n: int, d: int, seed: int) -> np.ndarray:
    """Three strong directions (variances 100, 25, 9) in isotropic noise, off-centre."""
    rng = np.random.default_rng(seed)
    w = np.linalg.qr(rng.standard_normal((d, 3)))[0].T
    return (rng.standard_normal((n, 3)) * [10, 5, 3]) @ w + rng.standard_normal((n, d)) + 4.0


def _same_up_to_sign(a: np.ndarray, b: np.ndarray, atol: float) -> None:
    for j in range(b.shape[1]):
        sign = np.sign(a[:, j] @ b[:, j]) or 1.0
        np.testing.assert_allclose(a[:, j] * sign, b[:, j], atol=atol)


@pytest.mark.parametrize("d", [5, 64, EXACT_MAX_FEATURES + 88])
def test_pca_matches_scikit_learn_up_to_sign(d: int) -> None:
    x = _planted(1500, d, seed=d)
    ours = pca(x, 2)
    ref = PCA(2).fit_transform(x)
    assert ours.shape == (1500, 2) and ours.dtype == np.float32
    _same_up_to_sign(ours.astype(np.float64), ref, atol=1e-3 * np.abs(ref).max())


def test_pca_with_many_components_and_float32_input() -> None:
    rng = np.random.default_rng(3)
    x = (rng.standard_normal((800, 60)) * np.linspace(8, 1, 60)).astype(np.float32)
    ours = pca(x, 10)
    ref = PCA(10).fit_transform(x.astype(np.float64))
    _same_up_to_sign(ours.astype(np.float64), ref, atol=1e-2)


def test_pca_is_deterministic_and_signed() -> None:
    x = _planted(700, EXACT_MAX_FEATURES + 10, seed=1)
    a, b = pca(x, 2, seed=5), pca(x, 2, seed=5)
    np.testing.assert_array_equal(a, b)


def test_cosine_neighbours_match_brute_force() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3000, 24)).astype(np.float32)
    x[17] = 0.0  # a zero vector: distance 1 from everything
    unit = x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-30)
    for index in (0, 17, 2999):
        idx, dist = cosine_neighbours(x, index, 25)
        d = 1.0 - unit.astype(np.float64) @ unit[index].astype(np.float64)
        d[index] = np.inf
        order = np.argsort(d, kind="stable")[:25]
        assert idx.tolist() == order.tolist() or index == 17  # ties only for the zero vector
        np.testing.assert_allclose(dist, np.clip(d[order], 0, 2), atol=1e-5)
    idx, _ = cosine_neighbours(x[:4], 1, 10)  # k capped at N - 1
    assert sorted(idx.tolist()) == [0, 2, 3]


def test_bad_input_is_refused() -> None:
    x = np.ones((5, 3))
    with pytest.raises(ParameterError, match="k:"):
        cosine_neighbours(x, 0, 10**7)
    with pytest.raises(ParameterError, match="index"):
        cosine_neighbours(x, 5, 2)
    bad = x.copy()
    bad[2, 1] = np.nan
    with pytest.raises(InputError, match="sample 2"):
        pca(bad)
    with pytest.raises(InputError, match="matrix"):
        pca(np.ones(4))
    with pytest.raises(InputError, match="real numbers"):
        pca(np.array([["a", "b"]]))
    with pytest.raises(ParameterError, match="n_components"):
        pca(x, 0)
