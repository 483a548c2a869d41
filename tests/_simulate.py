"""Seeded generative models for the statistical audit (benchmarks/statistics.py and
tests/evaluation/test_statistical_properties.py): labelled classification data with model
scores, and detection ground truth with detector outputs, together with the population value
of every summary metric under the same model.

Classification. A population has ``C`` classes with unequal frequencies (Zipf-like, the last
few rare) and a per-class difficulty. A model's logits are ``sharpness * (boost[y] + delta) * e_y
+ sharpness * noise`` where the noise is N(0, 1) per cell, a share ``rho`` of it common to every
model scored on the same dataset (so paired models are correlated, as real ones are); scores are
the softmax of the logits. Two models with the same ``delta`` are equal in distribution (every
population difference is exactly 0); a larger ``delta`` is a better model.

Population values (:func:`population_values`) use that structure: given the true class the
other logits are iid, so each class's accuracy is a one-dimensional integral (exact by
quadrature) and a wrong prediction is equally likely to be any other class, which fixes
precision / recall / F1; the score-based metrics (ROC AUC, AP, log loss, Brier, ECE) come from a
large Monte-Carlo sample of the true class's score and of a non-true class's score (the latter
importance-sampled towards its upper tail, which sets the precision of rare classes).

Detection. Images carry 1 + Poisson(2.5) boxes of three classes (60 / 30 / 10 %); a detector
finds each with a class-dependent probability, as a jittered box whose score grows with its
localisation quality, and adds Poisson(1.5) false boxes per image with lower scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

# the summary keys a population value is computed for (those of ClassificationResults.intervals)
POPULATION_KEYS = (
    "accuracy",
    "macro_precision",
    "macro_recall",
    "macro_f1",
    "micro_precision",
    "micro_recall",
    "micro_f1",
    "weighted_precision",
    "weighted_recall",
    "weighted_f1",
    "roc_auc_macro",
    "average_precision_macro",
    "log_loss",
    "brier",
    "ece",
)


@dataclass(frozen=True)
class Population:
    """A generative model of labelled samples and model scores (see the module docstring)."""

    n_classes: int
    priors: np.ndarray  # class frequencies, sum 1
    boost: np.ndarray  # per-class logit boost of the true class (its difficulty)
    sharpness: float  # multiplies all logits (inverse temperature)
    rho: float = 0.7  # share of the logit noise common to the models of one dataset
    dtype: type = np.float64


def make_population(n_classes: int, *, seed: int = 0) -> Population:
    """A population whose models are ~0.75 accurate: 5 classes (priors 0.40 .. 0.03) or many
    (Zipf 0.6 with the last 2 % of classes 2x rarer still: ~10 samples in 50,000), per-class boost varying by ~0.4.
    Scores are float32 above 100 classes (as a large model's export would be).

    >>> p = make_population(5)
    >>> p.n_classes, round(float(p.priors.sum()), 6)
    (5, 1.0)
    """
    rng = np.random.default_rng(10_000 + seed)
    if n_classes <= 10:
        base = np.array([0.40, 0.27, 0.17, 0.10, 0.03, 0.02, 0.01, 0.01, 0.005, 0.005])
        priors = base[:n_classes] / base[:n_classes].sum()
        boost = 1.9 + rng.normal(0.0, 0.4, n_classes)
        sharpness = 1.6
    else:
        priors = 1.0 / np.arange(1, n_classes + 1) ** 0.6
        priors[-max(1, n_classes // 50) :] /= 2.0
        priors = rng.permutation(priors / priors.sum())
        boost = 4.1 + rng.normal(0.0, 0.4, n_classes)
        sharpness = 3.5
    dtype = np.float32 if n_classes > 100 else np.float64
    return Population(n_classes, priors, boost, sharpness, dtype=dtype)


def draw_labels(pop: Population, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` class indices drawn from the population's class frequencies."""
    return rng.choice(pop.n_classes, size=n, p=pop.priors)


def shared_noise(pop: Population, n: int, rng: np.random.Generator) -> np.ndarray:
    """The logit noise common to every model scored on one dataset of ``n`` samples."""
    return rng.standard_normal((n, pop.n_classes), dtype=np.float32)


def scores(
    pop: Population,
    y: np.ndarray,
    shared: np.ndarray | None,
    rng: np.random.Generator,
    *,
    delta: float = 0.0,
    jitter: float = 0.0,
    base: np.ndarray | None = None,
) -> np.ndarray:
    """One model's softmax scores on samples ``y``: own noise drawn from ``rng``, ``shared``
    noise (None: all its own), ``delta`` added to the true class's boost. With ``base`` (the
    logits-noise of another model, :func:`logit_noise`), the model is that one plus
    N(0, ``jitter``) per logit: the near-identical (FP32 / INT8) case."""
    n, c = len(y), pop.n_classes
    if base is not None:
        z = base + np.float32(jitter) * rng.standard_normal((n, c), dtype=np.float32)
    else:
        z = logit_noise(pop, len(y), shared, rng)
    return _softmax(pop, y, z, delta)


def logit_noise(
    pop: Population, n: int, shared: np.ndarray | None, rng: np.random.Generator
) -> np.ndarray:
    """The N(0, 1) logit noise of one model (share ``rho`` from ``shared`` when given)."""
    own = rng.standard_normal((n, pop.n_classes), dtype=np.float32)
    if shared is None:
        return own
    return np.float32(np.sqrt(pop.rho)) * shared + np.float32(np.sqrt(1 - pop.rho)) * own


def _softmax(pop: Population, y: np.ndarray, z: np.ndarray, delta: float) -> np.ndarray:
    logits = z.astype(np.float64, copy=True) if pop.dtype == np.float64 else z.copy()
    rows = np.arange(len(y))
    logits[rows, y] += (pop.boost[y] + delta).astype(logits.dtype)
    logits *= logits.dtype.type(pop.sharpness)
    logits -= logits.max(axis=1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=1, keepdims=True)
    return logits.astype(pop.dtype, copy=False)


def _pool(pop: Population, size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``size`` draws of what the C - 1 logits other than the true class contribute (all iid
    N(0, 1) given the true class): D = sum exp(a z), Q = sum exp(2 a z), M = max z, and one of
    them, Z1 (a non-true class's own logit), with a = sharpness."""
    a, k = pop.sharpness, pop.n_classes - 1
    out = {name: np.empty(size) for name in ("D", "Q", "M", "Z1")}
    step = max(1, 10_000_000 // k)
    for lo in range(0, size, step):
        z = rng.standard_normal((min(step, size - lo), k))
        e = np.exp(a * z)
        sl = slice(lo, lo + len(z))
        out["D"][sl] = e.sum(axis=1)
        out["Q"][sl] = (e * e).sum(axis=1)
        out["M"][sl] = z.max(axis=1)
        out["Z1"][sl] = z[:, 0]
    return out


def class_accuracy(pop: Population, boost: np.ndarray) -> np.ndarray:
    """P(argmax = true class | class c) = E[Phi(b_c + Z)^(C-1)], by quadrature on a fine grid."""
    from math import erf, sqrt

    z = np.linspace(-9.0, 9.0, 4001)
    phi = np.exp(-0.5 * z * z) / np.sqrt(2 * np.pi) * (z[1] - z[0])
    cdf = np.vectorize(lambda x: 0.5 * (1 + erf(x / sqrt(2))))
    out = np.empty(len(boost))
    for c, b in enumerate(boost):
        out[c] = float((phi * cdf(b + z) ** (pop.n_classes - 1)).sum())
    return out


def population_values(
    pop: Population,
    *,
    delta: float = 0.0,
    pool: int = 1_000_000,
    per_class: int = 20_000,
    negatives: int = 2_000_000,
    seed: int = 0,
) -> dict[str, float]:
    """The population value of each of :data:`POPULATION_KEYS` for a model with boost
    ``delta``. Counts are exact: the accuracy of each class by quadrature, and a wrong
    prediction is equally likely to be any other class (the other logits are exchangeable), so
    precision / recall / F1 follow. Score-based metrics from ``pool`` draws of the other logits
    (:func:`_pool`): ``per_class`` draws of the true class's score per class (log loss, Brier,
    ECE, the positives of AUC / AP) and ``negatives`` draws of a non-true class's score (the
    negatives of every class's AUC / AP, those of class j excluding samples of class j)."""
    rng = np.random.default_rng(20_000 + seed)
    c, a, pri = pop.n_classes, pop.sharpness, pop.priors
    boost = pop.boost + delta
    acc_c = class_accuracy(pop, boost)
    tp = pri * acc_c
    wrong = pri * (1 - acc_c)
    pred = tp + (wrong.sum() - wrong) / (c - 1)
    prec, rec = tp / pred, acc_c
    f1 = 2 * tp / (pred + pri)
    accuracy = float(tp.sum())
    draws = _pool(pop, pool, rng)
    eps = float(np.finfo(pop.dtype).eps)
    loss = brier = 0.0
    conf, hit = np.zeros(15), np.zeros(15)
    edges = np.linspace(0.0, 1.0, 16)
    positives = []
    for k in range(c):
        i = rng.integers(0, pool, per_class)
        z = rng.standard_normal(per_class)
        t = np.exp(a * (boost[k] + z))
        total = t + draws["D"][i]
        s = t / total
        correct = boost[k] + z > draws["M"][i]
        top = np.maximum(t, np.exp(a * draws["M"][i])) / total
        w = pri[k] / per_class
        loss += w * float(-np.log(np.clip(s, eps, 1 - eps)).sum())
        brier += w * float(((t * t + draws["Q"][i]) / total**2 - 2 * s + 1).sum())
        b = np.clip(np.searchsorted(edges, top, side="left") - 1, 0, 14)
        conf += w * np.bincount(b, weights=top, minlength=15)
        hit += w * np.bincount(b, weights=correct, minlength=15)
        positives.append(np.sort(s)[::-1])
    # negatives: a non-true class's score; its own logit z1 drawn half from N(0, 1) and half
    # from N(3, 1) and weighted back (importance sampling), so the upper tail that sets the
    # precision of rare classes is well measured
    nc = rng.choice(c, size=negatives, p=pri)
    i = rng.integers(0, pool, negatives)
    zt = rng.standard_normal(negatives)
    z1 = rng.standard_normal(negatives) + np.where(rng.random(negatives) < 0.5, 0.0, 3.0)
    w = 1.0 / (0.5 + 0.5 * np.exp(3.0 * z1 - 4.5))
    rest = draws["D"][i] - np.exp(a * draws["Z1"][i])  # the other C - 2 logits
    e1 = np.exp(a * z1)
    v = e1 / (np.exp(a * (boost[nc] + zt)) + e1 + rest)
    order = np.argsort(v)
    v_all = v[order]
    cw_all = np.concatenate(([0.0], np.cumsum(w[order])))
    by_class = np.lexsort((v, nc))
    starts = np.searchsorted(nc[by_class], np.arange(c + 1))
    auc, ap = np.empty(c), np.empty(c)
    for k in range(c):
        seg = by_class[starts[k] : starts[k + 1]]
        v_k = v[seg]
        cw_k = np.concatenate(([0.0], np.cumsum(w[seg])))
        n_neg = cw_all[-1] - cw_k[-1]
        p = positives[k]
        below = cw_all[np.searchsorted(v_all, p)] - cw_k[np.searchsorted(v_k, p)]
        auc[k] = float(below.mean() / n_neg)
        tpr = np.arange(1, len(p) + 1) / len(p)
        fpr = (n_neg - below) / n_neg
        ap[k] = float((pri[k] * tpr / (pri[k] * tpr + (1 - pri[k]) * fpr)).mean())
    return {
        "accuracy": accuracy,
        "macro_precision": float(prec.mean()),
        "macro_recall": float(rec.mean()),
        "macro_f1": float(f1.mean()),
        "micro_precision": accuracy,
        "micro_recall": accuracy,
        "micro_f1": accuracy,
        "weighted_precision": float((pri * prec).sum()),
        "weighted_recall": accuracy,
        "weighted_f1": float((pri * f1).sum()),
        "roc_auc_macro": float(auc.mean()),
        "average_precision_macro": float(ap.mean()),
        "log_loss": float(loss),
        "brier": float(brier) * (0.5 if c < 3 else 1.0),
        "ece": float(np.abs(hit - conf).sum()),
    }


# ------------------------------------------------------------------------------ detection
DET_CLASSES = 3
DET_FREQ = np.array([0.6, 0.3, 0.1])
DET_FOUND = np.array([0.9, 0.8, 0.7])  # probability that a ground-truth box is detected
_SIDE = 640.0


@dataclass(frozen=True)
class DetectionTruth:
    """Ground-truth boxes of ``n_images`` images: image index, class, xywh."""

    n_images: int
    image: np.ndarray
    label: np.ndarray
    box: np.ndarray


def detection_truth(n_images: int, rng: np.random.Generator) -> DetectionTruth:
    """1 + Poisson(2.5) boxes per image, classes 60 / 30 / 10 %, sides 16-220 px."""
    count = 1 + rng.poisson(2.5, n_images)
    image = np.repeat(np.arange(n_images), count)
    m = len(image)
    label = rng.choice(DET_CLASSES, size=m, p=DET_FREQ)
    wh = rng.uniform(16, 220, (m, 2))
    xy = rng.uniform(0, 1, (m, 2)) * (_SIDE - wh)
    return DetectionTruth(n_images, image, label, np.hstack([xy, wh]))


def detections(
    truth: DetectionTruth, rng: np.random.Generator, *, found: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """A detector's output on ``truth``: each box found with probability ``found[class]``
    (default :data:`DET_FOUND`) as a jittered box (8 % of its size per coordinate) whose score
    is the logistic of 1.5 + N(0, 1) - 4 * its jitter; 3 % of found boxes get a wrong class;
    plus Poisson(1.5) false boxes per image with scores logistic(N(-1, 1))."""
    found = DET_FOUND if found is None else found
    keep = rng.random(len(truth.label)) < found[truth.label]
    box = truth.box[keep]
    j = rng.normal(0.0, 0.08, (len(box), 4))
    moved = np.column_stack(
        [
            box[:, 0] + j[:, 0] * box[:, 2],
            box[:, 1] + j[:, 1] * box[:, 3],
            box[:, 2] * np.exp(j[:, 2]),
            box[:, 3] * np.exp(j[:, 3]),
        ]
    )
    score = 1 / (1 + np.exp(-(1.5 + rng.normal(0, 1, len(box)) - 4 * np.abs(j).sum(axis=1))))
    label = truth.label[keep].copy()
    wrong = rng.random(len(label)) < 0.03
    label[wrong] = (label[wrong] + rng.integers(1, DET_CLASSES, int(wrong.sum()))) % DET_CLASSES
    n_false = rng.poisson(1.5, truth.n_images)
    f_img = np.repeat(np.arange(truth.n_images), n_false)
    f_wh = rng.uniform(16, 220, (len(f_img), 2))
    f_xy = rng.uniform(0, 1, (len(f_img), 2)) * (_SIDE - f_wh)
    f_score = 1 / (1 + np.exp(-rng.normal(-1.0, 1.0, len(f_img))))
    f_label = rng.choice(DET_CLASSES, size=len(f_img), p=DET_FREQ)
    return {
        "image": np.concatenate([truth.image[keep], f_img]),
        "label": np.concatenate([label, f_label]),
        "box": np.vstack([moved, np.hstack([f_xy, f_wh])]),
        "score": np.concatenate([score, f_score]),
    }


def coco_truth(truth: DetectionTruth) -> dict[str, Any]:
    """``truth`` as a COCO ground-truth dict (image ids and category ids from 1)."""
    box = truth.box.tolist()
    return {
        "images": [
            {"id": i + 1, "file_name": f"{i}.jpg", "width": int(_SIDE), "height": int(_SIDE)}
            for i in range(truth.n_images)
        ],
        "categories": [{"id": k + 1, "name": f"class{k}"} for k in range(DET_CLASSES)],
        "annotations": [
            {
                "id": a + 1,
                "image_id": int(truth.image[a]) + 1,
                "category_id": int(truth.label[a]) + 1,
                "bbox": box[a],
                "area": float(box[a][2] * box[a][3]),
                "iscrowd": 0,
            }
            for a in range(len(box))
        ],
    }


def coco_detections(d: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """A detector's output as a COCO results list."""
    box, score = d["box"].tolist(), d["score"].tolist()
    image, label = d["image"].tolist(), d["label"].tolist()
    return [
        {"image_id": image[i] + 1, "category_id": label[i] + 1, "bbox": box[i], "score": score[i]}
        for i in range(len(score))
    ]
