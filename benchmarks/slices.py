"""How fast is the slice finder? Times :func:`assay.evaluation.quality.find_slices` on N rows x 20
columns (14 numeric, cut into quartiles; 6 categorical with 2..8 values) with a planted weak slice
(``source == b and brightness < q25``, accuracy 20 points lower), up to 3 conditions, and the
peer, sliceline's ``Slicefinder`` (SliceLine, Sagadeeva & Boehm, SIGMOD 2021; ``pip install
sliceline``) on the same binned columns (its errors are 1 - right; k 20, max_l 3, min_sup the same
minimum size). Prints the median of the rounds, the ratio, and whether each put the planted
slice first, with the load average.

    python benchmarks/slices.py                   # 100,000 rows, 3 rounds
    python benchmarks/slices.py -n 20000 --rounds 5

The target: 100,000 rows x 20 columns in a few seconds on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from assay.evaluation.quality import default_min_size, find_slices


def make(n: int, seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, list[str]], np.ndarray]:
    rng = np.random.default_rng(seed)
    cols: dict[str, np.ndarray] = {"brightness": rng.random(n)}
    for k in range(13):
        cols[f"num{k}"] = rng.normal(size=n) * (k + 1)
    cats: dict[str, list[str]] = {"source": ["a", "b", "c"]}
    cols["source"] = rng.integers(0, 3, n).astype(float)
    for k in range(5):
        names = [f"v{j}" for j in range(2 + k)]
        cats[f"cat{k}"] = names
        cols[f"cat{k}"] = rng.integers(0, len(names), n).astype(float)
    weak = (cols["source"] == 1) & (cols["brightness"] < np.quantile(cols["brightness"], 0.25))
    right = rng.random(n) < np.where(weak, 0.65, 0.85)
    return cols, cats, right


def ours(
    cols: dict[str, np.ndarray], cats: dict[str, list[str]], right: np.ndarray, levels: int
) -> str:
    out = find_slices(cols, right, categories=cats, max_conditions=levels)
    return out["slices"][0]["description"]


def binned(cols: dict[str, np.ndarray], cats: dict[str, list[str]]) -> np.ndarray:
    """The same conditions as ours: quartile bins of numeric columns, categories as they are."""
    out = []
    for name, v in cols.items():
        if name in cats:
            out.append(v.astype(int))
        else:
            edges = np.unique(np.quantile(v, [0.25, 0.5, 0.75]))
            out.append(np.searchsorted(edges, v, side="right"))
    return np.stack(out, 1) + 1  # sliceline wants values from 1


def peer(x: np.ndarray, right: np.ndarray, min_sup: int, levels: int) -> str | None:
    try:
        from sliceline.slicefinder import Slicefinder
    except ImportError:
        return None
    sf = Slicefinder(alpha=0.95, k=20, max_l=levels, min_sup=min_sup, verbose=False)
    sf.fit(x, (~right).astype(float))
    return str(sf.top_slices_[0].tolist()) if len(sf.top_slices_) else "none"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--levels", type=int, default=3, help="conditions per slice at most")
    ap.add_argument(
        "--peer-rows",
        type=int,
        default=10_000,
        help="run the peer (and ours again, for the ratio) on the first rows only: sliceline "
        "multiplies sparse matrices of rows x candidate slices (at 100,000 rows and 3 levels "
        "it asked for 30 GiB here)",
    )
    args = ap.parse_args()
    cols, cats, right = make(args.n)
    names = list(cols)
    x = binned(cols, cats)
    m = min(args.peer_rows, args.n)
    small = {k: v[:m] for k, v in cols.items()}
    times, small_times, peer_times = [], [], []
    found = peer_found = None
    for _ in range(args.rounds):
        t = time.perf_counter()
        found = ours(cols, cats, right, args.levels)
        times.append(time.perf_counter() - t)
        t = time.perf_counter()
        ours(small, cats, right[:m], args.levels)
        small_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        peer_found = peer(x[:m], right[:m], default_min_size(m), args.levels)
        if peer_found is None:
            break
        peer_times.append(time.perf_counter() - t)
    load = os.getloadavg()
    med = statistics.median(times)
    print(f"{args.n:,} rows x {len(names)} columns, up to {args.levels} conditions; load "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {os.cpu_count()} cores")  # fmt: skip
    print(f"  assay find_slices   median {med:.2f} s over {len(times)} rounds "
          f"({', '.join(f'{t:.2f}' for t in times)}); first: {found}")  # fmt: skip
    if peer_times:
        pm, sm = statistics.median(peer_times), statistics.median(small_times)
        # sliceline's slice: a bin / category code + 1 per column, None where the column is free
        print(f"  on the first {m:,} rows: assay median {sm:.2f} s, sliceline median {pm:.2f} s "
              f"(first, columns {names[0]}..{names[-1]}: {peer_found})")  # fmt: skip
        print(f"  ratio sliceline / assay on {m:,} rows: {pm / sm:.2f}")
    else:
        print("  sliceline not installed (pip install sliceline): no ratio")


if __name__ == "__main__":
    main()
