"""How fast is Assay from the first second? Each figure is the wall time of a fresh process, the
median of ``--rounds`` rounds, with the load average printed:

- first run: ``assay evaluate --gt gt.csv --pred pred.csv`` on a seeded 1,000-row, 7-class
  classification (CSV files), every round with an empty numba cache (``NUMBA_CACHE_DIR`` a new
  empty folder) and an empty workspace: what a user's first command after a fresh install costs.
  The peer: a fresh ``python`` that reads the same CSVs with numpy and computes scikit-learn's set
  (accuracy, classification_report, confusion_matrix, roc_auc ovr macro, average precision macro,
  log loss, top-5 accuracy); the ratio is its time over Assay's (above 1: Assay is faster).
- CLI start: ``assay --version``, ``assay --help`` and ``assay list`` (a workspace of one
  evaluation), against a bare ``python -c pass``.

    python benchmarks/startup.py                       # 5 rounds, the table
    python benchmarks/startup.py --rounds 1 --fail-above 8   # CI / make demo: one quick round

Targets: first run under 3 s, each CLI start under 0.5 s (wall, on this machine, load printed:
on a loaded machine the wall is the CPU times the wait). ``--fail-above S`` exits 1 when the first
run's median CPU time exceeds S seconds: a kernel compiled on the first run costs 15-30 s of CPU
whatever the load, a first run without one under 2 s. Nothing is written outside a temporary
folder, removed at the end.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CLASSES = ["ant", "bee", "cat", "dog", "eel", "fox", "gnu"]

SKLEARN_PEER = """
import sys
import numpy as np
from sklearn.metrics import (accuracy_score, average_precision_score, classification_report,
    confusion_matrix, log_loss, roc_auc_score, top_k_accuracy_score)
gt, pred = sys.argv[1], sys.argv[2]
names = np.loadtxt(gt, delimiter=",", skiprows=1, dtype=str, usecols=1)
header = open(pred).readline().strip().split(",")[1:]
p = np.loadtxt(pred, delimiter=",", skiprows=1, usecols=range(1, len(header) + 1))
y = np.searchsorted(np.array(header), names)
k = p.argmax(axis=1)
accuracy_score(y, k); classification_report(y, k, zero_division=0); confusion_matrix(y, k)
roc_auc_score(y, p, multi_class="ovr"); log_loss(y, p)
average_precision_score(np.eye(len(header))[y], p, average="macro")
top_k_accuracy_score(y, p, k=5)
"""


def make_files(folder: Path, n: int = 1000, seed: int = 3) -> tuple[Path, Path]:
    """A seeded ``n``-row ground truth (id,label) and predictions (id + one score column a class)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, len(CLASSES), n)
    logits = rng.normal(size=(n, len(CLASSES))) + 2.0 * np.eye(len(CLASSES))[y]
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    gt, pred = folder / "gt.csv", folder / "pred.csv"
    gt.write_text("id,label\n" + "".join(f"s{i},{CLASSES[k]}\n" for i, k in enumerate(y)))
    rows = (f"s{i}," + ",".join(f"{v:.8f}" for v in row) + "\n" for i, row in enumerate(p))
    pred.write_text("id," + ",".join(CLASSES) + "\n" + "".join(rows))
    return gt, pred


def assay_command() -> list[str]:
    """The installed ``assay`` console script beside this Python, else ``python -m assay``."""
    script = Path(sys.executable).parent / "assay"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "assay"]


CPU: list[float] = []  # CPU seconds (user + system) of each timed process, in order


def timed(cmd: list[str], env: dict[str, str]) -> float:
    """Wall seconds of ``cmd`` in a fresh process (its output discarded; a failure stops here);
    its CPU seconds are appended to :data:`CPU` (on a loaded machine wall > CPU: waiting)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr.decode()}")
    return seconds


def cpu_median(k: int) -> float:
    """The median CPU seconds of the last ``k`` timed processes."""
    return statistics.median(CPU[-k:])


def load() -> str:
    return f"load {' '.join(f'{v:.2f}' for v in os.getloadavg())} on {os.cpu_count()} CPUs"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="fresh processes per figure")
    parser.add_argument("--skip-sklearn", action="store_true", help="no peer run")
    parser.add_argument("--first-run-only", action="store_true", help="no CLI start figures")
    parser.add_argument(
        "--fail-above", type=float, default=None, metavar="S", help="exit 1 above S s of CPU"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds: at least 1")

    assay = assay_command()
    tmp = Path(tempfile.mkdtemp(prefix="assay-startup-"))
    try:
        gt, pred = make_files(tmp)
        env = dict(os.environ)
        print(
            f"first run: {' '.join(Path(a).name for a in assay)} evaluate, 1,000 rows x 7 classes"
        )
        print(f"  before: {load()}")
        first: list[float] = []
        for r in range(args.rounds):
            cache, home = tmp / f"numba-{r}", tmp / f"home-{r}"
            run_env = env | {"NUMBA_CACHE_DIR": str(cache), "ASSAY_HOME": str(home)}
            first.append(timed([*assay, "evaluate", "--gt", str(gt), "--pred", str(pred)], run_env))
            compiled = sorted(p.name for p in cache.rglob("*.nbi")) if cache.exists() else []
            print(
                f"  round {r + 1}: {first[-1]:.2f} s (CPU {CPU[-1]:.2f} s), "
                f"kernels compiled: {len(compiled)}"
            )
        med, cpu = statistics.median(first), cpu_median(args.rounds)
        verdict = "met" if med < 3 else "NOT met"
        print(
            f"  assay first run   median {med:6.2f} s, CPU {cpu:.2f} s  (target < 3 s: {verdict})"
        )
        if not args.skip_sklearn:
            peer = [
                timed([sys.executable, "-c", SKLEARN_PEER, str(gt), str(pred)], env)
                for _ in range(args.rounds)
            ]
            pm = statistics.median(peer)
            print(
                f"  scikit-learn      median {pm:6.2f} s, CPU {cpu_median(args.rounds):.2f} s  "
                "(fresh python, same metrics)"
            )
            print(f"  ratio scikit-learn / assay: {pm / med:.2f}x")
        print(f"  after: {load()}")

        if not args.first_run_only:
            home = tmp / "home-0"
            run_env = env | {"NUMBA_CACHE_DIR": str(tmp / "numba-0"), "ASSAY_HOME": str(home)}
            print(f"CLI start (workspace of one evaluation), {load()}")
            bare = statistics.median(
                timed([sys.executable, "-c", "pass"], env) for _ in range(args.rounds)
            )
            for words in (["--version"], ["--help"], ["list"]):
                t = statistics.median(timed([*assay, *words], run_env) for _ in range(args.rounds))
                verdict = "met" if t < 0.5 else "NOT met"
                print(
                    f"  assay {' '.join(words):10s} median {t:5.2f} s, CPU "
                    f"{cpu_median(args.rounds):.2f} s  (target < 0.5 s: {verdict})"
                )
            print(f"  python -c pass    median {bare:5.2f} s  (the floor)")
            print(f"  after: {load()}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if args.fail_above is not None and cpu > args.fail_above:
        print(f"first run: {cpu:.2f} s of CPU, above {args.fail_above} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
