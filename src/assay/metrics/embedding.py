"""Kernels on sample embeddings (arrays in, arrays out): a 2-D principal-component projection and
nearest neighbours by cosine distance.

An embedding matrix is (N samples, D features), finite. ``pca`` projects it onto its first
principal axes (what scikit-learn's ``PCA(n_components).fit_transform`` gives, up to the sign of
each axis); ``cosine_neighbours`` ranks the other samples by cosine distance (1 - cosine
similarity, in [0, 2]; a zero vector is at distance 1 from everything).

    >>> x = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.1], [3.0, 0.0]])
    >>> pca(x, 1).shape
    (4, 1)
    >>> cosine_neighbours(x, 1, 2)[0].tolist()
    [3, 2]
"""

from __future__ import annotations

import numpy as np

from assay.errors import InputError, ParameterError

# Up to this many features the covariance matrix is decomposed exactly; above, a seeded
# randomized range finder (Halko et al. 2011) with power iterations finds the leading axes.
EXACT_MAX_FEATURES = 512
_OVERSAMPLE = 10
_POWER_ITERATIONS = 7
_CHUNK = 65_536  # rows per matrix product, so a 100k x 2048 float32 matrix is never copied whole
MAX_NEIGHBOURS = 1000
MAX_COMPONENTS = 256


def check_embedding(x: object, name: str = "embedding") -> np.ndarray:
    """The matrix as a 2-D float32 or float64 array (float32 stays float32; other numbers become
    float64) with at least one row and column and every value finite; ``InputError`` (one line)
    otherwise."""
    arr = np.asarray(x)
    if arr.ndim != 2 or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise InputError(f"{name}: expected a matrix (samples x features), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise InputError(f"{name}: expected real numbers, got {arr.dtype}")
    if arr.dtype != np.float32:
        arr = arr.astype(np.float64, copy=False)
    for start in range(0, arr.shape[0], _CHUNK):
        chunk = arr[start : start + _CHUNK]
        if not np.isfinite(chunk.sum()):  # one pass; the row is looked for only when it fails
            bad = np.flatnonzero(~np.isfinite(chunk).all(1))
            if bad.size:
                raise InputError(
                    f"{name}: sample {start + int(bad[0])} has a NaN or infinite value"
                )
    return arr


def _column_mean(x: np.ndarray) -> np.ndarray:
    total = np.zeros(x.shape[1], np.float64)
    for start in range(0, x.shape[0], _CHUNK):
        total += x[start : start + _CHUNK].sum(axis=0, dtype=np.float64)
    return total / x.shape[0]


def _times(x: np.ndarray, mean: np.ndarray, m: np.ndarray) -> np.ndarray:
    """(x - mean) @ m, chunk by chunk, in x's precision (float32 products, float64 result)."""
    out = np.empty((x.shape[0], m.shape[1]), np.float64)
    shift = mean @ m
    mx = m.astype(x.dtype)
    for start in range(0, x.shape[0], _CHUNK):
        out[start : start + _CHUNK] = x[start : start + _CHUNK] @ mx - shift
    return out


def _transposed_times(x: np.ndarray, mean: np.ndarray, m: np.ndarray) -> np.ndarray:
    """(x - mean).T @ m, chunk by chunk, in float64."""
    out = np.zeros((x.shape[1], m.shape[1]), np.float64)
    for start in range(0, x.shape[0], _CHUNK):
        out += x[start : start + _CHUNK].T @ m[start : start + _CHUNK].astype(x.dtype)
    return out - np.outer(mean, m.sum(axis=0))


def principal_axes(x: np.ndarray, n_components: int = 2, *, seed: int = 0) -> np.ndarray:
    """The first ``n_components`` principal axes of ``x`` (D, n_components), unit columns, each
    signed so that its largest-magnitude loading is positive (deterministic)."""
    arr = check_embedding(x)
    return _principal_axes(arr, _column_mean(arr), n_components, seed)


def _principal_axes(x: np.ndarray, mean: np.ndarray, n_components: int, seed: int) -> np.ndarray:
    n, d = x.shape
    if not 1 <= n_components <= MAX_COMPONENTS:
        raise ParameterError(f"n_components: must be in 1..{MAX_COMPONENTS}, got {n_components}")
    k = min(n_components, d)
    if d <= EXACT_MAX_FEATURES:
        cov = np.zeros((d, d), np.float64)
        centre = mean.astype(x.dtype)
        for start in range(0, n, _CHUNK):  # centred chunks, products in x's precision
            centred = x[start : start + _CHUNK] - centre
            cov += centred.T @ centred
        values, vectors = np.linalg.eigh((cov + cov.T) / 2)
        axes: np.ndarray = vectors[:, np.argsort(values)[::-1][:k]]
    else:
        rng = np.random.default_rng(seed)
        q = rng.standard_normal((d, min(d, k + _OVERSAMPLE)))
        for _ in range(_POWER_ITERATIONS):
            q, _r = np.linalg.qr(_transposed_times(x, mean, _times(x, mean, q)))
        b = _times(x, mean, q)  # (N, l): the data in the found subspace
        small = b.T @ b
        values, vectors = np.linalg.eigh((small + small.T) / 2)
        axes = q @ vectors[:, np.argsort(values)[::-1][:k]]
    if k < n_components:
        axes = np.hstack([axes, np.zeros((d, n_components - k))])
    signs = np.sign(axes[np.argmax(np.abs(axes), axis=0), np.arange(axes.shape[1])])
    signs[signs == 0] = 1.0
    return np.asarray(axes * signs)


def pca(x: object, n_components: int = 2, *, seed: int = 0) -> np.ndarray:
    """The samples projected on their first ``n_components`` principal axes, (N, n_components)
    float32: coordinates in the embedding's own units, centred on its mean. ``seed`` fixes the
    randomized solver used above ``EXACT_MAX_FEATURES`` features."""
    arr = check_embedding(x)
    if not 1 <= n_components <= MAX_COMPONENTS:
        raise ParameterError(f"n_components: must be in 1..{MAX_COMPONENTS}, got {n_components}")
    mean = _column_mean(arr)
    axes = _principal_axes(arr, mean, n_components, seed)
    return _times(arr, mean, axes).astype(np.float32)


def unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (float32); a zero row stays zero."""
    arr = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    return arr / np.where(norms > 0, norms, 1.0)


def cosine_neighbours(x: object, index: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` samples nearest to sample ``index`` by cosine distance, itself left out:
    (indices, distances), nearest first. ``k`` is capped at N - 1."""
    arr = check_embedding(x)
    n = arr.shape[0]
    if isinstance(index, bool) or not 0 <= int(index) < n:
        raise ParameterError(f"index: must be a sample index in 0..{n - 1}, got {index!r}")
    if isinstance(k, bool) or not 1 <= int(k) <= MAX_NEIGHBOURS:
        raise ParameterError(f"k: must be in 1..{MAX_NEIGHBOURS}, got {k!r}")
    k = min(int(k), n - 1)
    if k == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    query = unit_rows(arr[int(index) : int(index) + 1])[0].astype(arr.dtype)
    sims = np.empty(n, np.float64)
    for start in range(0, n, _CHUNK):
        chunk = arr[start : start + _CHUNK]
        norms = np.sqrt(np.einsum("ij,ij->i", chunk, chunk))
        sims[start : start + _CHUNK] = (chunk @ query) / np.where(norms > 0, norms, 1.0)
    dist = np.clip(1.0 - sims, 0.0, 2.0)
    dist[int(index)] = np.inf
    part = np.argpartition(dist, k - 1)[:k] if k < n else np.arange(n)
    order = np.lexsort((part, dist[part]))
    chosen = part[order]
    return chosen.astype(np.int64), dist[chosen]
