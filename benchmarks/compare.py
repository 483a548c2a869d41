"""Comparing two classification evaluations: assay.evaluation.compare.compare_classification.

    .venv/bin/python benchmarks/compare.py                   # 1M x 100, 200 paired resamples
    .venv/bin/python benchmarks/compare.py --n 100000 --classes 10 --resamples 1000
    .venv/bin/python benchmarks/compare.py --stored --rounds 5   # two stored evaluations

Two models' scores for the same labeled samples (B a little better than A), each already an
evaluation (ClassificationResults, as the workspace loads them); times

- the first comparison (intervals and p-values included; the threshold-free AUC / AP replicates
  are then kept on the evaluations),
- a comparison at a new threshold, full (the bootstrap of the counts) and quick
  (``intervals=False``: what the compare page shows at once when a slider moves),

and prints them with the machine's load.

``--stored``: the two evaluations are stored in a fresh workspace, and each of ``--rounds``
rounds compares them in two fresh processes as ``assay compare A B`` and the compare endpoint
do (:func:`assay.service.comparisons.compare_stored`): first a first ever comparison (what the
first comparison stores beside each evaluation, its per-sample ranking influences, removed
before), then one in a fresh process with them stored: the first full answer (loading both
evaluations included; wall and CPU seconds, and loading both again on its own), then five new
thresholds with intervals and five quick. In the same
process, the per-sample ranking influence (DeLong's AUC, AP: the costly part of the first
answer) is timed both ways on A's scores: the per-class sort-and-search of
:func:`assay.metrics.paired.ranking_influence` (the peer) and the two sweeps of
:mod:`assay.metrics.ranking_influence`, with their ratio. Medians over the rounds, the load
printed with each; targets: first answer under 5 s, a quick answer under 50 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from assay.evaluation.classification import ClassificationResults  # noqa: E402
from assay.evaluation.compare import compare_classification  # noqa: E402
from assay.evaluation.results import OperatingPoint  # noqa: E402


def scores(y: np.ndarray, n_classes: int, strength: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=(len(y), n_classes)).astype(np.float32)
    logits[np.arange(len(y)), y] += strength
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    return logits


def load_text() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def stored_round(home: str, a_id: int, b_id: int, first_only: bool = False) -> dict[str, float]:
    """One fresh process's figures (seconds): the first full answer from the workspace (wall and
    CPU), loading both evaluations again, and unless ``first_only`` the median of five new
    thresholds with intervals and quick, and the influence both ways."""
    from assay.service.comparisons import compare_stored
    from assay.store.workspace import Workspace

    ws = Workspace(home)
    out: dict[str, float] = {}
    c0, t0 = time.process_time(), time.perf_counter()
    compare_stored(ws, a_id, b_id)
    out["first"] = time.perf_counter() - t0
    out["first_cpu"] = time.process_time() - c0  # every thread of the process
    # loading both evaluations again (a new workspace object: nothing cached but the OS's
    # pages and the compiled kernels): the part of the first answer that is loading
    again = Workspace(home)
    c0, t0 = time.process_time(), time.perf_counter()
    again.load_results(a_id), again.load_results(b_id)
    out["load"] = time.perf_counter() - t0
    out["load_cpu"] = time.process_time() - c0
    del again
    if first_only:
        return out
    for key, quick in (("full", False), ("quick", True)):
        times = []
        for t in (0.3, 0.4, 0.6, 0.7, 0.8):
            at = {"threshold": t}
            t0 = time.perf_counter()
            compare_stored(ws, a_id, b_id, at_a=at, at_b=at, intervals=not quick)
            times.append(time.perf_counter() - t0)
        out[key] = statistics.median(times)
    r = ws.load_results(a_id)
    try:
        from assay.metrics.ranking_influence import single_label_ranking_influence
    except ImportError:  # an Assay without it
        return out
    from assay.metrics.paired import ranking_influence

    t0 = time.perf_counter()
    peer = ranking_influence(r.y_true, r.y_score)
    out["influence_peer"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = single_label_ranking_influence(r.y_true, r.y_score)
    out["influence"] = time.perf_counter() - t0
    assert all(np.array_equal(peer[k], ours[k]) for k in peer)
    return out


def stored(args: argparse.Namespace, y: np.ndarray, names: list[str], ids: np.ndarray) -> None:
    import pyarrow as pa

    from assay.store.workspace import Workspace

    def make(home: str, y: np.ndarray, ids: np.ndarray) -> list[int]:
        ws = Workspace(home)
        dv = ws.add_dataset_version(
            "bench", task="classification", samples=pa.table({"id": ids.tolist()})
        )
        made = []
        for name, strength, seed in (("A", 2.0, 1), ("B", 2.1, 2)):
            r = ClassificationResults(
                y, scores(y, args.classes, strength, seed), classes=names, sample_ids=ids
            )
            made.append(ws.save_evaluation(r, name=name, dataset_version_id=dv.id).id)
            del r
        return made

    def forget(home: str, made: list[int]) -> None:
        """Remove what a first comparison stores beside each evaluation (its per-sample
        ranking influences), so that the next is a first ever."""
        import shutil

        for eid in made:
            shutil.rmtree(Path(home) / "evaluations" / str(eid) / "ranking-influence", True)

    def fresh(home: str, made: list[int], first_only: bool = False) -> dict[str, float]:
        code = (
            f"import json, sys; sys.path[:0] = {[str(ROOT / 'src'), str(ROOT / 'benchmarks')]!r}; "
            f"from compare import stored_round; "
            f"print(json.dumps(stored_round({home!r}, {made[0]}, {made[1]}, {first_only})))"
        )
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if run.returncode:
            raise SystemExit(run.stderr)
        return json.loads(run.stdout.strip().splitlines()[-1])

    with tempfile.TemporaryDirectory(prefix="assay-bench-") as home:
        # a small pair first, in a process of its own: the kernels compiled and cached
        fresh(f"{home}/warm", make(f"{home}/warm", y[:4000], ids[:4000]))
        made = make(home, y, ids)
        print(f"stored evaluations {made[0]} and {made[1]} in a fresh workspace", flush=True)
        rounds: list[dict[str, float]] = []
        ever: list[dict[str, float]] = []
        for i in range(args.rounds):
            # a first ever comparison of the pair (nothing stored beside the evaluations), then
            # a first one in a fresh process once the first has stored the influences
            forget(home, made)
            before = load_text()
            got = fresh(home, made, first_only=True)
            ever.append(got)
            print(
                f"round {i + 1}, first ever: first full answer {got['first']:.2f} s "
                f"({got['first_cpu']:.2f} CPU-s; loading both {got['load']:.2f} s, "
                f"{got['load_cpu']:.2f} CPU-s); load before {before}, after {load_text()}",
                flush=True,
            )
            before = load_text()
            got = fresh(home, made)
            rounds.append(got)
            print(
                f"round {i + 1}, influences stored: first full answer {got['first']:.2f} s "
                f"({got['first_cpu']:.2f} CPU-s; loading both {got['load']:.2f} s, "
                f"{got['load_cpu']:.2f} CPU-s), new threshold with "
                f"intervals {got['full'] * 1000:.0f} ms, quick {got['quick'] * 1000:.0f} ms"
                + (
                    f"; influence {got['influence']:.2f} s vs {got['influence_peer']:.2f} s "
                    f"(peer / assay {got['influence_peer'] / got['influence']:.2f}x)"
                    if "influence" in got
                    else ""
                )
                + f"; load before {before}, after {load_text()}",
                flush=True,
            )

    def med(key: str, of: list[dict[str, float]] = rounds) -> float:
        return statistics.median(r[key] for r in of)

    print(
        f"\nmedian of {len(ever)} fresh processes, first ever comparison (influences computed "
        f"and stored): first full answer {med('first', ever):.2f} s ({med('first_cpu', ever):.2f} "
        f"CPU-s; loading both {med('load', ever):.2f} s, {med('load_cpu', ever):.2f} CPU-s)"
    )
    print(
        f"median of {len(rounds)} fresh processes, influences stored: first full answer "
        f"{med('first'):.2f} s ({med('first_cpu'):.2f} CPU-s; loading both {med('load'):.2f} s, "
        f"{med('load_cpu'):.2f} CPU-s) (target 5 s: {'met' if med('first') < 5 else 'NOT met'}), "
        f"new threshold with intervals {med('full') * 1000:.0f} ms, quick "
        f"{med('quick') * 1000:.0f} ms (target 50 ms: {'met' if med('quick') < 0.05 else 'NOT met'})"
    )
    if all("influence" in r for r in rounds):
        ratios = [r["influence_peer"] / r["influence"] for r in rounds]
        print(
            f"ranking influence: peer (per-class sort and search) / assay (two sweeps): median "
            f"{statistics.median(ratios):.2f}x ({min(ratios):.2f} - {max(ratios):.2f}x)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--classes", type=int, default=100)
    ap.add_argument("--resamples", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--stored", action="store_true", help="stored evaluations, fresh processes")
    ap.add_argument("--rounds", type=int, default=5, help="fresh processes with --stored")
    args = ap.parse_args()
    y = np.random.default_rng(0).integers(0, args.classes, args.n)
    names = [f"c{i}" for i in range(args.classes)]
    ids = np.array([f"s{i}" for i in range(args.n)])
    print("command:", " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]))
    if args.stored:
        stored(args, y, names, ids)
        return
    t0 = time.perf_counter()
    a = ClassificationResults(y, scores(y, args.classes, 2.0, 1), classes=names, sample_ids=ids)
    b = ClassificationResults(y, scores(y, args.classes, 2.1, 2), classes=names, sample_ids=ids)
    print(
        f"{args.n} x {args.classes}, {args.resamples} resamples; two evaluations built in "
        f"{time.perf_counter() - t0:.1f} s; load {' '.join(f'{v:.2f}' for v in os.getloadavg())}"
    )
    times = []
    for _ in range(args.repeats):
        # fresh evaluations each time: nothing kept from an earlier comparison
        a = ClassificationResults(a.y_true, a.y_score, classes=names, sample_ids=ids)
        b = ClassificationResults(b.y_true, b.y_score, classes=names, sample_ids=ids)
        t0 = time.perf_counter()
        out = compare_classification(a, b, n=args.resamples)
        times.append(time.perf_counter() - t0)
    print(f"first compare: best {min(times):.2f} s, median {sorted(times)[len(times) // 2]:.2f} s")
    print(out["verdicts"][0])
    for quick in (False, True):
        times = []
        for t in (0.3, 0.4, 0.6, 0.7, 0.8):
            at = OperatingPoint(threshold=t)
            t0 = time.perf_counter()
            compare_classification(a, b, at_a=at, at_b=at, n=args.resamples, intervals=not quick)
            times.append(time.perf_counter() - t0)
        what = "quick (no bootstrap)" if quick else "with intervals"
        print(
            f"at a new threshold, {what}: median {sorted(times)[2] * 1000:.0f} ms "
            f"(best {min(times) * 1000:.0f} ms) over 5 thresholds"
        )
    print(f"load now {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
