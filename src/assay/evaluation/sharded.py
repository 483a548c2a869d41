"""Evaluation of predictions larger than memory: Parquet shards, streamed (classification; COCO
detection by whole images at the end: :func:`evaluate_detection_shards`).

``evaluate_sharded(gt, "shards/")`` (a folder of ``*.parquet``, or a glob such as
``"shards/*.parquet"``) reads the ground truth, then streams every shard in batches of at most
``batch_rows`` rows with :mod:`pyarrow.parquet`; the (N, C) score matrix is never built. Each batch
is reduced to a state (:mod:`assay.metrics.merge`): counts that add up, and sorted runs (per class
the positive and negative scores; the top scores with the (actual, predicted) class of each sample)
spilled to a temporary folder and read back memory-mapped. The states merge exactly: every number
equals the in-memory :class:`~assay.evaluation.classification.ClassificationResults` on the same
rows (within float summation order, far below 1e-9).

Peak memory: the ground truth (ids and labels: a single-label table of text ids and labels is
read as Arrow columns, about 20 bytes a sample; other ground truth through the ordinary reader,
about 140), one batch of rows (``batch_rows`` x C scores and a few copies while it is reduced),
and, while ROC AUC / AP are merged, one class's positive scores.
Disk: about 8 bytes per score (the runs; 4 when every score column is float32, kept as such)
plus 16 bytes per sample, freed with the results object
(``close()``, or when it is garbage-collected).

What comes back is a :class:`ShardedClassificationResults`, a ``ClassificationResults`` answering
``summary``, ``per_class``, ``confusion`` (counts or row fractions), ``optimal``, ``headline`` and
``report`` with the same JSON shapes. It keeps no per-sample arrays, so it does not offer what
needs them: the sample feed (``samples``, ``sample``, ``predictions``, ``outcomes``), curves,
bootstrap intervals, folds (``folds()`` is None), the "probability" confusion, storage
(``arrays``) and, for multi-label, the confusion matrix at another threshold than the evaluation's
(its counts at any threshold are exact). Each raises a one-line ParameterError.

Shards are wide score tables: an ``id`` column and one float / integer column per class, the same
classes in every shard (the first shard's column order is the class order, as a wide table's in
memory). Every ground-truth id must appear once across all shards. A bad shard (a missing column,
a class set that differs, a missing or NaN score, a score outside [0, 1], an unknown or repeated
id) is one :class:`~assay.errors.InputError` naming the shard file and row.
"""

from __future__ import annotations

import glob as globbing
import math
import shutil
import tempfile
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from numba import njit

from assay.errors import InputError, ParameterError
from assay.evaluation.classification import ClassificationResults
from assay.evaluation.results import OperatingPoint
from assay.evaluation.vocabulary import (
    BELOW_THRESHOLD,
    CLASSIFICATION_OPTIMA,
    DEFAULT_MULTILABEL_THRESHOLD,
    NO_LABEL,
)
from assay.metrics import classification as clf
from assay.metrics import merge as mg
from assay.metrics.cells import first_bad_row, ml_row_stats

__all__ = [
    "DEFAULT_BATCH_BYTES",
    "ShardedClassificationResults",
    "ShardedDetectionSummary",
    "ShardedEvaluation",
    "evaluate_detection_shards",
    "evaluate_sharded",
    "find_shards",
    "is_sharded",
]

DEFAULT_BATCH_BYTES = 1 << 28  # the scores of one batch (rows x C x 8 bytes): 256 MiB
_AVERAGED = {"f1": "macro_f1", "precision": "macro_precision", "recall": "macro_recall"}
_GLOB_CHARS = set("*?[")


def is_sharded(pred: str | Path) -> bool:
    """Whether ``pred`` names Parquet shards: a folder holding ``*.parquet`` files, or a glob.

    >>> is_sharded("preds/*.parquet"), is_sharded("pred.csv")
    (True, False)
    """
    text = str(pred)
    path = Path(text)
    if path.is_file():  # a file whose name holds "[" or "*" is that file, not a glob
        return False
    if _GLOB_CHARS & set(text):
        return True
    return path.is_dir() and any(path.glob("*.parquet"))


def find_shards(pred: str | Path) -> list[Path]:
    """The shard files of ``pred`` (a folder: its ``*.parquet``; else a glob), sorted by name;
    an InputError when there are none."""
    text = str(pred)
    if Path(text).is_dir():
        found = sorted(Path(text).glob("*.parquet"))
    else:
        found = sorted(Path(p) for p in globbing.glob(text))
    found = [p for p in found if p.is_file()]
    if not found:
        raise InputError("no Parquet shards found", file=text)
    return found


class _Spill:
    """A temporary folder of the runs, removed with its owner."""

    def __init__(self, work_dir: str | Path | None) -> None:
        self.path = Path(tempfile.mkdtemp(prefix="assay-shards-", dir=work_dir))
        self._final = weakref.finalize(self, shutil.rmtree, str(self.path), True)
        self.count = 0

    def save(self, array: np.ndarray) -> Path:
        """``array`` written to the folder: its file (see :func:`_open`)."""
        file = self.path / f"{self.count}.npy"
        self.count += 1
        np.save(file, np.ascontiguousarray(array))
        return file

    def close(self) -> None:
        self._final()


def _open(file: Path | None) -> np.ndarray:
    """A spilled array, memory-mapped. Callers drop it after use: a mapping kept would count the
    pages it touched in the process's resident memory for good."""
    assert file is not None
    return np.load(file, mmap_mode="r")  # type: ignore[no-any-return]


@dataclass
class _Run:
    """One batch's spilled state (files): per-class runs and, single-label, the sorted top
    scores with the actual and predicted class of each."""

    pos: Path
    pos_off: np.ndarray
    neg: Path
    neg_off: np.ndarray
    top: Path | None = None  # single-label: ascending
    actual: Path | None = None
    pred: Path | None = None
    exact_lo: Path | None = None  # multi-label: sorted max negative score of exact rows
    exact_hi: Path | None = None  # and their sorted min positive score

    def positives(self, c: int) -> np.ndarray:
        return _open(self.pos)[self.pos_off[c] : self.pos_off[c + 1]]

    def negatives(self, c: int) -> np.ndarray:
        return _open(self.neg)[self.neg_off[c] : self.neg_off[c + 1]]


@dataclass
class _Totals:
    """The additive part of the state."""

    n: int = 0
    n_true: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    rank_hist: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    log_loss_sum: float = 0.0
    brier_sum: float = 0.0
    bins: np.ndarray = field(default_factory=lambda: np.zeros((3, mg.ECE_BINS)))
    ml_confusion: np.ndarray | None = None
    off_sum: int = 0
    first_off: tuple[str, float] | None = None


class ShardedClassificationResults(ClassificationResults):
    """A classification evaluation merged from shards (see the module): the summary, per-class
    table, confusion counts, optimal threshold, headline and report of
    :class:`ClassificationResults` at any threshold, equal to the in-memory ones; no per-sample
    features. Build it with :func:`evaluate_sharded`."""

    def __init__(
        self,
        classes: list[str],
        runs: list[_Run],
        totals: _Totals,
        spill: _Spill,
        *,
        multilabel: bool,
        threshold: float | None,
        top_k: Sequence[int] | None,
        zero_division: float,
    ) -> None:
        self.multilabel = multilabel
        self.task = "multilabel" if multilabel else "classification"
        self.classes = list(classes)
        self.class_index = {c: i for i, c in enumerate(self.classes)}
        self.n_samples, self.n_classes = totals.n, len(classes)
        if threshold is None:
            threshold = DEFAULT_MULTILABEL_THRESHOLD if multilabel else 0.0
        self.threshold = self._check_threshold(threshold, InputError)
        try:
            self.zero_division = clf.check_zero_division(zero_division)
        except ValueError as exc:
            raise ParameterError(str(exc)) from None
        self.top_k = self._check_top_k(top_k, self.n_classes)
        self.hard_labels = False
        self.sample_ids = self.fold_ids = self.groups = None
        self._cache: dict[Any, Any] = {}
        self._at_t: dict[Any, Any] = {}
        self._intervals = None
        self._runs, self._spill = runs, spill
        self._totals = totals
        self._stored_threshold = self.threshold  # multi-label confusion was counted there
        n, C = self.n_samples, self.n_classes
        self._n_true = totals.n_true
        if not multilabel:
            self._within_k = np.cumsum(totals.rank_hist) / n
            self._log_loss = totals.log_loss_sum / n
            brier = totals.brier_sum / n
            self._brier = brier * 0.5 if C < 3 else brier
        else:
            self._log_loss = totals.log_loss_sum / (n * C)
            self._brier = totals.brier_sum / (n * C)
        self._ece = float(np.abs(totals.bins[2] - totals.bins[1]).sum() / totals.bins[0].sum())
        auc = np.full(C, np.nan)
        ap = np.full(C, np.nan)
        for c in range(C):
            auc[c], ap[c] = mg.auc_ap_from_runs(
                [r.positives(c) for r in runs], [r.negatives(c) for r in runs]
            )
        self._auc, self._ap = auc, ap

    def close(self) -> None:
        """Remove the spilled runs now (queries at a new threshold then fail)."""
        self._spill.close()

    # ---------------------------------------------------------------- merged counts
    def _tc(self, t: float) -> Any:
        return np.float64(t)

    def _counts(self, t: float) -> dict[str, Any]:
        key = ("counts", t)
        if key in self._at_t:
            return self._at_t[key]  # type: ignore[no-any-return]
        C, tc = self.n_classes, np.float64(t)
        if self.multilabel:
            out = self._multilabel_counts(np.array([tc]))[0]
        else:
            m = np.zeros((C, C), dtype=np.int64)
            for r in self._runs:
                m += mg.cells_at(_open(r.top), _open(r.actual), _open(r.pred), tc, C)
            tp = np.diagonal(m).copy()
            out = {"tp": tp, "n_pred": m.sum(axis=0), "n_true": self._n_true, "matrix": m}
            out["exact"] = int(tp.sum())
        self._keep(key, out)
        return out

    def _multilabel_counts(self, ts: np.ndarray) -> list[dict[str, Any]]:
        """Multi-label counts at each threshold of ``ts`` (float64), one pass over the runs."""
        C, T = self.n_classes, len(ts)
        tp = np.zeros((T, C), dtype=np.int64)
        fp = np.zeros((T, C), dtype=np.int64)
        exact = np.zeros(T, dtype=np.int64)
        for r in self._runs:
            pos_all, neg_all = _open(r.pos), _open(r.neg)
            at = mg.as_run_values(ts, pos_all.dtype, "left")  # counts as ts in float64
            for c in range(C):
                pos = pos_all[r.pos_off[c] : r.pos_off[c + 1]]
                neg = neg_all[r.neg_off[c] : r.neg_off[c + 1]]
                tp[:, c] += len(pos) - np.searchsorted(pos, at)
                fp[:, c] += len(neg) - np.searchsorted(neg, at)
            lo, hi = _open(r.exact_lo), _open(r.exact_hi)
            exact += np.searchsorted(lo, ts) - np.searchsorted(hi, ts)
        return [
            {"tp": tp[i], "n_pred": tp[i] + fp[i], "n_true": self._n_true, "exact": int(exact[i])}
            for i in range(T)
        ]

    def _matrix(
        self, t: float, *, with_sums: bool = False
    ) -> tuple[np.ndarray, np.ndarray | None, list[str], list[str]]:
        if with_sums:
            _not_offered("confusion with normalize='probability'")
        names = list(self.classes)
        if self.multilabel:
            if t != self._stored_threshold or self._totals.ml_confusion is None:
                _not_offered(
                    f"the multi-label confusion matrix at threshold {t} (it is counted at the "
                    f"evaluation's threshold, {self._stored_threshold})"
                )
            return self._totals.ml_confusion, None, [*names, NO_LABEL], [*names, BELOW_THRESHOLD]
        m = self._counts(t)["matrix"]
        if t > 0:
            full = np.zeros((self.n_classes, self.n_classes + 1), dtype=np.int64)
            full[:, :-1] = m
            full[:, -1] = self._n_true - m.sum(axis=1)
            return full, None, names, [*names, BELOW_THRESHOLD]
        return m.copy(), None, names, names

    def optimal(self, metric: str = "f1", at: OperatingPoint | None = None) -> dict[str, Any]:
        """As :meth:`ClassificationResults.optimal`, merged: single-label sweeps the top scores of
        all shards in descending order; multi-label searches the same grid (0.01 steps and 200
        quantiles of all scores, the quantiles exact from the runs)."""
        if metric not in CLASSIFICATION_OPTIMA:
            raise ParameterError(
                f"metric: must be one of {', '.join(CLASSIFICATION_OPTIMA)}, got {metric!r}"
            )
        self.point(at)
        key = ("optimal", metric)
        if key in self._cache:
            return dict(self._cache[key])
        name = _AVERAGED.get(metric, metric)
        if self.multilabel:
            C = self.n_classes
            runs = [r.positives(c) for r in self._runs for c in range(C)]
            runs += [r.negatives(c) for r in self._runs for c in range(C)]
            quantiles = mg.quantiles_from_runs(runs, np.linspace(0, 1, 201))
            del runs  # unmapped
            grid = np.unique(np.r_[np.linspace(0, 1, 101), quantiles])
            counts = self._multilabel_counts(grid[::-1])  # all at once, then one summary each
            best_t, best = 0.0, -1.0
            for g, k in zip(grid[::-1], counts, strict=True):
                self._keep(("counts", float(g)), k)
                v = self.summary(OperatingPoint(threshold=float(g)))[name]
                if v is not None and v > best + 1e-12:
                    best_t, best = float(g), v
            t = best_t
        else:
            state = mg.sweep_state(self._n_true)
            index = CLASSIFICATION_OPTIMA.index(metric)
            by_rule = math.isnan(self.zero_division)
            tops = [_open(r.top) for r in self._runs]
            payloads = [[_open(r.actual), _open(r.pred)] for r in self._runs]
            for top, (actual, pred) in mg.merge_descending(tops, payloads):  # type: ignore[arg-type]
                mg.sweep_batch(
                    state, top, actual, pred, self._n_true, self.n_samples, index, by_rule
                )
            t = min(max(float(state["floats"][4]), 0.0), 1.0)
        value = self.summary(OperatingPoint(threshold=t))[name]
        out = {"task": self.task, "metric": metric, "value": value, "threshold": t}
        self._cache[key] = out
        return dict(out)

    def folds(self, at: OperatingPoint | None = None) -> dict[str, Any] | None:
        """None: a sharded evaluation keeps no folds."""
        self.point(at)
        return None

    # ---------------------------------------------------------------- not offered
    def predictions(self, at: OperatingPoint | None = None) -> NoReturn:
        _not_offered("predictions")

    def outcomes(self, at: OperatingPoint | None = None) -> NoReturn:
        _not_offered("outcomes")

    @property
    def top_classes(self) -> np.ndarray:
        _not_offered("top classes")

    @property
    def top_scores(self) -> np.ndarray:
        _not_offered("top scores")

    def samples(self, *args: Any, **kwargs: Any) -> NoReturn:
        _not_offered("the sample feed")

    def sample(self, index: int, at: OperatingPoint | None = None) -> NoReturn:
        _not_offered("a sample")

    def curve(self, *args: Any, **kwargs: Any) -> NoReturn:
        _not_offered("curves")

    def intervals(self, *args: Any, **kwargs: Any) -> NoReturn:
        _not_offered("bootstrap intervals")

    def arrays(self) -> NoReturn:
        _not_offered("storing (its arrays)")


def _not_offered(what: str) -> NoReturn:
    raise ParameterError(
        f"{what}: not offered by a sharded evaluation (it keeps no per-sample scores)"
    )


@dataclass
class ShardedEvaluation:
    """What :func:`evaluate_sharded` produced: the results, the shard files read, and notes (one
    line each) for the user."""

    task: str
    results: ShardedClassificationResults
    shards: list[Path]
    gt_source: Path
    notes: list[str] = field(default_factory=list)


def evaluate_sharded(
    gt: str | Path,
    pred: str | Path,
    *,
    task: str | None = None,
    threshold: float | None = None,
    top_k: Sequence[int] | None = None,
    zero_division: float = 0.0,
    batch_rows: int | None = None,
    work_dir: str | Path | None = None,
) -> ShardedEvaluation:
    """Evaluate a classification ground truth against Parquet shards of scores, streamed (see the
    module). ``task``: "classification" or "multilabel" (default: the ground truth's);
    ``batch_rows``: rows reduced at a time (default: as many as fit :data:`DEFAULT_BATCH_BYTES`
    of float64 scores, at least 1,024); ``work_dir``: where the runs are spilled (default: the
    system's temporary folder)."""
    from assay.formats.tables import read_ground_truth

    if task not in (None, "classification", "multilabel"):
        raise ParameterError(f"task: sharded predictions evaluate classification only, not {task}")
    if batch_rows is not None and batch_rows < 1:
        raise ParameterError(f"batch_rows must be >= 1, got {batch_rows}")
    shards = find_shards(pred)
    classes, float32 = _shard_classes(shards)
    runs_dtype = np.dtype(np.float32 if float32 else np.float64)
    C = len(classes)
    lean = None if task == "multilabel" else _single_label_table(gt, classes, shards[0].name)
    if lean is not None:  # a table of text ids and labels: read as Arrow columns only
        y_all: np.ndarray | None
        gt_source, gt_ids, y_all, notes, has_folds = lean
        ml_idx = ml_off = None
        multilabel = False
    else:
        truth = read_ground_truth(gt)
        multilabel = truth.multilabel if task is None else task == "multilabel"
        if not multilabel and truth.multilabel:
            raise InputError(
                "has a 'labels' column (multi-label) but the task is classification",
                file=str(truth.source),
            )
        y_all, ml_idx, ml_off = _labels(truth, classes, shards[0].name, multilabel)
        gt_ids = pa.array(truth.ids.tolist(), pa.string())
        notes, has_folds, gt_source = list(truth.warnings), truth.folds is not None, truth.source
        del truth  # its Python strings: about 140 bytes a sample, not needed from here on
    if has_folds:
        notes.append(f"{gt_source}: folds are not evaluated on sharded predictions")
    if C < 2 and not multilabel:
        raise InputError("needs scores for at least two classes", file=str(shards[0]))
    if batch_rows is None:
        batch_rows = max(1024, DEFAULT_BATCH_BYTES // (8 * C))
    n_total = len(gt_ids)
    index = _IdIndex(gt_ids)
    t_stored = threshold
    if t_stored is None:
        t_stored = DEFAULT_MULTILABEL_THRESHOLD if multilabel else 0.0
    ClassificationResults._check_threshold(t_stored, InputError)
    seen = np.zeros(n_total, dtype=bool)
    totals = _Totals(n_true=np.zeros(C, dtype=np.int64), rank_hist=np.zeros(C + 1, dtype=np.int64))
    if multilabel:
        totals.ml_confusion = np.zeros((C + 1, C + 1), dtype=np.int64)
    spill = _Spill(work_dir)
    runs: list[_Run] = []
    try:
        for shard in shards:
            for offset, ids, scores in _batches(shard, classes, batch_rows):
                rows = _gt_rows(ids, index, seen, shard, offset, gt_source.name)
                if multilabel:
                    y = _multi_hot(rows, ml_idx, ml_off, C)
                    runs.append(
                        _reduce_multilabel(y, scores, float(t_stored), totals, spill, runs_dtype)
                    )
                else:
                    assert y_all is not None
                    y = y_all[rows]
                    runs.append(_reduce_single(y, scores, totals, spill, runs_dtype))
                    _sum_check(scores, totals, shard, offset)
                totals.n += len(rows)
        if not seen.all():
            row = int(np.argmin(seen))
            raise InputError(
                f"no prediction for id '{_short(gt_ids[row].as_py())}' (ground truth row "
                f"{row + 1})",
                file=str(pred),
            )
        results = ShardedClassificationResults(
            classes,
            runs,
            totals,
            spill,
            multilabel=multilabel,
            threshold=threshold,
            top_k=top_k,
            zero_division=zero_division,
        )
    except BaseException:
        spill.close()
        raise
    if totals.off_sum and totals.first_off is not None:
        place, first = totals.first_off
        notes.append(
            f"{place}: scores do not sum to 1 in {totals.off_sum} of {totals.n} rows (first sum "
            f"{first:.4g}); single-label metrics read them as probabilities"
        )
    return ShardedEvaluation(
        task="multilabel" if multilabel else "classification",
        results=results,
        shards=shards,
        gt_source=gt_source,
        notes=notes,
    )


# -------------------------------------------------------------------- reading
def _short(value: object, limit: int = 40) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shard_classes(shards: list[Path]) -> tuple[list[str], bool]:
    """The class columns of the first shard, checked against every other shard's schema, and
    whether every score column of every shard is float32 (the runs then keep float32: exact)."""
    first: list[str] | None = None
    float32 = True
    for shard in shards:
        try:
            schema = pq.ParquetFile(shard).schema_arrow
            names = schema.names
            float32 &= all(pa.types.is_float32(f.type) for f in schema if f.name != "id")
        except (OSError, pa.ArrowException) as exc:
            raise InputError(
                f"not a readable Parquet file ({_short(exc, 80)})", file=str(shard)
            ) from None
        if "id" not in names:
            raise InputError("missing column 'id'", file=str(shard))
        classes = [c for c in names if c != "id"]
        if first is None:
            if not classes:
                raise InputError("has no score columns besides 'id'", file=str(shard))
            if "group" in classes:
                raise InputError("has a 'group' column; sharded scores take none", file=str(shard))
            first = classes
            continue
        if set(classes) != set(first):
            missing = [c for c in first if c not in set(classes)]
            extra = [c for c in classes if c not in set(first)]
            what = (
                f"missing column '{_short(missing[0])}'"
                if missing
                else f"column '{_short(extra[0])}' that {shards[0].name} does not have"
            )
            raise InputError(f"its classes differ from {shards[0].name}: {what}", file=str(shard))
    assert first is not None
    return first, float32


def _batches(
    shard: Path, classes: list[str], batch_rows: int
) -> Any:  # Iterator[tuple[int, pa.Array, np.ndarray]]
    """(row offset, ids, float64 scores (n, C) in class order) per batch of ``shard``."""
    offset = 0
    try:
        reader = pq.ParquetFile(shard).iter_batches(batch_size=batch_rows, columns=["id", *classes])
        for batch in reader:
            ids = batch.column("id")
            if not (pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type)):
                if not pa.types.is_integer(ids.type):
                    raise InputError(
                        f"column 'id' holds {ids.type}, expected text or integers", file=str(shard)
                    )
                ids = pc.cast(ids, pa.string())
            if ids.null_count:
                row = int(np.argmax(ids.is_null().to_numpy(zero_copy_only=False)))
                raise InputError("missing id", file=str(shard), where=f"row {offset + row + 1}")
            scores = np.empty((batch.num_rows, len(classes)), dtype=np.float64)
            for j, c in enumerate(classes):
                col = batch.column(c)
                where = f"column '{_short(c)}'"
                if col.null_count:
                    row = int(np.argmax(col.is_null().to_numpy(zero_copy_only=False)))
                    raise InputError(
                        "missing score", file=str(shard), where=f"row {offset + row + 1}, {where}"
                    )
                if not (pa.types.is_floating(col.type) or pa.types.is_integer(col.type)):
                    raise InputError(f"holds {col.type}, expected numbers", file=str(shard),
                                     where=where)  # fmt: skip
                scores[:, j] = col.to_numpy(zero_copy_only=False)
            bad = first_bad_row(scores) if len(scores) else -1
            if bad >= 0:
                j = int(np.argmax(~((scores[bad] >= 0) & (scores[bad] <= 1))))
                value = scores[bad, j]
                what = "score is nan" if np.isnan(value) else f"score {value:g} is outside [0, 1]"
                raise InputError(
                    what,
                    file=str(shard),
                    where=f"row {offset + bad + 1}, column '{_short(classes[j])}'",
                )
            n = batch.num_rows
            batch = col = None  # the batch's Arrow buffers go while the scores are reduced
            yield offset, ids, scores
            offset += n
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot be read ({_short(exc, 80)})", file=str(shard)) from None


@njit(cache=True)
def _fnv1a(offsets: np.ndarray, data: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    n = offsets.shape[0] - 1
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        h = np.uint64(14695981039346656037)
        for j in range(offsets[i], offsets[i + 1]):
            h = (h ^ np.uint64(data[j])) * np.uint64(1099511628211)
        out[i] = h
    return out


def _hashes(ids: pa.Array) -> np.ndarray:
    """A 64-bit FNV-1a hash of each string of ``ids`` (no nulls), from its Arrow buffers."""
    ids = ids.cast(pa.large_string())
    _, offsets, data = ids.buffers()
    off = np.frombuffer(offsets, dtype=np.int64)[ids.offset : ids.offset + len(ids) + 1]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    return _fnv1a(off, raw)  # type: ignore[no-any-return]


class _IdIndex:
    """The ground truth's ids, looked up by hash: built once (one hash and one sort), then a
    binary search per id checked against the id itself. ``pyarrow.compute.index_in`` would hash
    all of the ground truth again for every batch (9 s a batch at 10M ids)."""

    def __init__(self, ids: pa.Array) -> None:
        self.ids = ids
        h = _hashes(ids)
        self.order = np.argsort(h, kind="stable")
        self.sorted = h[self.order]

    def rows(self, query: pa.Array) -> np.ndarray:
        """The row of each id of ``query`` in the ground truth, -1 where it is not there."""
        if len(self.ids) == 0:
            return np.full(len(query), -1, dtype=np.int64)
        h = _hashes(query)
        pos = np.minimum(np.searchsorted(self.sorted, h), len(self.sorted) - 1)
        cand = self.order[pos]
        same = pc.equal(query, self.ids.take(pa.array(cand))).to_numpy(zero_copy_only=False)
        rows = np.where(same & (self.sorted[pos] == h), cand, -1).astype(np.int64)
        miss = np.flatnonzero(rows < 0)
        if miss.size:  # not there, or a hash shared by two ids: ask exactly (rare)
            exact = pc.index_in(query.take(pa.array(miss)), value_set=self.ids)
            rows[miss] = exact.fill_null(-1).to_numpy(zero_copy_only=False)
        return rows


def _gt_rows(
    ids: pa.Array, gt_ids: _IdIndex, seen: np.ndarray, shard: Path, offset: int, gt_name: str
) -> np.ndarray:
    """The ground-truth row of each id of a batch; unknown and repeated ids name their row."""
    rows = gt_ids.rows(ids)
    if (rows < 0).any():
        row = int(np.argmax(rows < 0))
        raise InputError(
            f"prediction for id '{_short(ids[row].as_py())}' that is not in the ground truth "
            f"{gt_name}",
            file=str(shard),
            where=f"row {offset + row + 1}",
        )
    again = seen[rows]
    if not again.any():
        order = np.argsort(rows, kind="stable")
        dup = np.flatnonzero(rows[order][1:] == rows[order][:-1])
        if dup.size:
            again = np.zeros(len(rows), dtype=bool)
            again[order[dup + 1]] = True
    if again.any():
        row = int(np.argmax(again))
        raise InputError(
            f"id '{_short(ids[row].as_py())}' has a prediction already (an earlier row or shard)",
            file=str(shard),
            where=f"row {offset + row + 1}",
        )
    seen[rows] = True
    return rows


def _single_label_table(
    gt: str | Path, classes: list[str], pred_name: str
) -> tuple[Path, pa.Array, np.ndarray, list[str], bool] | None:
    """A single-label ground-truth table (``id`` and ``label`` as text) read as Arrow columns,
    never as Python strings (about 20 bytes a sample instead of 140): (source, ids, class index
    per row, notes, whether it has folds). None for anything else (a folder, a ``labels``
    column, ids or labels that are not text): :func:`read_ground_truth` reads those. Its checks
    hold here: a missing or empty id or label, an id twice, a label that is no score column."""
    from assay.formats.files import check_input
    from assay.formats.table_files import read_table
    from assay.formats.tables import comma_warning

    path = check_input(gt, folder_ok=True)
    if path.is_dir():
        return None
    table = read_table(
        path, string_columns=("id", "label", "labels", "text", "path", "fold", "group")
    )
    names = table.column_names
    if "id" not in names or "label" not in names or "labels" in names:
        return None
    ids, labels = table.column("id").combine_chunks(), table.column("label").combine_chunks()
    text = (pa.types.is_string, pa.types.is_large_string)
    if not any(f(ids.type) for f in text) or not any(f(labels.type) for f in text):
        return None
    has_folds = "fold" in names
    del table
    for name, col in (("id", ids), ("label", labels)):
        empty = pc.or_(pc.is_null(col), pc.equal(col, "")).fill_null(True)
        if pc.any(empty).as_py():
            row = int(np.argmax(empty.to_numpy(zero_copy_only=False)))
            raise InputError(f"empty '{name}'", file=str(path), where=f"row {row + 1}")
    encoded = labels.dictionary_encode()
    names_seen = encoded.dictionary.to_pylist()
    index = {c: i for i, c in enumerate(classes)}
    lookup = np.array([index.get(c, -1) for c in names_seen], dtype=np.int64)
    y = lookup[encoded.indices.to_numpy(zero_copy_only=False)]
    if (y < 0).any():
        row = int(np.argmax(y < 0))
        raise InputError(
            f"label '{_short(labels[row].as_py())}' is not among the score columns of {pred_name}",
            file=str(path),
            where=f"row {row + 1}",
        )
    notes: list[str] = []
    if any("," in c for c in names_seen):  # rare: the reader's warning, from the Python strings
        note = comma_warning(labels.to_pylist(), path, "label")
        if note is not None:
            notes.append(note)
    _check_unique(ids, path)
    return path.resolve(), ids, y, notes, has_folds


def _check_unique(ids: pa.Array, path: Path) -> None:
    """An InputError naming an id that appears twice (and its second row)."""
    h = _hashes(ids)
    order = np.argsort(h, kind="stable")
    same = np.flatnonzero(h[order][1:] == h[order][:-1])
    if not same.size:
        return
    a, b = order[same], order[same + 1]
    equal = pc.equal(ids.take(pa.array(a)), ids.take(pa.array(b))).to_numpy(zero_copy_only=False)
    if equal.any():
        k = int(np.argmax(equal))
        second = int(max(a[k], b[k]))
        raise InputError(
            f"id '{_short(ids[second].as_py())}' appears twice",
            file=str(path),
            where=f"row {second + 1}",
        )


def _labels(
    truth: Any, classes: list[str], pred_name: str, multilabel: bool
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """Single-label: (class index per ground-truth row, None, None); multi-label: (None, class
    indices of every row's labels concatenated, row offsets)."""
    index = {c: i for i, c in enumerate(classes)}
    if not multilabel:
        labels = truth.labels if truth.labels is not None else []
        y = np.empty(len(labels), dtype=np.int64)
        for i, lab in enumerate(labels):
            k = index.get(lab)
            if k is None:
                raise InputError(
                    f"label '{_short(lab)}' is not among the score columns of {pred_name}",
                    file=str(truth.source),
                    where=f"row {i + 1}",
                )
            y[i] = k
        return y, None, None
    sets = truth.label_sets if truth.label_sets is not None else [[x] for x in truth.labels or []]
    flat: list[int] = []
    off = np.zeros(len(sets) + 1, dtype=np.int64)
    for i, labs in enumerate(sets):
        for lab in labs:
            k = index.get(lab)
            if k is None:
                raise InputError(
                    f"label '{_short(lab)}' is not among the score columns of {pred_name}",
                    file=str(truth.source),
                    where=f"row {i + 1}",
                )
            flat.append(k)
        off[i + 1] = len(flat)
    return None, np.asarray(flat, dtype=np.int64), off


def _multi_hot(rows: np.ndarray, idx: Any, off: Any, n_classes: int) -> np.ndarray:
    """(len(rows), C) bool: the labels of those ground-truth rows."""
    y = np.zeros((len(rows), n_classes), dtype=bool)
    lengths = off[rows + 1] - off[rows]
    where = np.repeat(np.arange(len(rows)), lengths)
    starts = np.repeat(off[rows] - np.cumsum(lengths) + lengths, lengths)
    y[where, idx[starts + np.arange(len(where))]] = True
    return y


# -------------------------------------------------------------------- reducing a batch
def _reduce_single(
    y: np.ndarray, s: np.ndarray, totals: _Totals, spill: _Spill, runs_dtype: np.dtype
) -> _Run:
    C = s.shape[1]
    rs = clf.row_statistics(y, s)
    totals.n_true += np.bincount(y, minlength=C)
    totals.rank_hist += np.bincount(rs["rank"], minlength=C + 1)[: C + 1]
    eps = np.finfo(np.float64).eps
    totals.log_loss_sum += float(-np.sum(np.log(np.clip(rs["true_score"], eps, 1 - eps))))
    totals.brier_sum += float(np.sum(rs["brier"]))
    totals.bins += mg.calibration_bins(rs["top"], rs["pred"] == y)
    order = np.argsort(rs["top"], kind="stable")
    pos, pos_off, neg, neg_off = mg.class_runs(y, s.astype(runs_dtype, copy=False))
    return _Run(
        pos=spill.save(pos),
        pos_off=pos_off,
        neg=spill.save(neg),
        neg_off=neg_off,
        top=spill.save(rs["top"][order]),
        actual=spill.save(y[order].astype(np.int32)),
        pred=spill.save(rs["pred"][order].astype(np.int32)),
    )


def _reduce_multilabel(
    y: np.ndarray, s: np.ndarray, t: float, totals: _Totals, spill: _Spill, runs_dtype: np.dtype
) -> _Run:
    n, C = s.shape
    totals.n_true += y.sum(axis=0)
    _, min_pos, max_neg = ml_row_stats(s, y)
    ok = max_neg < min_pos
    totals.log_loss_sum += clf.log_loss(y_true=y, y_score=s, multilabel=True) * (n * C)
    d = s - y
    totals.brier_sum += float(np.sum(d * d))
    totals.bins += mg.calibration_bins(s.ravel(), y.ravel())
    m, _ = clf.multilabel_confusion_matrix(y, s, np.float64(t))
    assert totals.ml_confusion is not None
    totals.ml_confusion += m
    pos, pos_off, neg, neg_off = mg.class_runs(y, s.astype(runs_dtype, copy=False), multilabel=True)
    return _Run(
        pos=spill.save(pos),
        pos_off=pos_off,
        neg=spill.save(neg),
        neg_off=neg_off,
        exact_lo=spill.save(np.sort(max_neg[ok])),
        exact_hi=spill.save(np.sort(min_pos[ok])),
    )


def _sum_check(s: np.ndarray, totals: _Totals, shard: Path, offset: int) -> None:
    """Count single-label rows whose scores do not sum to 1 (within 0.01); keep the first."""
    sums = s.sum(axis=1)
    off = np.abs(sums - 1.0) > 0.01
    k = int(np.count_nonzero(off))
    if k and totals.first_off is None:
        i = int(np.argmax(off))
        totals.first_off = (f"{shard}: row {offset + i + 1}", float(sums[i]))
    totals.off_sum += k


# -------------------------------------------------------------------- detection
class ShardedDetectionSummary:
    """A detection evaluation merged from shards of whole images: COCO's numbers (the summary's
    AP ... ARl, the per-class AP columns), equal to :class:`~assay.evaluation.detection.
    DetectionResults`' (and so to pycocotools') on the same detections.

    It answers ``summary``, ``per_class``, ``headline`` and ``report`` in the in-memory shapes,
    with what needs the class-agnostic matching at an operating point left out: the summary's
    precision / recall / f1 / tp / fp / fn, the per-class tp / fp / fn / precision / recall / f1
    and ``iou`` / ``score`` are None; ``confusion``, ``optimal``, ``extra`` (the VOC protocols)
    and ``intervals`` are None in the report; the image feed is not offered."""

    task = "detection"

    def __init__(
        self,
        classes: list[str],
        n_images: int,
        precision: np.ndarray,
        recall: np.ndarray,
        labeled: np.ndarray,
    ) -> None:
        self.classes = list(classes)
        self.n_samples, self.n_classes = n_images, len(classes)
        self.precision, self.recall = precision, recall
        self._labeled = labeled

    def summary(self) -> dict[str, Any]:
        """COCO's 12 numbers; the operating-point keys None (see the class)."""
        from assay.evaluation._detection_tables import coco_stats, n_classes_with_gt

        return {
            "task": "detection",
            "iou": None,
            "score": None,
            "point_rule": "coco",
            "n_samples": self.n_samples,
            "n_classes": self.n_classes,
            **coco_stats(self.precision, self.recall),
            **{key: None for key in ("precision", "recall", "f1", "tp", "fp", "fn")},
            "macro_over": {"AP": n_classes_with_gt(self.precision)},
        }

    def per_class(self) -> dict[str, Any]:
        """Per class the COCO AP columns and the non-crowd ground truth (``total_labeled``)."""
        from assay.evaluation._detection_tables import ap_columns

        ap = ap_columns(self.precision, self.recall, self.n_classes)
        items = [
            {
                "label": c,
                **ap[k],
                "total_labeled": int(self._labeled[k]),
                "total_predicted": None,  # at an operating point: none here
                **{key: None for key in ("tp", "fp", "fn", "precision", "recall", "f1")},
            }
            for k, c in enumerate(self.classes)
        ]
        return {"task": "detection", "iou": None, "score": None, "items": items}

    def headline(self) -> dict[str, Any]:
        """AP (COCO mAP .50:.95)."""
        return {"metric": "AP", "label": "AP", "value": self.summary()["AP"]}

    def report(self) -> dict[str, Any]:
        """The report's shape; see the class for what is None."""
        return {
            "task": "detection",
            "classes": list(self.classes),
            "iou": None,
            "score": None,
            "summary": self.summary(),
            "per_class": self.per_class(),
            "confusion": None,
            "optimal": None,
            "intervals": None,
            "folds": None,
            "extra": None,
        }

    def close(self) -> None:
        """Nothing spilled: the merged detections are in memory."""


def evaluate_detection_shards(
    gt: Any, pred: str | Path, *, images_root: str | Path | None = None
) -> tuple[ShardedDetectionSummary, list[Path]]:
    """COCO evaluation of detections in Parquet shards (columns ``image_id``, ``category_id``,
    ``score`` and ``bbox`` (4 numbers, x y w h) or ``x``, ``y``, ``w``, ``h``), each shard read
    and matched on its own images, the matches merged in pycocotools' order.

    Every image's detections must lie in one shard: an image met again in a later shard is an
    InputError naming that shard and row (matched twice, its ground truth would count twice).
    Memory: the ground truth, one shard, and per detection kept (at most 100 per image and
    class) about 100 bytes of matches."""
    from assay.formats.detection import read_detection_gt
    from assay.metrics.detection import coco_match

    shards = find_shards(pred)
    g = read_detection_gt(gt, images_root=images_root)
    K, n_img = len(g.classes), g.n_images
    image_rank = np.argsort(np.argsort(g.image_ids, kind="stable"), kind="stable")
    no_dt = np.zeros(0, dtype=np.int64)
    everything = coco_match(
        g.boxes, g.labels, g.image, g.area, g.iscrowd, np.zeros((0, 4)), no_dt, no_dt,
        np.zeros(0), n_images=n_img, n_classes=K, image_rank=image_rank,
    )  # fmt: skip
    owner = np.full(n_img, -1, dtype=np.int64)
    records = []
    for s, shard in enumerate(shards):
        img, lab, boxes, scores = _read_detections(shard, g)
        first_owner = owner[img]
        if (first_owner >= 0).any():
            row = int(np.argmax(first_owner >= 0))
            raise InputError(
                f"image_id {int(g.image_ids[img[row]])} has detections in "
                f"{shards[first_owner[row]].name} too: an image's detections must lie in one shard",
                file=str(shard),
                where=f"row {row + 1}",
            )
        owner[img] = s
        mine = np.isin(g.image, np.unique(img))
        m = coco_match(
            g.boxes[mine], g.labels[mine], g.image[mine], g.area[mine], g.iscrowd[mine],
            boxes, lab, img, scores, n_images=n_img, n_classes=K, image_rank=image_rank,
        )  # fmt: skip
        records.append(mg.coco_records(m, lab, scores, image_rank[img]))
    precision, recall, _ = mg.coco_merge(records, everything.npig)
    labeled = np.bincount(g.labels[~g.iscrowd], minlength=K)
    summary = ShardedDetectionSummary(g.classes, n_img, precision, recall, labeled)
    return summary, shards


def _read_detections(shard: Path, g: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(image index, class index, boxes (n, 4) xywh, scores) of one detection shard, checked."""
    try:
        table = pq.read_table(shard)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot be read ({_short(exc, 80)})", file=str(shard)) from None
    names = set(table.column_names)
    box_cols = ["bbox"] if "bbox" in names else ["x", "y", "w", "h"]
    for col in ["image_id", "category_id", "score", *box_cols]:
        if col not in names:
            raise InputError(f"missing column '{col}'", file=str(shard))
        if table.column(col).null_count:
            row = int(np.argmax(table.column(col).is_null().to_numpy(zero_copy_only=False)))
            raise InputError(f"missing '{col}'", file=str(shard), where=f"row {row + 1}")
    n = table.num_rows
    if box_cols == ["bbox"]:
        flat = pc.list_flatten(table.column("bbox"))
        lengths = pc.list_value_length(table.column("bbox")).to_numpy(zero_copy_only=False)
        if (lengths != 4).any():
            row = int(np.argmax(lengths != 4))
            raise InputError("bbox must hold 4 numbers", file=str(shard), where=f"row {row + 1}")
        boxes = np.asarray(flat.to_numpy(zero_copy_only=False), dtype=np.float64).reshape(n, 4)
    else:
        boxes = np.stack([table.column(c).to_numpy().astype(np.float64) for c in box_cols], 1)
    scores = table.column("score").to_numpy(zero_copy_only=False).astype(np.float64)
    bad = ~np.isfinite(boxes).all(axis=1) | (boxes[:, 2] <= 0) | (boxes[:, 3] <= 0)
    bad |= ~np.isfinite(scores)
    if bad.any():
        row = int(np.argmax(bad))
        raise InputError(
            "a box needs finite x, y and w, h > 0, and a finite score",
            file=str(shard),
            where=f"row {row + 1}",
        )
    img = _index_of(table.column("image_id"), g.image_ids, "image_id", shard)
    lab = _index_of(table.column("category_id"), g.category_ids, "category_id", shard)
    return img, lab, boxes, scores


def _index_of(col: Any, known: np.ndarray, name: str, shard: Path) -> np.ndarray:
    """Each value's index in ``known`` (ids); an id not there names its row."""
    values = np.asarray(col.to_numpy(zero_copy_only=False))
    if values.dtype.kind not in "iuf":
        raise InputError(f"column '{name}' holds {col.type}, expected ids", file=str(shard))
    order = np.argsort(known, kind="stable")
    pos = np.clip(np.searchsorted(known[order], values), 0, len(known) - 1)
    found = len(known) > 0 and known[order][pos] == values
    ok = np.asarray(found, dtype=bool) & np.ones(len(values), dtype=bool)
    if not ok.all():
        row = int(np.argmax(~ok))
        raise InputError(
            f"{name} {values[row].item()!r} is not in the ground truth", file=str(shard),
            where=f"row {row + 1}",
        )  # fmt: skip
    return order[pos].astype(np.int64)  # type: ignore[no-any-return]
