"""Statistical audit by simulation (issue 18, item 8): the type I error, power and coverage of
every interval and test Assay reports, with their Monte-Carlo errors, through the public API only.

    nice -n 10 .venv/bin/python benchmarks/statistics.py --quick      # small counts, ~2-4 minutes
    nice -n 10 .venv/bin/python benchmarks/statistics.py              # the full table
    nice -n 10 .venv/bin/python benchmarks/statistics.py --limit 240  # each loop <= 4 min
    nice -n 10 .venv/bin/python benchmarks/statistics.py --only paired --scale 2

Blocks (``--only``, repeatable): ``cls5`` and ``cls1000`` (coverage of every interval of
``ClassificationResults.intervals()`` at 5 classes x 1,000 samples and 1,000 classes x 50,000
samples against the population value of the generative model), ``paired`` (``compare`` of two
equal models at 5 classes x 1,000 samples: type I error of each headline row's p-value and of
its interval excluding 0, the family-wise rate of any "B is better/worse" verdict, the share of
rows where the interval and the p-value disagree; the near-identical FP32 / INT8 case; power
and coverage of the difference on a planted improvement), ``paired1000`` (the same at 1,000
classes x 50,000 samples: equal models, then a planted improvement; compare's CPU seconds),
``det150`` and ``det500`` (coverage of
the mAP / AP50 intervals of ``DetectionResults.intervals()``, type I error of the paired mAP
row of two equal detectors), ``board5`` and ``board10`` (leaderboards of K equal models by
accuracy: the family-wise rate of any "significantly worse", the coverage of the winner's own
interval (``low`` / ``high``) and, where the board gives one, of its simultaneous interval).

Every figure is a rate k / n over seeded simulated datasets, printed with its binomial
Monte-Carlo standard error sqrt(p (1 - p) / n) and its target: type I error within [3 %, 6 %],
family-wise rate at most alpha (5 %), coverage within [93 %, 97 %], interval / p disagreement 0;
a figure outside its target by more than two Monte-Carlo errors is marked MISS, one outside
it by less "miss?". The generator (tests/_simulate.py) is documented
there: softmax of logits where the true class gets a per-class boost (accuracy ~0.77-0.79),
unequal class frequencies with a few rare classes, paired models sharing 70 % of their logit
noise. Same arguments, same table (a loop cut short by ``--limit`` depends on the machine's
speed: the notes say where, and each row its n).

Cost: ~110 s of CPU for ``--quick``; the full counts ~15-20 min of CPU, most of it the 1,000-class
block (~10-30 s per dataset with a full bootstrap) and the population values at 1,000 classes
(~1-3 min). On the shared 2-core machine this was written on, a process got ~30-45 % of a core,
so the full run is given ``--limit``.
"""

from __future__ import annotations

import sys
from pathlib import Path

# this folder's statistics.py (the launcher) would otherwise stand in for the standard library's
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]

import argparse  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable, Iterable  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))

from assay.evaluation.classification import ClassificationResults  # noqa: E402
from assay.evaluation.compare import compare  # noqa: E402
from assay.evaluation.compare.classification import STRATIFIED  # noqa: E402
from assay.evaluation.compare.leaderboard import leaderboard  # noqa: E402
from assay.evaluation.detection import evaluate_detections  # noqa: E402
from tests import _simulate as sim  # noqa: E402

ALPHA = 0.05
TYPE_I = (0.03, 0.06)
COVERAGE = (0.93, 0.97)
FAMILY = (0.0, ALPHA)
ZERO = (0.0, 0.0)
BLOCKS = ("cls5", "cls1000", "paired", "paired1000", "det150", "det500", "board5", "board10")
# simulated datasets per figure: (full run, --quick)
COUNTS = {
    "cls5": (300, 40),
    "cls1000": (24, 3),
    "paired_null": (200, 30),
    "paired_int8": (100, 20),
    "paired_planted": (100, 20),
    "paired1000_null": (40, 4),
    "paired1000_planted": (20, 3),
    "det": (200, 30),
    "det_paired": (150, 20),
    "board5": (100, 15),
    "board10": (60, 10),
}


@dataclass
class Rate:
    """k of n simulated datasets, with the target interval of k / n (None: no target)."""

    k: int = 0
    n: int = 0
    target: tuple[float, float] | None = None
    note: str = ""

    def add(self, hit: bool) -> None:
        self.k += int(hit)
        self.n += 1

    @property
    def value(self) -> float:
        return self.k / self.n if self.n else math.nan

    @property
    def se(self) -> float:
        """Binomial Monte-Carlo standard error of the rate."""
        p = self.value
        return math.sqrt(p * (1 - p) / self.n) if self.n else math.nan

    def miss(self, strict: bool = False) -> bool:
        """Outside the target; ``strict``: by more than two Monte-Carlo errors (the error at the
        nearest end of the target, so a rate of 0 or 1 still has one)."""
        if self.target is None or not self.n:
            return False
        lo, hi = self.target
        if self.target == ZERO:  # a disagreement is a fact, not an estimate
            return self.k > 0
        end = min(max(self.value, lo), hi)
        slack = 2 * math.sqrt(max(end * (1 - end), 1 / self.n) / self.n) if strict else 1e-12
        return not (lo - slack <= self.value <= hi + slack)


@dataclass
class Table:
    """The rows printed: (block, row, measure) -> Rate, in insertion order."""

    rows: dict[tuple[str, str, str], Rate] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def rate(self, block: str, row: str, measure: str, target: tuple[float, float] | None) -> Rate:
        key = (block, row, measure)
        if key not in self.rows:
            self.rows[key] = Rate(target=target)
        return self.rows[key]

    printed: int = 0

    def print(self, *, notes: bool = True) -> None:
        """The rows not printed yet (the header before the first), then the notes."""

        def fmt_target(t: tuple[float, float] | None) -> str:
            if t is None:
                return "-"
            if t == ZERO:
                return "0 %"
            if t[0] == 0:
                return f"<= {t[1] * 100:.0f} %"
            return f"[{t[0] * 100:.0f}, {t[1] * 100:.0f}] %"

        if self.printed == 0:
            head = f"{'block':<9} {'row':<26} {'measure':<24} {'rate':>7} {'± MC SE':>8} {'n':>5}  "
            print(head + f"{'target':<12} mark")
            print("-" * (len(head) + 18))
        for (block, row, measure), r in list(self.rows.items())[self.printed :]:
            mark = ("MISS" if r.miss(strict=True) else "miss?") if r.miss() else ""
            line = (
                f"{block:<9} {row:<26} {measure:<24} {r.value * 100:6.1f}% {r.se * 100:7.1f}% "
                f"{r.n:>5}  {fmt_target(r.target):<12} {mark}"
            )
            print(line + (f"  ({r.note})" if r.note else ""), flush=True)
        self.printed = len(self.rows)
        if notes:
            for n in self.notes:
                print("note:", n)


# seconds one loop of simulations may run (--limit); a loop cut short says so in the notes
LIMIT = [math.inf]
STOPPED: list[str] = []


def _counted(n: int, share: float = 1.0) -> Iterable[int]:
    """range(n), cut short when the loop has run ``share`` x LIMIT seconds (noted in STOPPED)."""
    t0, limit = time.perf_counter(), share * LIMIT[0]
    for i in range(n):
        if time.perf_counter() - t0 > limit:
            STOPPED.append(f"a loop stopped after {i} of {n} datasets ({limit:.0f} s)")
            return
        yield i


def _rng(block: str, i: int) -> np.random.Generator:
    return np.random.default_rng([sum(map(ord, block)) * 1_000 + 7, i])


def _covers(iv: Any, value: float) -> bool | None:
    """Whether the interval {low, high} contains ``value``; None: no interval."""
    if not iv or iv.get("low") is None or iv.get("high") is None:
        return None
    return bool(iv["low"] <= value <= iv["high"])


@dataclass
class Spread:
    """Per metric, over the simulated datasets: the estimates, the interval half-widths, and
    how often the interval excluded its own estimate; read against the population value."""

    est: dict[str, list[float]] = field(default_factory=dict)
    half: dict[str, list[float]] = field(default_factory=dict)
    outside: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, estimate: float, iv: dict[str, float] | None) -> None:
        if iv is None:
            return
        self.est.setdefault(key, []).append(estimate)
        self.half.setdefault(key, []).append((iv["high"] - iv["low"]) / 2)
        if not iv["low"] <= estimate <= iv["high"]:
            self.outside[key] = self.outside.get(key, 0) + 1

    def note(self, table: Table, block: str, truth: dict[str, Any]) -> None:
        """Beside each coverage: the bias of the estimate in its standard deviations over the
        datasets, the mean half-width over 1.96 SD (1 for a right width), and exclusions of
        the estimate."""
        for key, est in self.est.items():
            r = table.rows.get((block, key, "coverage"))
            if r is None or len(est) < 3:
                continue
            sd = float(np.std(est, ddof=1))
            if sd > 0:
                bias = (float(np.mean(est)) - float(truth[key])) / sd
                width = float(np.mean(self.half[key])) / (1.96 * sd)
                r.note = f"bias {bias:+.2f} SD, half-width {width:.2f} x 1.96 SD"
            if self.outside.get(key):
                k = self.outside[key]
                r.note = (r.note + "; " if r.note else "") + f"excludes its estimate {k}/{r.n}"


# ------------------------------------------------------------------------------ classification
def _population_kw(c: int, quick: bool) -> dict[str, int]:
    """Monte-Carlo sizes of :func:`tests._simulate.population_values` (see its docstring)."""
    if c <= 10:
        return {"pool": 400_000 if quick else 4_000_000,
                "per_class": 200_000 if quick else 1_000_000,
                "negatives": 400_000 if quick else 4_000_000}  # fmt: skip
    return {"pool": 100_000 if quick else 1_000_000, "per_class": 2_000 if quick else 20_000,
            "negatives": 400_000 if quick else 4_000_000}  # fmt: skip


def block_classification(table: Table, c: int, n: int, sims: int, quick: bool) -> None:
    """Coverage of every interval of ``intervals()`` (default arguments) against the population
    value; beside it, how often the interval excludes its own point estimate."""
    block = f"cls{c}"
    pop = sim.make_population(c)
    t0 = time.perf_counter()
    kw = _population_kw(c, quick)
    truth = sim.population_values(pop, **kw)
    table.notes.append(
        f"{block}: population values in {time.perf_counter() - t0:.0f} s ({kw}); "
        + ", ".join(
            f"{k} {v:.4f}"
            for k, v in truth.items()
            if k in ("accuracy", "macro_f1", "average_precision_macro", "ece")
        )  # fmt: skip
    )
    spread = Spread()
    t0 = time.perf_counter()
    for i in _counted(sims, 3.0 if c > 10 else 1.0):  # the costly block gets more time
        rng = _rng(block, i)
        y = sim.draw_labels(pop, n, rng)
        res = ClassificationResults(y, sim.scores(pop, y, None, rng))
        summary = res.summary()
        iv = res.intervals()
        for key in sim.POPULATION_KEYS:
            hit = _covers(iv.get(key), truth[key])
            if hit is None:
                continue
            table.rate(block, key, "coverage", COVERAGE).add(hit)
            spread.add(key, float(summary[key]), iv[key])
    spread.note(table, block, truth)
    table.notes.append(
        f"{block}: {sims} datasets of {n} samples x {c} classes, "
        f"{(time.perf_counter() - t0) / max(sims, 1):.1f} s each"
    )


# ------------------------------------------------------------------------------ paired
def _verdict_error(out: dict[str, Any]) -> bool:
    return any(v.startswith(("B is better", "B is worse")) for v in out["verdicts"])


def _paired_rows(
    table: Table,
    block: str,
    out: dict[str, Any],
    *,
    null: bool,
    truth: dict[str, float] | None = None,
) -> None:
    """Per headline row: p < alpha and interval-excludes-0 rates (type I under the null, power
    otherwise), their disagreement, and coverage of the difference when ``truth`` is given."""
    any_sig = False
    for row in out["metrics"]:
        key, p, lo, hi = row["metric"], row["p_value"], row["low"], row["high"]
        if p is None or lo is None or hi is None:
            continue
        rej_p = p < ALPHA
        rej_ci = lo > 0 or hi < 0
        any_sig = any_sig or bool(row.get("significant"))
        measure = "type I (p)" if null else "power (p)"
        table.rate(block, key, measure, TYPE_I if null else None).add(rej_p)
        measure = "type I (CI excl. 0)" if null else "power (CI excl. 0)"
        table.rate(block, key, measure, TYPE_I if null else None).add(rej_ci)
        table.rate(block, key, "CI/p disagree", ZERO).add(rej_p != rej_ci)
        if truth is not None:
            want = truth.get("accuracy" if key == "top1_accuracy" else key)
            if want is not None:
                table.rate(block, key, "coverage of B-A", COVERAGE).add(bool(lo <= want <= hi))
    if null:
        table.rate(block, "any verdict", "family-wise", FAMILY).add(_verdict_error(out))
        table.rate(block, "any headline row", "share significant", None).add(any_sig)


def block_paired(
    table: Table, sims_null: int, sims_int8: int, sims_planted: int, quick: bool
) -> None:
    """Two equal models (shared logit noise, 5 classes, 1,000 samples), the FP32 / INT8 pair (B
    = A's logits + N(0, 0.02)), and B better by +0.3 logit boost; ``compare`` at its defaults.
    The FP32 / INT8 pairs disagree on ~9 samples of 1,000, so their count rows are also given
    as exact conditional sizes (:func:`_accuracy_size`, :func:`_count_sizes`): the rate each
    test has given the samples that disagree, without the binomial noise of k / n."""
    pop, n = sim.make_population(5), 1_000
    t0 = time.perf_counter()
    for i in _counted(sims_null):
        rng = _rng("paired", i)
        y = sim.draw_labels(pop, n, rng)
        shared = sim.shared_noise(pop, n, rng)
        a = ClassificationResults(y, sim.scores(pop, y, shared, rng))
        b = ClassificationResults(y, sim.scores(pop, y, shared, rng))
        _paired_rows(table, "paired", compare(a, b), null=True)
    table.notes.append(
        f"paired: {sims_null} null pairs, {(time.perf_counter() - t0) / max(sims_null, 1):.1f} s each"
    )
    sizes: list[float] = []
    count_sizes: dict[str, list[tuple[float, float]]] = {}
    for i in _counted(sims_int8, 0.5):
        rng = _rng("int8", i)
        y = sim.draw_labels(pop, n, rng)
        base = sim.logit_noise(pop, n, None, rng)
        a = ClassificationResults(y, sim.scores(pop, y, None, rng, base=base, jitter=0.02))
        b = ClassificationResults(y, sim.scores(pop, y, None, rng, base=base, jitter=0.02))
        out = compare(a, b)
        _paired_rows(table, "int8", out, null=True)
        d = out["disagreements"]
        sizes.append(_accuracy_size(d["fixed"] + d["broken"], n))
        pa, pb = a.y_score.argmax(axis=1), b.y_score.argmax(axis=1)
        counted = _count_sizes(y, pa, pb, out, seed=i, flips=100 if quick else 400)
        if counted is not None:
            for key, pair in counted.items():
                count_sizes.setdefault(key, []).append(pair)
    for key, pairs in count_sizes.items():
        z, exact = np.array(pairs).T
        table.notes.append(
            f"int8: {key}'s type I given each dataset's discordant samples (each swapped between "
            f"A and B with probability 1/2, {len(pairs)} datasets, random swaps): "
            f"{z.mean() * 100:.2f} % +- {z.std(ddof=1) / math.sqrt(len(z)) * 100:.2f}; the exact "
            f"sign-flip test's on the same swaps {exact.mean() * 100:.2f} % +- "
            f"{exact.std(ddof=1) / math.sqrt(len(exact)) * 100:.2f} (the least a valid test reaches "
            "with so few discordant samples)"
        )
    if sizes:
        table.notes.append(
            f"int8: accuracy's exact type I given each dataset's discordant pairs (each one B's "
            f"win with probability 1/2 under the null, so no Monte-Carlo error there): "
            f"{np.mean(sizes) * 100:.2f} % +- {np.std(sizes, ddof=1) / math.sqrt(len(sizes)) * 100:.2f} "
            f"(over the {len(sizes)} datasets' discordant counts); the row above is its "
            "binomial estimate"
        )
    delta = 0.3
    kw = _population_kw(5, quick)
    pa, pb = sim.population_values(pop, **kw), sim.population_values(pop, delta=delta, **kw)
    truth = {k: pb[k] - pa[k] for k in pa}
    table.notes.append(
        f"planted: B's true-class boost +{delta}: population B-A accuracy "
        f"{truth['accuracy'] * 100:+.2f} points, macro F1 {truth['macro_f1'] * 100:+.2f}, "
        f"ROC AUC {truth['roc_auc_macro']:+.4f}, log loss {truth['log_loss']:+.4f}"
    )
    for i in _counted(sims_planted, 0.5):
        rng = _rng("planted", i)
        y = sim.draw_labels(pop, n, rng)
        shared = sim.shared_noise(pop, n, rng)
        a = ClassificationResults(y, sim.scores(pop, y, shared, rng))
        b = ClassificationResults(y, sim.scores(pop, y, shared, rng, delta=delta))
        _paired_rows(table, "planted", compare(a, b), null=False, truth=truth)


def _accuracy_size(discordant: int, n: int) -> float:
    """P(accuracy's p < alpha) given ``discordant`` pairs of ``n`` samples when each is B's win
    with probability 1/2 (exchangeable models): the test's exact conditional type I."""
    from scipy.stats import binom

    from assay.metrics.paired import paired_proportion

    if discordant == 0:
        return 0.0
    k = np.arange(discordant + 1)
    hit = [paired_proportion(int(f), int(discordant - f), n)["p"] < ALPHA for f in k]
    return float((binom.pmf(k, discordant, 0.5) * np.array(hit)).sum())


COUNT_ROWS = ("macro_f1", "macro_precision", "macro_recall")


def _macro(y: np.ndarray, pred: np.ndarray, c: int, key: str) -> float:
    """A macro count metric of single-label predictions over ``c`` classes, every class
    present (the simulations' case; zero_division 0)."""
    tp = np.bincount(y[pred == y], minlength=c).astype(np.float64)
    n_true = np.bincount(y, minlength=c).astype(np.float64)
    n_pred = np.bincount(pred, minlength=c).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        if key == "macro_recall":
            v = tp / n_true
        elif key == "macro_precision":
            v = np.where(n_pred > 0, tp / n_pred, 0.0)
        else:
            v = np.where(n_pred + n_true > 0, 2 * tp / (n_pred + n_true), 0.0)
    return float(v.mean())


def _count_sizes(
    y: np.ndarray, pa: np.ndarray, pb: np.ndarray, out: dict[str, Any], seed: int, flips: int
) -> dict[str, tuple[float, float]] | None:
    """Per macro count row, given this dataset's discordant samples (A and B predict
    differently): (the size of compare's z-test, the size of the exact sign-flip test) when
    each discordant sample's two predictions are exchangeable (B's with probability 1/2 either
    way, as in the FP32 / INT8 simulation), over ``flips`` random swaps. The second is the
    least a valid (non-randomized) test can reach with so few discordant samples: what the
    first should be read against. None when compare's own p cannot be reproduced."""
    from assay.metrics.paired import count_influence, count_swap_effect, influence_delta

    c = int(max(y.max(), pa.max(), pb.max())) + 1
    rows = {r["metric"]: r for r in out["metrics"]}
    disc = np.flatnonzero(pa != pb)
    rng = np.random.default_rng(seed)
    swaps = [np.zeros(disc.size, bool)] + [rng.random(disc.size) < 0.5 for _ in range(flips)]
    sizes = {}
    for key in COUNT_ROWS:
        least = (count_swap_effect(y, pa, c)[key] + count_swap_effect(y, pb, c)[key]) / 2
        d_abs, p_z = [], []
        for sw in swaps:
            qa, qb = pa.copy(), pb.copy()
            qa[disc[sw]], qb[disc[sw]] = pb[disc[sw]], pa[disc[sw]]
            d = _macro(y, qb, c, key) - _macro(y, qa, c, key)
            lift = count_influence(y, qb, c)[key] - count_influence(y, qa, c)[key]
            d_abs.append(abs(d))
            strata = y if key in STRATIFIED else None  # compare's procedure for the row
            p_z.append(influence_delta(lift, d, least=least, strata=strata)["p"])
        row = rows.get(key)
        if row is None or row["p_value"] is None or abs(p_z[0] - row["p_value"]) > 1e-9:
            return None  # not compare's procedure: say nothing rather than something else
        reach = np.sort(np.array(d_abs[1:]))
        at_least = reach.size - np.searchsorted(reach, np.array(d_abs[1:]) * (1 - 1e-12), "left")
        sizes[key] = (float(np.mean(np.array(p_z[1:]) < ALPHA)),
                      float(np.mean(at_least / reach.size <= ALPHA)))  # fmt: skip
    return sizes


def block_paired_1000(table: Table, sims_null: int, sims_planted: int, quick: bool) -> None:
    """``compare`` at 1,000 classes x 50,000 samples (defaults): two equal models (shared logit
    noise), then B better by +0.1 logit boost against the population difference; every
    headline row from all 50,000 samples (no capped resampling), with compare's seconds. Cost
    per pair ~10 s of CPU (the scores and two evaluations ~7 s, compare ~3.4 s), plus the
    population values (~20 s with --quick's sizes, minutes at the full ones)."""
    pop, n = sim.make_population(1_000), 50_000
    block = "paired1k"
    spent: list[float] = []
    for i in _counted(sims_null, 3.0):
        rng = _rng(block, i)
        y = sim.draw_labels(pop, n, rng)
        shared = sim.shared_noise(pop, n, rng)
        a = ClassificationResults(y, sim.scores(pop, y, shared, rng))
        b = ClassificationResults(y, sim.scores(pop, y, shared, rng))
        t0 = time.process_time()
        out = compare(a, b)
        spent.append(time.process_time() - t0)
        _paired_rows(table, block, out, null=True)
    delta = 0.1
    kw = _population_kw(1_000, quick)
    t0 = time.perf_counter()
    pa, pb = sim.population_values(pop, **kw), sim.population_values(pop, delta=delta, **kw)
    truth = {k: pb[k] - pa[k] for k in pa}
    table.notes.append(
        f"{block}: planted +{delta} boost: population B-A accuracy "
        f"{truth['accuracy'] * 100:+.2f} points, macro F1 {truth['macro_f1'] * 100:+.2f}, "
        f"ROC AUC {truth['roc_auc_macro']:+.5f}, AP {truth['average_precision_macro']:+.4f} "
        f"({time.perf_counter() - t0:.0f} s, {kw})"
    )
    for i in _counted(sims_planted, 1.5):
        rng = _rng(block + "planted", i)
        y = sim.draw_labels(pop, n, rng)
        shared = sim.shared_noise(pop, n, rng)
        a = ClassificationResults(y, sim.scores(pop, y, shared, rng))
        b = ClassificationResults(y, sim.scores(pop, y, shared, rng, delta=delta))
        t0 = time.process_time()
        out = compare(a, b)
        spent.append(time.process_time() - t0)
        _paired_rows(table, block + "+", out, null=False, truth=truth)
    if spent:
        table.notes.append(
            f"{block}: compare() at 1,000 classes x 50,000 samples: CPU seconds per call "
            f"median {np.median(spent):.1f}, max {max(spent):.1f} ({len(spent)} calls)"
        )


# ------------------------------------------------------------------------------ detection
# the paired rows read: precision, recall and F1 at each detector's F1-optimal confidence
DET_PAIRED = ("AP", "AP50", "precision", "recall", "f1")
_DET_POPULATION: dict[int, dict[str, Any]] = {}


def block_detection(table: Table, images: int, sims: int, sims_paired: int, quick: bool) -> None:
    """Coverage of the AP and AP50 intervals (``intervals()`` defaults) against the population
    value (the mean AP of a few very large samples of the same generator: one 40,000-image draw
    is off by ~0.001-0.002, a quarter of a standard deviation at 500 images), and the paired
    headline rows of two equal detectors (``compare`` defaults: each at its F1-optimal
    confidence)."""
    block = f"det{images}"
    big, draws = (10_000, 2) if quick else (80_000, 4)
    if big not in _DET_POPULATION:
        t0 = time.perf_counter()
        found = []
        for seed in range(4242, 4242 + draws):
            rng = np.random.default_rng(seed)
            truth_images = sim.detection_truth(big, rng)
            found.append(evaluate_detections(
                sim.coco_truth(truth_images), sim.coco_detections(sim.detections(truth_images, rng))
            ).summary())  # fmt: skip
        _DET_POPULATION[big] = {k: float(np.mean([f[k] for f in found])) for k in ("AP", "AP50")}
        se = {k: float(np.std([f[k] for f in found], ddof=1) / np.sqrt(draws))
                  for k in ("AP", "AP50")}  # fmt: skip
        table.notes.append(
            f"detection: population AP {_DET_POPULATION[big]['AP']:.4f} ± {se['AP']:.4f}, "
            f"AP50 {_DET_POPULATION[big]['AP50']:.4f} ± {se['AP50']:.4f} (mean of {draws} "
            f"samples of {big} images, ± its standard error; {time.perf_counter() - t0:.0f} s)"
        )
    pop = _DET_POPULATION[big]
    spread = Spread()
    t0 = time.perf_counter()
    for i in _counted(sims):
        rng = _rng(block, i)
        truth = sim.detection_truth(images, rng)
        res = evaluate_detections(
            sim.coco_truth(truth), sim.coco_detections(sim.detections(truth, rng))
        )
        iv = res.intervals()
        summary = res.summary()
        for key in ("AP", "AP50"):
            hit = _covers(iv.get(key), float(pop[key]))
            if hit is not None:
                table.rate(block, key, "coverage", COVERAGE).add(hit)
                spread.add(key, float(summary[key]), iv[key])
    spread.note(table, block, pop)
    each = (time.perf_counter() - t0) / max(sims, 1)
    t0 = time.perf_counter()
    for i in _counted(sims_paired):
        rng = _rng(block + "pair", i)
        truth = sim.detection_truth(images, rng)
        gt = sim.coco_truth(truth)
        a = evaluate_detections(gt, sim.coco_detections(sim.detections(truth, rng)))
        b = evaluate_detections(gt, sim.coco_detections(sim.detections(truth, rng)))
        out = compare(a, b)
        for row in out["metrics"]:
            if row["metric"] not in DET_PAIRED or row["p_value"] is None:
                continue
            rej_p = row["p_value"] < ALPHA
            rej_ci = row["low"] is not None and (row["low"] > 0 or row["high"] < 0)
            table.rate(block, f"paired {row['metric']}", "type I (p)", TYPE_I).add(rej_p)
            table.rate(block, f"paired {row['metric']}", "type I (CI excl. 0)", TYPE_I).add(rej_ci)
            table.rate(block, f"paired {row['metric']}", "CI/p disagree", ZERO).add(rej_p != rej_ci)
        table.rate(block, "paired any verdict", "family-wise", FAMILY).add(_verdict_error(out))
    table.notes.append(
        f"{block}: {sims} datasets ({each:.2f} s each), {sims_paired} equal pairs "
        f"({(time.perf_counter() - t0) / max(sims_paired, 1):.2f} s each)"
    )


# ------------------------------------------------------------------------------ leaderboard
def block_board(table: Table, k: int, sims: int, quick: bool) -> None:
    """K equal models (5 classes, 1,000 samples, shared logit noise) ranked by accuracy with
    ``leaderboard`` defaults: any "significantly worse" row, and whether the winner's interval
    covers the (common) population accuracy."""
    block = f"board{k}"
    pop, n = sim.make_population(5), 1_000
    truth = sim.population_values(pop, **_population_kw(5, quick))["accuracy"]
    t0 = time.perf_counter()
    for i in _counted(sims):
        rng = _rng(block, i)
        y = sim.draw_labels(pop, n, rng)
        shared = sim.shared_noise(pop, n, rng)
        entries = [
            (j, f"m{j}", ClassificationResults(y, sim.scores(pop, y, shared, rng)), None)
            for j in range(k)
        ]
        board = leaderboard(entries, "accuracy")
        rows = board["rows"]
        table.rate(block, "any row", "family-wise worse", FAMILY).add(
            any(r["significant"] for r in rows)
        )
        best = next(r for r in rows if r["best"])
        hit = _covers(best, truth)
        if hit is not None:
            table.rate(block, "winner (low, high)", "coverage", COVERAGE).add(hit)
        if "simultaneous_low" in best:  # the interval that accounts for the selection
            hit = _covers({"low": best["simultaneous_low"], "high": best["simultaneous_high"]},
                          truth)  # fmt: skip
            if hit is not None:
                table.rate(block, "winner simultaneous", "coverage", COVERAGE).add(hit)
    table.notes.append(
        f"{block}: {sims} boards of {k} equal models, "
        f"{(time.perf_counter() - t0) / max(sims, 1):.1f} s each"
    )


def run(blocks: Iterable[str], quick: bool, scale: float) -> Table:
    """Run the ``blocks`` (names of :data:`BLOCKS`) and return their table."""
    table = Table()
    pick = 1 if quick else 0

    def count(name: str) -> int:
        return max(1, round(COUNTS[name][pick] * scale))

    jobs: dict[str, Callable[[], None]] = {
        "cls5": lambda: block_classification(table, 5, 1_000, count("cls5"), quick),
        "cls1000": lambda: block_classification(table, 1_000, 50_000, count("cls1000"), quick),
        "paired": lambda: block_paired(
            table, count("paired_null"), count("paired_int8"), count("paired_planted"), quick
        ),
        "paired1000": lambda: block_paired_1000(
            table, count("paired1000_null"), count("paired1000_planted"), quick
        ),
        "det150": lambda: block_detection(table, 150, count("det"), count("det_paired"), quick),
        "det500": lambda: block_detection(table, 500, count("det"), count("det_paired"), quick),
        "board5": lambda: block_board(table, 5, count("board5"), quick),
        "board10": lambda: block_board(table, 10, count("board10"), quick),
    }
    for name in blocks:
        t0 = time.perf_counter()
        try:
            jobs[name]()
        except Exception as exc:  # one broken procedure should not hide the other blocks
            table.notes.append(f"{name}: FAILED with {type(exc).__name__}: {exc}")
        table.notes.extend(f"{name}: {x}" for x in STOPPED)
        STOPPED.clear()
        table.print(notes=False)  # each block's rows as it ends
        table.notes.append(f"{name}: block wall time {time.perf_counter() - t0:.0f} s")
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts (a minute or two)")
    parser.add_argument("--only", action="append", choices=BLOCKS, metavar="ROW",
                        help=f"run only this block (repeatable): {', '.join(BLOCKS)}")  # fmt: skip
    parser.add_argument("--limit", type=float, default=math.inf,
                        help="seconds one loop of simulations may run before it stops early (x3 for "
                        "the 1,000-class loop, x0.5 for the FP32/INT8 and planted loops)")  # fmt: skip
    parser.add_argument("--scale", type=float, default=1.0,
                        help="multiply every count of simulated datasets")  # fmt: skip
    args = parser.parse_args(argv)
    if args.scale <= 0:
        parser.error("--scale: must be > 0")
    warnings.simplefilter("ignore")
    LIMIT[0] = args.limit
    t0 = time.perf_counter()
    table = run(args.only or BLOCKS, args.quick, args.scale)
    table.print()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else math.nan
    print(
        f"wall time {time.perf_counter() - t0:.0f} s, {'quick' if args.quick else 'full'} run, "
        f"scale {args.scale}, load average {load:.1f} on {os.cpu_count()} CPUs"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
