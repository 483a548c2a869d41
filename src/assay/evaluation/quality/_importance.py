"""Which properties go with the model's errors, and how performance changes along a property.

:func:`importance` ranks properties by the permutation importance of a gradient-boosted tree
model predicting per-sample correctness (scored by ROC AUC on held-out folds, so a property
the model cannot use scores about 0), next to each property's Spearman correlation with
correctness. :func:`by_property` cuts a property into quantile bins and gives accuracy (and,
with per-sample TP / FP / FN counts, TPR and precision) per bin with Wilson 95 % intervals.
:func:`determines_label` tells a column that is a finer version of the label itself (it would
top any ranking and explain nothing).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from assay.errors import InputError
from assay.evaluation.quality._common import fnum, need

__all__ = ["by_property", "determines_label", "importance", "wilson_interval"]

Z95 = 1.959963984540054
MIN_SAMPLES = 20  # fewer: no model-based importance
MIN_EACH = 5  # correct and incorrect samples needed for a model
FOLDS = 3
REPEATS = 5  # shuffles of a property per held-out fold
MODEL_ROWS = 5000  # more samples: the model-based part runs on a stratified sample of this size
KEEP_EACH = 200  # ... which keeps at least this many correct and incorrect samples (all if fewer)
Progress = Callable[[int, int], None]


def _as_correct(correct: Any) -> np.ndarray:
    c = np.asarray(correct)
    if c.ndim != 1:
        raise InputError(f"correct: expected one value per sample, got shape {c.shape}")
    if c.dtype != bool:
        if not np.isin(c, (0, 1)).all():
            raise InputError("correct: expected booleans (or 0 / 1)")
        c = c.astype(bool)
    return c


def _columns(properties: Mapping[str, Any], n: int) -> tuple[list[str], np.ndarray]:
    names = list(properties)
    x = np.empty((n, len(names)), dtype=np.float64)
    for k, name in enumerate(names):
        col = np.asarray(properties[name], dtype=np.float64).reshape(-1)
        if len(col) != n:
            raise InputError(f"property {name!r} has {len(col)} values, expected {n}")
        x[:, k] = np.where(np.isfinite(col), col, np.nan)
    return names, x


def importance(
    properties: Mapping[str, Any],
    correct: Any,
    *,
    categorical: Sequence[str] = (),
    seed: int = 0,
    n_repeats: int = REPEATS,
    max_rows: int = MODEL_ROWS,
    progress: Progress | None = None,
) -> list[dict[str, Any]]:
    """For each property: ``spearman`` (rho with correctness, 1 = correct; NaN rows dropped; None
    for a constant or categorical property) and ``spearman_p``; ``importance`` (the mean drop
    in held-out ROC AUC when the property is shuffled: HistGradientBoosting, 3 stratified
    folds each held out once, ``n_repeats`` shuffles each) and ``importance_std`` (over all
    shuffles); ``n`` (samples where the property is defined). Spearman uses every sample; the
    model-based part a stratified sample of ``max_rows`` (keeping at least 200 correct and 200
    wrong ones, all when fewer). Ranked by importance, then by |rho|; None where not defined
    (constant property; fewer than 20 samples or fewer than 5 correct or 5 wrong ones: no
    model). ``categorical`` names properties holding category codes (non-negative integers,
    NaN for missing). ``progress(done, total)`` follows the model-based steps (a fit, then a
    property's shuffles, per fold).

    >>> rng = np.random.default_rng(0)
    >>> dark = rng.random(400); noise = rng.random(400)
    >>> rows = importance({"brightness": dark, "noise": noise}, dark > 0.2)
    >>> rows[0]["property"]
    'brightness'
    """
    stats = need("scipy.stats")
    if isinstance(n_repeats, bool) or not 1 <= int(n_repeats) <= 100:
        raise InputError(f"n_repeats must be within 1..100, got {n_repeats!r}")
    if isinstance(max_rows, bool) or int(max_rows) < MIN_SAMPLES:
        raise InputError(f"max_rows must be at least {MIN_SAMPLES}, got {max_rows!r}")
    c = _as_correct(correct)
    n = len(c)
    names, x = _columns(properties, n)
    unknown = set(categorical) - set(names)
    if unknown:
        raise InputError(f"categorical: no property {sorted(unknown)[0]!r}")
    cat = np.array([name in set(categorical) for name in names], dtype=bool)
    rows: list[dict[str, Any]] = []
    usable = np.zeros(len(names), bool)
    for k, name in enumerate(names):
        ok = np.isfinite(x[:, k])
        v, y = x[ok, k], c[ok]
        constant = len(v) == 0 or np.nanmin(v) == np.nanmax(v)
        usable[k] = not constant
        rho = p = None
        if not constant and not cat[k] and len(v) >= 3 and y.min() != y.max():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = stats.spearmanr(v, y)
            rho, p = fnum(res.statistic), fnum(res.pvalue)
        rows.append(
            {
                "property": name,
                "spearman": rho,
                "spearman_p": p,
                "importance": None,
                "importance_std": None,
                "n": int(ok.sum()),
            }  # fmt: skip
        )
    n_wrong = int((~c).sum())
    if n >= MIN_SAMPLES and min(n_wrong, n - n_wrong) >= MIN_EACH and usable.any():
        rng = np.random.default_rng(seed)
        keep = _subsample(c, int(max_rows), rng)
        mean, std = _permutation(
            x[np.ix_(keep, np.flatnonzero(usable))], c[keep], cat[usable], seed, int(n_repeats),
            progress,
        )  # fmt: skip
        for k, m, s in zip(np.flatnonzero(usable).tolist(), mean, std, strict=True):
            rows[k]["importance"], rows[k]["importance_std"] = fnum(m), fnum(s)
    elif progress is not None:
        progress(0, 0)
    rows.sort(
        key=lambda r: (
            r["importance"] is None,
            -(r["importance"] or 0.0),
            -abs(r["spearman"] or 0.0),
            r["property"],
        )
    )
    return rows


def _subsample(c: np.ndarray, cap: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices of a stratified sample of about ``cap`` rows (all rows when there are no
    more), with at least :data:`KEEP_EACH` of each outcome (all of it when fewer)."""
    n = len(c)
    if n <= cap:
        return np.arange(n)
    keep = []
    for outcome in (False, True):
        idx = np.flatnonzero(c == outcome)
        k = min(len(idx), max(KEEP_EACH, round(cap * len(idx) / n)))
        keep.append(rng.choice(idx, size=k, replace=False))
    return np.sort(np.concatenate(keep))


def _auc(y: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC AUC of each row of ``scores`` (R, m) against ``y`` (m,) bool, both classes present
    (Mann-Whitney U over average ranks, as scikit-learn's roc_auc_score)."""
    stats = need("scipy.stats")
    ranks = stats.rankdata(scores, axis=1)
    pos = int(y.sum())
    neg = len(y) - pos
    u = ranks[:, y].sum(axis=1) - pos * (pos + 1) / 2.0
    return np.asarray(u / (pos * neg), dtype=np.float64)


def _score(model: Any, batch: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The held-out score of each stacked copy of the fold in ``batch``: ROC AUC (accuracy
    when the fold holds one outcome only)."""
    raw = np.asarray(model.decision_function(batch), dtype=np.float64).reshape(-1, len(y))
    if y.min() != y.max():
        return _auc(y, raw)
    return np.asarray(((raw > 0) == y).mean(axis=1), dtype=np.float64)


def _permutation(
    x: np.ndarray,
    c: np.ndarray,
    cat: np.ndarray,
    seed: int,
    n_repeats: int,
    progress: Progress | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Permutation importance averaged over 3 stratified folds (each fold held out once from a
    model fitted on the other two), so chance structure a model overfits averages out.

    The model runs on one OpenMP thread: its fits and predictions are small, and on a busy
    machine a team of threads spends more time waiting at barriers than working. The shuffles of
    a property are scored in one prediction over the stacked copies."""
    ensemble = need("sklearn.ensemble")
    selection = need("sklearn.model_selection")
    threadpoolctl = need("threadpoolctl")
    n_props = x.shape[1]
    folds = selection.StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=seed)
    total = FOLDS * (1 + n_props)
    done = 0
    if progress is not None:
        progress(done, total)
    every = np.empty((n_props, FOLDS * n_repeats))
    with threadpoolctl.threadpool_limits(limits=1, user_api="openmp"):
        for k, (fit, out) in enumerate(folds.split(x, c)):
            model = ensemble.HistGradientBoostingClassifier(
                max_iter=60,
                learning_rate=0.1,
                max_leaf_nodes=8,
                min_samples_leaf=max(10, len(fit) // 50),
                l2_regularization=1.0,
                categorical_features=cat if cat.any() else None,
                early_stopping=False,
                random_state=seed + k,
            )
            model.fit(x[fit], c[fit])
            done += 1
            if progress is not None:
                progress(done, total)
            x_out, y_out = x[out], c[out]
            m = len(out)
            base = _score(model, x_out, y_out)[0]
            rng = np.random.default_rng([seed, k])
            stacked = np.tile(x_out, (n_repeats, 1))
            for j in range(n_props):
                order = rng.permuted(np.tile(np.arange(m), (n_repeats, 1)), axis=1)
                stacked[:, j] = x_out[order.ravel(), j]
                every[j, k * n_repeats : (k + 1) * n_repeats] = base - _score(model, stacked, y_out)
                stacked[:, j] = np.tile(x_out[:, j], n_repeats)
                done += 1
                if progress is not None:
                    progress(done, total)
    return every.mean(axis=1), every.std(axis=1)


def determines_label(
    values: Any, labels: Any, *, max_values: int = 50, min_lambda: float = 0.9
) -> bool:
    """Whether a column is (nearly) a finer version of the label: it takes 2 .. ``max_values``
    distinct values, at most a fifth as many as samples, and knowing its value removes at least
    ``min_lambda`` of the errors of guessing the label (Goodman-Kruskal lambda: 1 when every
    value goes with a single label; TREC's fine question types, where "other" sits under three
    coarse ones, score 0.91). ``labels``: a class index or name per sample, or a row of a label
    matrix; samples where the value is NaN are left out; one label only: False.

    >>> determines_label([0, 0, 1, 1, 2, 2] * 3, ["a", "a", "a", "a", "b", "b"] * 3)
    True
    >>> determines_label([0, 1, 0, 1] * 3, ["a", "a", "b", "b"] * 3)
    False
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    keys = np.asarray(labels)
    if len(keys) != len(v):
        raise InputError(f"labels has {len(keys)} entries, values {len(v)}")
    ok = np.isfinite(v)
    n = int(ok.sum())
    if n == 0:
        return False
    _, lab = np.unique(keys[ok], return_inverse=True, axis=0 if keys.ndim > 1 else None)
    lab = lab.reshape(-1)
    uniq, val = np.unique(v[ok], return_inverse=True)
    if not 2 <= len(uniq) <= max_values or 5 * len(uniq) > n:
        return False
    table = np.zeros((len(uniq), int(lab.max()) + 1), np.int64)
    np.add.at(table, (val.reshape(-1), lab), 1)
    guess = table.sum(axis=0).max()  # right guesses without the column: the commonest label
    if guess == n:
        return False
    with_column = table.max(axis=1).sum()
    return bool((with_column - guess) >= min_lambda * (n - guess))


def wilson_interval(k: int, n: int) -> tuple[float | None, float | None]:
    """Wilson 95 % interval of a proportion ``k / n``; (None, None) when ``n`` is 0.

    >>> [round(v, 4) for v in wilson_interval(8, 10)]
    [0.4902, 0.9433]
    """
    if n <= 0:
        return None, None
    p = k / n
    z2 = Z95 * Z95
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def _rate(k: int, n: int) -> dict[str, Any]:
    lo, hi = wilson_interval(k, n)
    return {"value": k / n if n else None, "low": lo, "high": hi, "k": int(k), "n": int(n)}


def by_property(
    values: Any,
    correct: Any,
    *,
    bins: int = 10,
    tp: Any = None,
    fp: Any = None,
    fn: Any = None,
    categories: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Performance per quantile bin of a property: {bins: [{lower, upper, category, n,
    accuracy, tpr, precision}], n_missing}; each rate is {value, low, high (Wilson 95 %), k,
    n} or None. ``tp`` / ``fp`` / ``fn`` are per-sample counts (0 / 1 for one class of a
    classifier; boxes of an image for a detector): TPR = tp / (tp + fn) and precision =
    tp / (tp + fp) over the bin's samples (the interval then treats boxes as independent).
    Tied values never straddle two bins, so there may be fewer bins than asked. With
    ``categories`` the values are category codes and each category is a bin.

    >>> out = by_property(np.arange(100.0), np.arange(100) >= 10, bins=4)
    >>> [b["accuracy"]["value"] for b in out["bins"]]
    [0.6, 1.0, 1.0, 1.0]
    """
    if isinstance(bins, bool) or not 1 <= int(bins) <= 100:
        raise InputError(f"bins must be within 1..100, got {bins!r}")
    c = _as_correct(correct)
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if len(v) != len(c):
        raise InputError(f"values has {len(v)} entries, correct {len(c)}")
    counts = {}
    for name, arr in (("tp", tp), ("fp", fp), ("fn", fn)):
        if arr is not None:
            a = np.asarray(arr, dtype=np.int64).reshape(-1)
            if len(a) != len(c):
                raise InputError(f"{name} has {len(a)} entries, expected {len(c)}")
            counts[name] = a
    ok = np.isfinite(v)
    out_bins: list[dict[str, Any]] = []
    groups: list[tuple[int, np.ndarray]]
    spans: list[tuple[float | None, float | None, str | None]]
    if categories is not None:
        groups = [(code, ok & (v == code)) for code in range(len(categories))]
        spans = [(None, None, categories[code]) for code, _ in groups]
    else:
        finite = v[ok]
        if len(finite):
            edges = np.unique(np.quantile(finite, np.linspace(0, 1, int(bins) + 1)))
        else:
            edges = np.array([])
        groups, spans = [], []
        if len(edges) == 1:
            groups.append((0, ok.copy()))
            spans.append((float(edges[0]), float(edges[0]), None))
        for k in range(len(edges) - 1):
            lo, hi = edges[k], edges[k + 1]
            last = k == len(edges) - 2
            m = ok & (v >= lo) & ((v <= hi) if last else (v < hi))
            groups.append((k, m))
            spans.append((float(lo), float(hi), None))
    for (_, m), (lo, hi, cat) in zip(groups, spans, strict=True):
        n = int(m.sum())
        row: dict[str, Any] = {"lower": lo, "upper": hi, "category": cat, "n": n,
                               "accuracy": _rate(int(c[m].sum()), n) if n else None,
                               "tpr": None, "precision": None}  # fmt: skip
        if "tp" in counts:
            t = int(counts["tp"][m].sum())
            if "fn" in counts:
                row["tpr"] = _rate(t, t + int(counts["fn"][m].sum()))
            if "fp" in counts:
                row["precision"] = _rate(t, t + int(counts["fp"][m].sum()))
        out_bins.append(row)
    return {"bins": out_bins, "n_missing": int((~ok).sum())}
