"""How fast is the embedding map? Makes a seeded embedding of N samples (D features, 20 clusters
of unequal sizes plus noise, float32, like a penultimate layer's), then times what the map page
and ``assay analyze --embeddings`` run: the PCA map, the UMAP map (PCA to 50 dimensions, then
umap-learn, seeded), and one nearest-neighbour query; against the peers a user would otherwise
run: scikit-learn's ``PCA(2)`` and umap-learn's ``UMAP()`` on the raw embedding with its
defaults (threads on, not seeded), and a brute-force cosine kNN in numpy.

    python benchmarks/embeddings.py                   # 100,000 x 128, PCA and UMAP
    python benchmarks/embeddings.py -n 20000 --dims 512
    python benchmarks/embeddings.py --no-umap         # PCA and kNN only
    python benchmarks/embeddings.py --no-peer         # ours only

The target: 100k samples mapped by UMAP in under 2 minutes on this 2-core machine. UMAP's first
call in a process compiles its numba kernels (tens of seconds); the time printed includes it
(a server's first UMAP pays it too) and, with ``--warm``, a second run without it. The load
average is printed with every figure: on a shared machine, compare ratios, not seconds.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

import numpy as np


def make_embedding(n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    k = 20
    centres = rng.normal(size=(k, d)) * 3.0
    sizes = rng.dirichlet(np.full(k, 2.0))
    labels = rng.choice(k, size=n, p=sizes)
    x = centres[labels] + rng.normal(size=(n, d))
    return np.maximum(x, 0).astype(np.float32)  # ReLU features: non-negative, sparse-ish


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load {one:.2f} {five:.2f} {fifteen:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=100_000)
    parser.add_argument("--dims", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the fast ones (median)")
    parser.add_argument("--no-umap", action="store_true")
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--warm", action="store_true", help="a second UMAP run, compiled")
    args = parser.parse_args()

    from assay.evaluation.embeddings import layout
    from assay.metrics.embedding import cosine_neighbours

    x = make_embedding(args.n, args.dims)
    print(f"{args.n:,} samples x {args.dims} features (float32), {os.cpu_count()} cores, {load()}")

    ours = [timed(lambda: layout(x, "pca"))[0] for _ in range(args.rounds)]
    line = f"PCA map: {np.median(ours):.2f} s (median of {args.rounds})"
    if not args.no_peer:
        from sklearn.decomposition import PCA

        peer = [timed(lambda: PCA(2).fit_transform(x))[0] for _ in range(args.rounds)]
        line += f"; scikit-learn PCA(2) {np.median(peer):.2f} s; ratio {np.median(peer) / np.median(ours):.2f}x"
    print(line, "·", load())

    ours = [timed(lambda: cosine_neighbours(x, 123, 8))[0] for _ in range(args.rounds)]
    line = f"nearest neighbours (k=8, cosine): {np.median(ours) * 1000:.0f} ms"
    if not args.no_peer:

        def brute() -> np.ndarray:
            u = x / np.linalg.norm(x, axis=1, keepdims=True).clip(1e-12)
            d = 1 - u @ u[123]
            d[123] = np.inf
            return np.argsort(d)[:8]

        peer = [timed(brute)[0] for _ in range(args.rounds)]
        line += f"; numpy brute force with a sort {np.median(peer) * 1000:.0f} ms; ratio {np.median(peer) / np.median(ours):.2f}x"
    print(line, "·", load())

    if args.no_umap:
        return
    stages: list[str] = []
    t0 = time.perf_counter()

    def progress(stage: str, done: int, total: int) -> None:
        stages.append(f"{stage} at {time.perf_counter() - t0:.1f} s")

    first, _ = timed(lambda: layout(x, "umap", progress=progress))
    verdict = "under" if first < 120 else "OVER"
    print(
        f"UMAP map (first in this process, numba compiling): {first:.1f} s, {verdict} the 2-minute "
        f"target ({'; '.join(stages)}) · {load()}"
    )
    if args.warm:
        warm, _ = timed(lambda: layout(x, "umap", {"seed": 1}))
        print(f"UMAP map (compiled): {warm:.1f} s · {load()}")
    if not args.no_peer:
        import umap

        peer, _ = timed(lambda: umap.UMAP().fit_transform(x))
        print(
            f"umap-learn UMAP() defaults on the raw embedding: {peer:.1f} s; ratio "
            f"{peer / first:.2f}x · {load()}"
        )


if __name__ == "__main__":
    main()
