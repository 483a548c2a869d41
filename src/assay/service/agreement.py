"""Agreement of two stored runs on one dataset version, labels ignored: what the CLI's
``assay compare`` gives for two prediction files without annotations
(:mod:`assay.evaluation.compare.agreement`), for two evaluations in the workspace, plus the
per-sample table behind it.

Classification (single-label): top-1 agreement (share of samples whose argmax class is the same)
with its Wilson interval, Cohen's kappa, the flip matrix (rows: A's top class, columns: B's),
the mean absolute change of the score of A's top class; per sample: each model's top class and
its score, the rank of A's class among B's scores (1: B's top class too), the change of that
class's score (B minus A) and the total-variation distance between the two score rows (0: the
same, 1: disjoint).

Multi-label: each class predicted where its score >= a threshold (0.5 unless given): per class
the samples both, only A, only B or neither predict it, its agreement and kappa; the share of
samples whose label set is the same, and the labels B gains and loses.

Detection: B's boxes matched to A's per image at an IoU (class-agnostic, greedy by B's score):
matched pairs of one class agree, of two classes are class flips, the rest are only A's or only
B's; per image the same counts and both models' boxes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from assay.caches import LRU
from assay.errors import InputError, ParameterError
from assay.store.records import PREDICTIONS_STATUS
from assay.store.workspace import Workspace

__all__ = [
    "AGREEMENT_SORTS",
    "agreement_image",
    "agreement_sample",
    "agreement_samples",
    "agreement_stored",
]

AGREEMENT_SORTS = ("distance", "confidence_a", "confidence_b", "change", "rank", "index")
MAX_PAGE = 500

# per (workspace, A, B): the per-sample arrays of a classification pair (a stored evaluation
# never changes, and an id is never reused). Few: a pair holds both score tables (B's a copy
# only where its rows or columns are in another order than A's).
_PAIRS: LRU[tuple[str, int, int], dict[str, Any]] = LRU(2)


def _records(ws: Workspace, a_id: int, b_id: int) -> tuple[Any, Any]:
    if a_id == b_id:
        raise InputError(f"A and B are the same evaluation ({a_id}); name two runs")
    ra, rb = ws.get_evaluation(a_id), ws.get_evaluation(b_id)
    if ra.dataset_version.id != rb.dataset_version.id:
        raise InputError(
            f"evaluation {a_id} ran on dataset version {ra.dataset_version.id} and {b_id} on "
            f"{rb.dataset_version.id}: agreement needs two runs on the same data"
        )
    family = {"classification": "classification", "detection": "detection",
              "multilabel": "multilabel"}  # fmt: skip
    fa, fb = family.get(ra.task), family.get(rb.task)
    if fa is None or fb is None:
        which = a_id if fa is None else b_id
        task = ra.task if fa is None else rb.task
        raise InputError(
            f"evaluation {which} is {task}: agreement is for classification (single- or "
            "multi-label) and detection"
        )
    if fa != fb:
        raise InputError(f"evaluation {a_id} is {ra.task} and {b_id} is {rb.task}")
    return ra, rb


def _head(ra: Any, rb: Any) -> dict[str, Any]:
    dv = ra.dataset_version

    def run(r: Any) -> dict[str, Any]:
        mv = r.model_version
        model = None if mv is None else f"{mv.model_name}:{mv.version}"
        return {"id": r.id, "name": r.name, "model": model}

    return {
        "a": run(ra),
        "b": run(rb),
        "dataset_version": {"id": dv.id, "dataset": dv.dataset_name, "version": dv.version},
    }


def _ids(results: Any) -> list[str]:
    ids = results.sample_ids
    return (
        [str(i) for i in range(results.n_samples)]
        if ids is None
        else [str(i) for i in np.asarray(ids).tolist()]
    )


def _image_names(results: Any) -> list[str]:
    """A detection result's image ids as the answer names them (a prediction run's: the
    samples' ids)."""
    names = getattr(results, "image_names", None)
    if names is not None:
        return list(names)
    return [str(int(i)) for i in results.gt.image_ids]


def _size(ws: Workspace, results: Any, dataset_version_id: int, index: int) -> tuple[int, int]:
    """Image ``index``'s width and height: the ground truth's, else read from its file's
    header (a prediction run does not record them); (0, 0) when neither says."""
    gt = results.gt
    width, height = int(gt.widths[index]), int(gt.heights[index])
    if width > 0 and height > 0:
        return width, height
    try:
        from PIL import Image

        path = ws.media_path(dataset_version_id, index)
        if path is None:
            return 0, 0
        with Image.open(path) as im:
            return int(im.width), int(im.height)
    except Exception:  # a moved or unreadable file: the page draws at the image's own size
        return 0, 0


def _loaded(ws: Workspace, evaluation_id: int) -> Any:
    """The stored results (typed loosely: classification's or detection's attributes are read
    after the task is checked); a prediction run's (no labels) from its stored scores."""
    if ws.get_evaluation(evaluation_id).status == PREDICTIONS_STATUS:
        from assay.service.unlabeled import prediction_scores

        return prediction_scores(ws, evaluation_id)
    return ws.load_results(evaluation_id)


def _pair(ws: Workspace, a_id: int, b_id: int) -> dict[str, Any]:
    """The per-sample arrays of two single-label runs (B's rows and columns put in A's order)."""
    key = (str(ws.home), a_id, b_id)
    kept = _PAIRS.get(key)
    if kept is not None:
        return kept
    _records(ws, a_id, b_id)
    res_a, res_b = _loaded(ws, a_id), _loaded(ws, b_id)
    if res_a.task != "classification" or res_b.task != "classification":
        raise InputError(
            "the per-sample agreement table is for single-label classification (detection: "
            "each image's boxes; multi-label: the changed samples in the summary)"
        )
    classes = list(res_a.classes)
    if set(classes) != set(res_b.classes):
        only = sorted(set(classes) ^ set(res_b.classes))[:3]
        raise InputError(f"the two runs have different classes (e.g. {', '.join(only)})")
    ids_a, ids_b = _ids(res_a), _ids(res_b)
    where = {s: k for k, s in enumerate(ids_b)}
    if len(ids_a) != len(ids_b) or any(s not in where for s in ids_a):
        raise InputError("the two runs hold other samples: agreement needs the same samples")
    rows = np.fromiter((where[s] for s in ids_a), np.int64, len(ids_a))
    cols = np.array([list(res_b.classes).index(c) for c in classes], np.int64)
    sa = np.asarray(res_a.y_score, np.float64)
    sb = np.asarray(res_b.y_score, np.float64)
    if not np.array_equal(rows, np.arange(len(rows))):
        sb = sb[rows]
    if not np.array_equal(cols, np.arange(len(cols))):
        sb = sb[:, cols]
    m = len(sa)
    pa, pb = sa.argmax(axis=1), sb.argmax(axis=1)
    at = np.arange(m)
    b_of_a = sb[at, pa]
    # rank of A's class among B's scores: 1 + those above it + equal ones earlier in the order
    # (an argmax tie goes to the first class), so rank 1 exactly when B's top class is A's
    above = (sb > b_of_a[:, None]).sum(axis=1)
    tied = ((sb == b_of_a[:, None]) & (np.arange(len(classes))[None, :] < pa[:, None])).sum(axis=1)
    pair = {
        "classes": classes,
        "ids": ids_a,
        "scores_a": sa,
        "scores_b": sb,
        "pred_a": pa,
        "pred_b": pb,
        "conf_a": sa[at, pa],
        "conf_b": sb[at, pb],
        "b_of_a": b_of_a,
        "rank": 1 + above + tied,
        "distance": 0.5 * np.abs(sa - sb).sum(axis=1),
    }
    _PAIRS[key] = pair
    return pair


def agreement_stored(
    ws: Workspace,
    a_id: int,
    b_id: int,
    *,
    iou: float = 0.5,
    score: float = 0.0,
    level: float = 0.95,
    threshold: float = 0.5,
) -> dict[str, Any]:
    """Agreement of stored runs A and B on one dataset version, their labels ignored (so any two
    runs on the same data qualify). Classification: the answer of
    :func:`~assay.evaluation.compare.agreement.classification_agreement` (agreement with its
    ``level`` Wilson interval, kappa, flip matrix, mean absolute
    confidence change, per-class shares); detection: that of
    :func:`~assay.evaluation.compare.agreement.box_agreement` at ``iou`` with boxes from
    confidence ``score``; multi-label: that of
    :func:`~assay.evaluation.compare.agreement.multilabel_agreement` at ``threshold``. Each
    carries ``a``, ``b`` (id, name, model) and ``dataset_version``."""
    from assay.evaluation.compare.agreement import box_agreement, classification_agreement

    ra, rb = _records(ws, a_id, b_id)
    if ra.task == "multilabel":
        from assay.evaluation.compare.agreement import multilabel_agreement

        res_a, res_b = _loaded(ws, a_id), _loaded(ws, b_id)
        out = multilabel_agreement(
            _ids(res_a), list(res_a.classes), res_a.y_score,
            _ids(res_b), list(res_b.classes), res_b.y_score,
            threshold=threshold, level=level,
        )  # fmt: skip
        return {**_head(ra, rb), **out}
    if ra.task == "detection":
        res_a, res_b = _loaded(ws, a_id), _loaded(ws, b_id)
        ga, gb = res_a.gt, res_b.gt
        if list(ga.classes) != list(gb.classes) or not np.array_equal(ga.image_ids, gb.image_ids):
            raise InputError("the two runs hold other images or classes")
        ids = _image_names(res_a)
        out = box_agreement(list(ga.classes), ids, res_a.dt, res_b.dt, iou=iou, score=score)
        where = {s: k for k, s in enumerate(ids)}
        for row in out["most_changed"]:
            row["index"] = where[row["id"]]  # the image's place in the dataset version
        return {**_head(ra, rb), **out}
    p = _pair(ws, a_id, b_id)
    out = classification_agreement(
        p["ids"],
        p["classes"],
        p["scores_a"],
        p["ids"],
        p["classes"],
        p["scores_b"],
        level=level,
    )
    out["mean_confidence_change"] = float((p["b_of_a"] - p["conf_a"]).mean())
    return {**_head(ra, rb), **out}


def agreement_samples(
    ws: Workspace,
    a_id: int,
    b_id: int,
    *,
    predicted_a: str | None = None,
    predicted_b: str | None = None,
    changed: bool | None = None,
    search: str | None = None,
    sort: str = "distance",
    descending: bool = True,
    offset: int = 0,
    limit: int = 50,
) -> dict[str, Any]:
    """The per-sample table of two single-label runs: filtered (A's top class ``predicted_a``,
    B's ``predicted_b``, so both together select one cell of the flip matrix; ``changed``: only
    the samples whose top class differs (True) or is the same (False); ``search``: ids
    containing it), sorted by ``sort`` (one of :data:`AGREEMENT_SORTS`; ties by index) and paged.
    Each row: index, id, predicted_a / confidence_a (A's top class and its score), predicted_b /
    confidence_b, rank (of A's class among B's scores, 1 = B's top), change (B's score of A's
    class minus A's), distance (total variation between the score rows, 0 to 1)."""
    if sort not in AGREEMENT_SORTS:
        raise ParameterError(f"sort: must be one of {', '.join(AGREEMENT_SORTS)}, got {sort!r}")
    if offset < 0 or not 0 < limit <= MAX_PAGE:
        raise ParameterError(f"offset must be >= 0 and limit in 1..{MAX_PAGE}")
    p = _pair(ws, a_id, b_id)
    classes = p["classes"]
    keep = np.ones(len(p["ids"]), bool)
    for name, value, column in (
        ("predicted_a", predicted_a, p["pred_a"]),
        ("predicted_b", predicted_b, p["pred_b"]),
    ):
        if value is not None:
            if value not in classes:
                raise ParameterError(f"{name}: no class {value!r} in these runs")
            keep &= column == classes.index(value)
    if changed is not None:
        keep &= (p["pred_a"] != p["pred_b"]) == changed
    if search:
        needle = search.lower()
        keep &= np.fromiter((needle in s.lower() for s in p["ids"]), bool, len(p["ids"]))
    chosen = np.flatnonzero(keep)
    key = {
        "distance": p["distance"],
        "confidence_a": p["conf_a"],
        "confidence_b": p["conf_b"],
        "change": p["b_of_a"] - p["conf_a"],
        "rank": p["rank"].astype(np.float64),
        "index": np.arange(len(p["ids"]), dtype=np.float64),
    }[sort][chosen]
    order = chosen[np.lexsort((chosen, -key if descending else key))]
    page = order[offset : offset + limit]
    return {
        "total": int(len(chosen)),
        "offset": offset,
        "limit": limit,
        "sort": sort,
        "descending": descending,
        "items": [_row(p, int(i)) for i in page],
    }


def _row(p: dict[str, Any], i: int) -> dict[str, Any]:
    classes = p["classes"]
    return {
        "index": i,
        "id": p["ids"][i],
        "predicted_a": classes[int(p["pred_a"][i])],
        "confidence_a": float(p["conf_a"][i]),
        "predicted_b": classes[int(p["pred_b"][i])],
        "confidence_b": float(p["conf_b"][i]),
        "rank": int(p["rank"][i]),
        "change": float(p["b_of_a"][i] - p["conf_a"][i]),
        "distance": float(p["distance"][i]),
    }


def agreement_sample(ws: Workspace, a_id: int, b_id: int, index: int) -> dict[str, Any]:
    """One row of :func:`agreement_samples` with both models' scores of every class
    (``scores``: [{label, a, b}], in A's class order, highest of A first)."""
    p = _pair(ws, a_id, b_id)
    if not 0 <= index < len(p["ids"]):
        raise ParameterError(f"index must be in 0..{len(p['ids']) - 1}, got {index}")
    sa, sb = p["scores_a"][index], p["scores_b"][index]
    order = np.lexsort((np.arange(len(sa)), -sa))
    scores = [
        {"label": p["classes"][k], "a": float(sa[k]), "b": float(sb[k])} for k in order.tolist()
    ]
    return {**_row(p, index), "scores": scores}


def agreement_image(
    ws: Workspace, a_id: int, b_id: int, index: int, *, iou: float = 0.5, score: float = 0.0
) -> dict[str, Any]:
    """Both detectors' boxes on image ``index`` of their dataset version, matched as
    :func:`agreement_stored` matches them: ``boxes_a`` / ``boxes_b`` [{box (x, y, w, h), label,
    score, status: agreed | flip | only_a | only_b, partner (the other model's box, by position
    in its list, or None), iou}], and the image's counts."""
    from assay.evaluation.compare.agreement import box_matches

    ra, _ = _records(ws, a_id, b_id)
    if ra.task != "detection":
        raise InputError("boxes are for detection runs; this pair is classification")
    res_a, res_b = _loaded(ws, a_id), _loaded(ws, b_id)
    gt = res_a.gt
    n_img = len(gt.image_ids)
    if not 0 <= index < n_img:
        raise ParameterError(f"index must be in 0..{n_img - 1}, got {index}")
    da, db = res_a.dt, res_b.dt
    mt = box_matches(n_img, da, db, iou=iou, score=score)
    on_a = np.flatnonzero(mt["image_a"] == index)
    on_b = np.flatnonzero(mt["image_b"] == index)
    pos_a = {int(k): j for j, k in enumerate(on_a)}
    pos_b = {int(k): j for j, k in enumerate(on_b)}
    lab_a, lab_b = da.labels[mt["a"]], db.labels[mt["b"]]

    def box(d: Any, k: int, label: int, partner: int, same: bool, mine: str) -> dict[str, Any]:
        status = mine if partner < 0 else ("agreed" if same else "flip")
        return {
            "box": [float(v) for v in d.boxes[k]],
            "label": gt.classes[label],
            "score": float(d.scores[k]),
            "status": status,
            "partner": None if partner < 0 else partner,
        }

    boxes_a = []
    for k in on_a.tolist():
        j = int(mt["partner_a"][k])
        same = j >= 0 and lab_a[k] == lab_b[j]
        boxes_a.append(
            box(da, int(mt["a"][k]), int(lab_a[k]), pos_b.get(j, -1), bool(same), "only_a")
        )
    boxes_b = []
    for k in on_b.tolist():
        j = int(mt["partner_b"][k])
        same = j >= 0 and lab_b[k] == lab_a[j]
        item = box(db, int(mt["b"][k]), int(lab_b[k]), pos_a.get(j, -1), bool(same), "only_b")
        item["iou"] = float(mt["iou_b"][k]) if j >= 0 else None
        boxes_b.append(item)
    counts = {s: 0 for s in ("agreed", "flip", "only_a", "only_b")}
    for item in boxes_a + boxes_b:
        counts[item["status"]] += 1
    counts["agreed"] //= 2
    counts["flip"] //= 2
    width, height = _size(ws, res_a, ra.dataset_version.id, index)
    return {
        "index": index,
        "id": _image_names(res_a)[index],
        "width": width,
        "height": height,
        "iou": iou,
        "score": score,
        "boxes_a": boxes_a,
        "boxes_b": boxes_b,
        "counts": counts,
    }
