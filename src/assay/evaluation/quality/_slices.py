"""Slice discovery: the subsets of samples, described by up to three conditions over metadata
columns and binned properties, where the model does worst.

A *condition* is ``column == category`` (a categorical column, or a numeric one with at most
:data:`MAX_DISTINCT` distinct values) or a quantile bin of a numeric column (``x < q25``,
``q25 <= x < q50``, ..., ``x >= q75`` with 4 bins). A *slice* is a conjunction of conditions on
different columns. Each sample carries a score in [0, 1]: classification 1 when it is right at
the operating point, else 0 (the slice's metric is its accuracy); detection its image's F1 at
(IoU, confidence), ``2 TP / (2 TP + FP + FN)`` and 1 for an image with neither boxes nor
predictions (the slice's metric is the mean per-image F1).

Search: every single condition, then a beam: the ``beam`` slices that are most clearly worse than
the rest at one level are extended by one condition on every other column (counts of all the
children of a slice come from one ``np.bincount`` over its rows). Only slices with at least
``min_size`` samples (and a complement of at least one) are *tried*; each tried slice is tested
against its complement (two-sided: accuracy the pooled two-proportion z-test, equal to a 2 x 2
chi-square without continuity correction, or where the slice or the rest has at most 1,000
samples the exact binomial test of that side against the pooled rate; detection Welch's z-test on
the per-image F1), and the
p-values are Holm-adjusted. The family is every slice tried at a level searched exhaustively (each
parent extended: single conditions always, pairs whenever the beam holds every single condition),
and *every* conjunction of that many conditions at a level the beam cut, since the beam chose what
to try there by looking at the outcomes (``n_family`` >= ``n_tried``). A slice with more than one condition is kept
only if it is worse than each of its parents (the slice without one of its conditions) by a
two-sided test at ``alpha`` against the parent's other samples: a child no worse than its parent
adds nothing. Slices are ranked by how clearly they are worse than the rest (the z statistic).

>>> rng = np.random.default_rng(0)
>>> src = rng.choice(["a", "b"], 4000); light = rng.random(4000)
>>> weak = (src == "b") & (light < 0.25)
>>> right = rng.random(4000) < np.where(weak, 0.6, 0.85)
>>> codes = (src == "b").astype(float)
>>> out = find_slices({"source": codes, "brightness": light}, right,
...                   categories={"source": ["a", "b"]})
>>> out["slices"][0]["description"]
'source == b and brightness < 0.249'
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from assay.errors import InputError, ParameterError
from assay.evaluation.quality._common import fnum, need
from assay.evaluation.quality._importance import wilson_interval

__all__ = ["default_min_size", "find_slices", "image_f1"]

MAX_DISTINCT = 10  # a numeric column with this many distinct values or fewer: equality conditions
MAX_ATOMS = 50  # conditions per column at most (categories beyond the 50 largest are left out)
MAX_COLUMNS = 200
BOOTSTRAP = 400  # replicates of a detection slice's interval
EXACT_BELOW = 1000  # accuracy: an exact binomial test when the slice or the rest is this small
MAX_LOOKED = 50  # candidates looked at per slice returned (the rest of them redundant)
MAX_ALL = 2_000_000  # slices tried at most (the beam is narrowed to stay under it)


def default_min_size(n: int) -> int:
    """The default smallest slice: max(30, 1 % of the ``n`` samples), at most a quarter of them
    (so a set of fewer than 120 samples still has slices).

    >>> default_min_size(100_000), default_min_size(1000), default_min_size(24)
    (1000, 30, 6)
    """
    return max(1, min(max(30, math.ceil(0.01 * n)), n // 4))


def image_f1(tp: Any, fp: Any, fn: Any) -> np.ndarray:
    """Per-image F1, ``2 TP / (2 TP + FP + FN)``; 1.0 for an image with no box and no
    prediction (nothing to find, nothing found wrongly).

    >>> image_f1([1, 0, 0], [1, 0, 2], [0, 0, 1]).tolist()
    [0.6666666666666666, 1.0, 0.0]
    """
    tp_, fp_, fn_ = (np.asarray(a, dtype=np.float64) for a in (tp, fp, fn))
    den = 2 * tp_ + fp_ + fn_
    out: np.ndarray = np.ones(len(tp_), dtype=np.float64)
    np.divide(2 * tp_, den, out=out, where=den > 0)
    return out


@dataclass
class _Column:
    name: str
    codes: np.ndarray  # (N,) int32; ``len(atoms)`` for a missing value
    atoms: list[dict[str, Any]]  # one per code: {column, op, value | low/high, text}


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _encode(
    name: str, values: np.ndarray, categories: Sequence[str] | None, bins: int
) -> _Column | None:
    """The conditions a column offers (None: it offers none, e.g. constant)."""
    finite = np.isfinite(values)
    if not finite.any():
        return None
    v = values[finite]
    distinct = np.unique(v)
    if len(distinct) < 2:
        return None
    codes = np.full(len(values), -1, dtype=np.int64)
    atoms: list[dict[str, Any]] = []
    if categories is not None or len(distinct) <= MAX_DISTINCT:
        counts = np.array([(v == d).sum() for d in distinct])
        keep = distinct[np.argsort(-counts, kind="stable")[:MAX_ATOMS]]
        for k, d in enumerate(np.sort(keep)):
            word: Any = d
            if categories is not None:
                if not (0 <= d < len(categories)) or d != int(d):
                    raise InputError(f"column {name!r}: category code {d!r} has no name")
                word = categories[int(d)]
            else:
                word = int(d) if d == int(d) else float(d)
            codes[finite & (values == d)] = k
            atoms.append({"column": name, "op": "==", "value": word, "text": f"{name} == {word}"})
    else:
        qs = np.quantile(v, np.arange(1, bins) / bins)
        edges = np.unique(qs)
        # x < e0, e0 <= x < e1, ..., x >= e_last; ties never straddle two bins
        code = np.searchsorted(edges, values[finite], side="right")
        codes[finite] = code
        for k in range(len(edges) + 1):
            lo = None if k == 0 else float(edges[k - 1])
            hi = None if k == len(edges) else float(edges[k])
            if lo is None:
                text = f"{name} < {_fmt(hi)}"  # type: ignore[arg-type]
            elif hi is None:
                text = f"{name} >= {_fmt(lo)}"
            else:
                text = f"{_fmt(lo)} <= {name} < {_fmt(hi)}"
            atoms.append({"column": name, "op": "range", "low": lo, "high": hi, "text": text})
    codes[codes < 0] = len(atoms)
    return _Column(name, codes.astype(np.int32), atoms)


def _tests(
    n: np.ndarray, s: np.ndarray, s2: np.ndarray, n_all: int, t: float, t2: float, binary: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(z, two-sided p) of each slice against its complement; z > 0: the slice is worse."""
    m = n_all - n
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_s = s / n
        mean_r = (t - s) / m
        if binary:
            pooled = t / n_all
            se = np.sqrt(pooled * (1 - pooled) * (1 / n + 1 / m))
        else:
            var_s = np.maximum(s2 - s * s / n, 0) / np.maximum(n - 1, 1)
            var_r = np.maximum((t2 - s2) - (t - s) ** 2 / m, 0) / np.maximum(m - 1, 1)
            se = np.sqrt(var_s / n + var_r / m)
        z = np.where(se > 0, (mean_r - mean_s) / se, 0.0)
    z = np.nan_to_num(z, nan=0.0)
    p = np.asarray(_ERFC(np.abs(z) / math.sqrt(2)), dtype=np.float64)
    return z, p


_ERFC = np.frompyfunc(math.erfc, 1, 1)  # 2 * normal survival of |z|, exact far in the tail


def _exact_small(p: np.ndarray, n: np.ndarray, s: np.ndarray, n_all: int, t: float) -> np.ndarray:
    """Accuracy's p-values where the slice or the rest has at most :data:`EXACT_BELOW` samples:
    the exact binomial test of the smaller side's right answers against the pooled rate
    (two-sided: twice the smaller tail), since the z-test's normal tail is far too thin there
    (at 48 samples and 85 % right, a z of -5 is a thousand times likelier than it says).
    Conservative (no finite-population correction)."""
    special = need("scipy.special")
    m = n_all - n
    small = np.minimum(n, m) <= EXACT_BELOW
    if not small.any():
        return p
    p0 = t / n_all
    out = p.copy()
    if p0 <= 0 or p0 >= 1:
        out[small] = 1.0
        return out
    use_slice = n <= m
    size = np.where(use_slice, n, m)[small]
    k = np.floor(np.where(use_slice, s, t - s)[small] + 0.5)
    low = special.bdtr(k, size, p0)
    high = np.where(k >= 1, special.bdtrc(k - 1, size, p0), 1.0)
    out[small] = np.minimum(1.0, 2 * np.minimum(low, high))
    return out


def holm(p: np.ndarray, family: int | None = None) -> np.ndarray:
    """Holm's step-down adjustment of ``p`` (same order) in a family of ``family`` hypotheses
    (default ``len(p)``; the untested ones count as p = 1, after these).

    >>> holm(np.array([0.01, 0.04, 0.03])).tolist()
    [0.03, 0.06, 0.06]
    """
    m = len(p) if family is None else max(family, len(p))
    order = np.argsort(p, kind="stable")
    adj = np.minimum(1.0, (m - np.arange(len(p))) * p[order])
    adj = np.maximum.accumulate(adj)
    out = np.empty(len(p))
    out[order] = adj
    return out


def _check(
    columns: Mapping[str, Any], score: Any, min_size: int | None, max_conditions: int, beam: int
) -> tuple[np.ndarray, int]:
    y = np.asarray(score)
    if y.ndim != 1:
        raise InputError(f"scores: expected one value per sample, got shape {y.shape}")
    if y.dtype == bool:
        y = y.astype(np.float64)
    y = np.asarray(y, dtype=np.float64)
    if len(y) == 0:
        raise InputError("no samples to slice")
    if not np.isfinite(y).all() or (y < 0).any() or (y > 1).any():
        raise InputError("scores: expected finite values within [0, 1]")
    if len(columns) > MAX_COLUMNS:
        raise ParameterError(f"at most {MAX_COLUMNS} columns, got {len(columns)}")
    if isinstance(max_conditions, bool) or max_conditions not in (1, 2, 3):
        raise ParameterError(f"max_conditions: expected 1, 2 or 3, got {max_conditions!r}")
    if isinstance(beam, bool) or not 1 <= beam <= 10_000:
        raise ParameterError(f"beam: expected 1..10000, got {beam!r}")
    n = len(y)
    size = default_min_size(n) if min_size is None else min_size
    if isinstance(size, bool) or not isinstance(size, int | np.integer) or not 1 <= size <= n:
        raise ParameterError(f"min_size: expected 1..{n} (the number of samples), got {size!r}")
    return y, int(size)


def find_slices(
    columns: Mapping[str, Any],
    score: Any,
    *,
    categories: Mapping[str, Sequence[str]] | None = None,
    metric: str = "accuracy",
    min_size: int | None = None,
    max_conditions: int = 3,
    bins: int = 4,
    beam: int = 100,
    alpha: float = 0.05,
    top: int = 20,
    seed: int = 0,
) -> dict[str, Any]:
    """The slices where ``score`` (per sample, in [0, 1]) is lowest.

    ``columns`` maps a name to one float per sample (NaN: missing, in no condition of that
    column); ``categories[name]`` names the codes 0, 1, ... of a categorical column.
    ``metric`` is "accuracy" (0 / 1 scores: Wilson 95 % interval, pooled two-proportion z-test)
    or "f1" (per-image F1 of detection: percentile bootstrap over images, Welch's z-test).
    ``min_size`` defaults to max(30, 1 % of the samples), at most a quarter of them; numeric columns are cut at ``bins``
    quantiles.

    Returns {metric, n_samples, overall, min_size, max_conditions, n_tried, n_family (the
    hypotheses Holm adjusts for, see the module docstring), n_significant,
    alpha, slices: [{conditions: [{column, op ("==" | "range"), value | low/high, text}],
    description, n, metric, low, high, rest, difference (slice - rest), z, p_value, p_holm,
    significant}] (the ``top`` most clearly worse slices that pass the redundancy test, the
    Holm-significant ones first), notes}.
    """
    if metric not in ("accuracy", "f1"):
        raise ParameterError(f"metric: expected accuracy or f1, got {metric!r}")
    if isinstance(bins, bool) or not 2 <= bins <= 20:
        raise ParameterError(f"bins: expected 2..20, got {bins!r}")
    if not 0 < alpha < 1:
        raise ParameterError(f"alpha: expected within (0, 1), got {alpha!r}")
    if isinstance(top, bool) or not 1 <= top <= 1000:
        raise ParameterError(f"top: expected 1..1000, got {top!r}")
    y, size = _check(columns, score, min_size, max_conditions, beam)
    binary = metric == "accuracy"
    if binary and not np.isin(y, (0.0, 1.0)).all():
        raise InputError("accuracy needs 0 / 1 scores (right or wrong)")
    n_all = len(y)
    cats = dict(categories or {})
    unknown = set(cats) - set(columns)
    if unknown:
        raise InputError(f"categories: no column {sorted(unknown)[0]!r}")
    cols: list[_Column] = []
    notes: list[str] = []
    for name, raw in columns.items():
        v = np.asarray(raw, dtype=np.float64).reshape(-1)
        if len(v) != n_all:
            raise InputError(f"column {name!r} has {len(v)} values, expected {n_all}")
        col = _encode(name, v, cats.get(name), bins)
        if col is None:
            notes.append(f"{name}: constant or empty, no condition")
        else:
            cols.append(col)
    y2 = y * y
    t, t2 = float(y.sum()), float(y2.sum())
    out: dict[str, Any] = {
        "metric": metric,
        "n_samples": n_all,
        "overall": t / n_all,
        "min_size": size,
        "max_conditions": max_conditions,
        "alpha": alpha,
        "n_tried": 0,
        "n_family": 0,
        "n_significant": 0,
        "slices": [],
        "notes": notes,
    }
    if not cols:
        return out
    search = _Search(cols, y, y2, size, binary)
    search.run(max_conditions, beam)
    keys, n, s, s2 = search.tried()
    out["n_tried"] = len(keys)
    if not keys:
        return out
    out["n_family"] = search.family(max_conditions)
    z, p = _tests(n, s, s2, n_all, t, t2, binary)
    if binary:
        p = _exact_small(p, n, s, n_all, t)
    adj = holm(p, out["n_family"])
    significant = (adj < alpha) & (z > 0)
    out["n_significant"] = int(significant.sum())
    # most clearly worse first (significant ones before the rest); then prune redundant children
    order = np.lexsort((-z, ~significant))
    picked: list[int] = []
    for looked, i in enumerate(order.tolist()):
        if z[i] <= 0 or len(picked) >= top or looked >= MAX_LOOKED * top:
            break
        if len(keys[i]) > 1 and not search.beats_parents(keys[i], alpha):
            continue
        picked.append(i)
    rng = np.random.default_rng(seed)
    for i in picked:
        mean = float(s[i] / n[i])
        rest = float((t - s[i]) / (n_all - n[i]))
        if binary:
            lo, hi = wilson_interval(int(round(s[i])), int(n[i]))
        else:
            lo, hi = _bootstrap(y[search.rows(keys[i])], rng)
        conditions = [search.atom(a) for a in keys[i]]
        out["slices"].append(
            {
                "conditions": conditions,
                "description": " and ".join(c["text"] for c in conditions),
                "n": int(n[i]),
                "metric": mean,
                "low": fnum(lo),
                "high": fnum(hi),
                "rest": rest,
                "difference": mean - rest,
                "z": fnum(z[i]),
                "p_value": float(p[i]),
                "p_holm": float(adj[i]),
                "significant": bool(significant[i]),
            }
        )
    return out


def _bootstrap(v: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """Percentile 95 % interval of the mean of ``v`` over resampled rows."""
    n = len(v)
    means = np.empty(BOOTSTRAP)
    chunk = max(1, 4_000_000 // max(n, 1))
    for a in range(0, BOOTSTRAP, chunk):
        b = min(BOOTSTRAP, a + chunk)
        means[a:b] = v[rng.integers(0, n, size=(b - a, n))].mean(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return float(lo), float(hi)


Key = tuple[int, ...]  # sorted global atom ids


class _Search:
    """The beam search over conjunctions; atoms get global ids (column offset + code)."""

    def __init__(
        self, cols: list[_Column], y: np.ndarray, y2: np.ndarray, size: int, binary: bool
    ) -> None:
        self.cols, self.y, self.y2, self.size, self.binary = cols, y, y2, size, binary
        widths = [len(c.atoms) + 1 for c in cols]  # + the missing code
        self.offset = np.concatenate([[0], np.cumsum(widths)[:-1]]).astype(np.int64)
        self.n_codes = int(sum(widths))
        self.column_of = np.repeat(np.arange(len(cols)), widths)
        self.missing = set((self.offset + np.array(widths) - 1).tolist())
        self.codes = np.stack(
            [c.codes.astype(np.int64) + o for c, o in zip(cols, self.offset, strict=True)], 1
        )
        self.stats: dict[Key, tuple[int, float, float]] = {}
        self.n_all = len(y)
        self.exhaustive: dict[int, bool] = {1: True}

    def atom(self, a: int) -> dict[str, Any]:
        j = int(self.column_of[a])
        return dict(self.cols[j].atoms[a - int(self.offset[j])])

    def rows(self, key: Key) -> np.ndarray:
        mask = np.ones(self.n_all, bool)
        for a in key:
            mask &= self.codes[:, self.column_of[a]] == a
        return np.flatnonzero(mask)

    def _children(self, key: Key, rows: np.ndarray | None) -> list[Key]:
        """Count every child of ``key`` (one more condition on another column) in one pass."""
        used = {int(self.column_of[a]) for a in key}
        others = [j for j in range(len(self.cols)) if j not in used]
        if not others:
            return []
        sub = self.codes[:, others] if rows is None else self.codes[rows][:, others]
        w = self.y if rows is None else self.y[rows]
        w2 = self.y2 if rows is None else self.y2[rows]
        flat = sub.ravel()
        k = len(others)
        n = np.bincount(flat, minlength=self.n_codes)
        s = np.bincount(flat, weights=np.repeat(w, k), minlength=self.n_codes)
        s2 = s if self.binary else np.bincount(flat, weights=np.repeat(w2, k),
                                               minlength=self.n_codes)  # fmt: skip
        found = []
        for a in np.flatnonzero((n >= self.size) & (n < self.n_all)).tolist():
            if a in self.missing:
                continue
            child = tuple(sorted((*key, a)))
            if child not in self.stats:
                self.stats[child] = (int(n[a]), float(s[a]), float(s2[a]))
                found.append(child)
        return found

    def run(self, max_conditions: int, beam: int) -> None:
        level = self._children((), None)
        t, t2 = float(self.y.sum()), float(self.y2.sum())
        for depth in range(2, max_conditions + 1):
            if not level:
                # nothing to extend: after an exhaustive level no deeper slice has min_size
                self.exhaustive[depth] = self.exhaustive[depth - 1]
                continue
            n = np.array([self.stats[k][0] for k in level], dtype=np.float64)
            s = np.array([self.stats[k][1] for k in level])
            s2 = np.array([self.stats[k][2] for k in level])
            z, _ = _tests(n, s, s2, self.n_all, t, t2, self.binary)
            room = max(1, (MAX_ALL - len(self.stats)) // max(1, self.n_codes))
            best = np.argsort(-z, kind="stable")[: min(beam, room)]
            self.exhaustive[depth] = self.exhaustive[depth - 1] and len(best) == len(level)
            nxt: list[Key] = []
            for i in best.tolist():
                if len(self.stats) >= MAX_ALL:
                    self.exhaustive[depth] = False
                    break
                nxt += self._children(level[i], self.rows(level[i]))
            level = nxt

    def tried(self) -> tuple[list[Key], np.ndarray, np.ndarray, np.ndarray]:
        keys = list(self.stats)
        arr = np.array([self.stats[k] for k in keys], dtype=np.float64).reshape(-1, 3)
        return keys, arr[:, 0], arr[:, 1], arr[:, 2]

    def _stat(self, key: Key) -> tuple[int, float, float]:
        got = self.stats.get(key)
        if got is None:
            r = self.rows(key)
            got = (len(r), float(self.y[r].sum()), float(self.y2[r].sum()))
        return got

    def beats_parents(self, key: Key, alpha: float) -> bool:
        """Whether the slice is worse than each parent's other samples: two-sided, at ``alpha``
        divided by the number of conditions the parent could have been extended by (a parent
        with many children has some that look worse by chance)."""
        n, s, s2 = self._stat(key)
        for drop in range(len(key)):
            parent = key[:drop] + key[drop + 1 :]
            pn, ps, ps2 = self._stat(parent)
            if pn <= n:
                return False  # the condition removes nothing: the parent says it all
            z, p = _tests(
                np.array([float(n)]), np.array([s]), np.array([s2]), pn, ps, ps2, self.binary
            )
            if not (z[0] > 0 and p[0] * self.extensions(parent) < alpha):
                return False
        return True

    def extensions(self, key: Key) -> int:
        """How many conditions could extend ``key`` (those on the columns it does not use)."""
        used = {int(self.column_of[a]) for a in key}
        return sum(len(c.atoms) for j, c in enumerate(self.cols) if j not in used)

    def family(self, max_conditions: int) -> int:
        """The number of hypotheses the p-values are adjusted for: at each level searched
        exhaustively (every parent extended) the slices tried there; at a level the beam cut,
        every conjunction of that many conditions (the beam chose which to try by looking at
        the outcomes, so all of them count)."""
        sizes = [len(c.atoms) for c in self.cols]
        e = [1.0] + [0.0] * max_conditions  # elementary symmetric sums of the atom counts
        for k in sizes:
            for level in range(max_conditions, 0, -1):
                e[level] += e[level - 1] * k
        total = 0
        for level in range(1, max_conditions + 1):
            tried = sum(1 for key in self.stats if len(key) == level)
            total += tried if self.exhaustive.get(level, False) else max(tried, int(e[level]))
        return total
