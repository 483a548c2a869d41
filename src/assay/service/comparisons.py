"""Comparisons of stored evaluations: the two must share a dataset version and a task; each is
taken at its stored threshold (:func:`assay.evaluation.compare.compare_classification`)."""

from __future__ import annotations

from typing import Any

from assay.store.workspace import Workspace


def compare_stored(
    ws: Workspace,
    a_id: int,
    b_id: int,
    *,
    n: int | None = None,
    seed: int = 0,
    at_a: dict[str, float | None] | None = None,
    at_b: dict[str, float | None] | None = None,
    intervals: bool = True,
    margin: float | None = None,
    margin_metrics: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """Compare two stored evaluations at their stored operating points (threshold; IoU and
    confidence for detection), or at the fields ``at_a`` / ``at_b`` give instead; they must
    share a dataset version. ``intervals=False``: the quick answer without the bootstrap.
    ``margin`` / ``margin_metrics``: non-inferiority and equivalence at that margin (points for
    metrics in points), as :func:`assay.evaluation.compare.compare` takes them."""
    from assay.errors import InputError
    from assay.evaluation.compare import compare

    if a_id == b_id:
        raise InputError(f"A and B are the same evaluation ({a_id}); name two evaluations")
    ra, rb = ws.get_evaluation(a_id), ws.get_evaluation(b_id)
    if ra.dataset_version.id != rb.dataset_version.id:
        raise InputError(
            f"evaluation {a_id} is on dataset version {ra.dataset_version.id} "
            f"({ra.dataset_version.dataset_name} {ra.dataset_version.version}) and {b_id} on "
            f"{rb.dataset_version.id} ({rb.dataset_version.dataset_name} "
            f"{rb.dataset_version.version}): compare evaluations of the same data"
        )
    if ra.task != rb.task:
        raise InputError(f"evaluation {a_id} is {ra.task} and {b_id} is {rb.task}")
    results = {a_id: ws.load_results(a_id), b_id: ws.load_results(b_id)}
    if intervals:
        for evaluation_id, r in results.items():
            _reuse_influence(ws, evaluation_id, r)
    out = compare(
        results[a_id],
        results[b_id],
        at_a=stored_point(ws, a_id, at_a),
        at_b=stored_point(ws, b_id, at_b),
        intervals=intervals,
        n=n,
        seed=seed,
        margin=margin,
        margin_metrics=margin_metrics,
    )
    for evaluation_id, r in results.items():
        _keep_influence(ws, evaluation_id, r)
    dv = ra.dataset_version
    return {
        "a": {"id": a_id, "name": ra.name},
        "b": {"id": b_id, "name": rb.name},
        "dataset_version": {"id": dv.id, "dataset": dv.dataset_name, "version": dv.version},
        **out,
    }


def _single_label(r: Any) -> bool:
    from assay.evaluation.classification import ClassificationResults

    return isinstance(r, ClassificationResults) and not r.multilabel


def _reuse_influence(ws: Workspace, evaluation_id: int, r: Any) -> None:
    """Give a single-label evaluation's results its per-sample ranking influences stored by an
    earlier comparison (:mod:`assay.store.comparisons`), unless it has them already."""
    from assay.evaluation.compare.classification import (
        keep_ranking_influence,
        kept_ranking_influence,
    )
    from assay.store.comparisons import read_influence

    if not _single_label(r) or kept_ranking_influence(r) is not None:
        return
    stored = read_influence(ws, evaluation_id, r.y_score.shape)
    if stored is not None:
        keep_ranking_influence(r, stored)
        r.memo("influence_stored", 1)["stored"] = True


# the fewest scores (samples x classes) whose ranking influences are stored: below, computing
# them again costs less than a tenth of a second
STORE_INFLUENCE_SCORES = 1_000_000


def _keep_influence(ws: Workspace, evaluation_id: int, r: Any) -> None:
    """Store a single-label evaluation's per-sample ranking influences beside it once a
    comparison has computed them (once per evaluation, from ``STORE_INFLUENCE_SCORES`` scores:
    later comparisons, in any process, read them instead of sweeping its scores again)."""
    from assay.evaluation.compare.classification import kept_ranking_influence
    from assay.store.comparisons import write_influence

    if not _single_label(r) or r.y_score.size < STORE_INFLUENCE_SCORES:
        return
    done = r.memo("influence_stored", 1)
    if done.get("stored"):
        return
    got = kept_ranking_influence(r)
    if got is not None:
        write_influence(ws, evaluation_id, r.y_score.shape, got)
        done["stored"] = True


def stored_point(
    ws: Workspace, evaluation_id: int, given: dict[str, float | None] | None = None
) -> Any:
    """The operating point of a stored evaluation: the fields ``given`` names, the rest from the
    point it was stored with (a detection stored without a confidence: the F1-optimal one at the
    IoU). The one way every surface reads it."""
    from assay.evaluation.results import OperatingPoint

    at = OperatingPoint(**{k: v for k, v in (given or {}).items() if v is not None})
    return ws.load_results(evaluation_id).point(at)


def leaderboard_stored(
    ws: Workspace,
    dataset_version_id: int,
    metric: str | None = None,
    *,
    n: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """The leaderboard (:func:`assay.evaluation.compare.leaderboard.leaderboard`) of every completed
    evaluation of a dataset version, each at its stored operating point; rows carry the
    evaluation's id, name and model version."""
    from assay.errors import InputError
    from assay.evaluation.compare.leaderboard import leaderboard

    dv = ws.get_dataset_version(dataset_version_id)
    records = [
        r
        for r in ws.list_evaluations()
        if r.dataset_version.id == dataset_version_id and r.status == "done"
    ]
    if not records:
        from assay.service.unlabeled import is_unlabeled

        if is_unlabeled(ws, dataset_version_id):
            raise InputError(
                f"dataset version {dataset_version_id} ({dv.dataset_name} {dv.version}) has no "
                "labels, so no metrics to rank: compare its runs with agreement"
            )
        raise InputError(
            f"dataset version {dataset_version_id} ({dv.dataset_name} {dv.version}) has no "
            "completed evaluation"
        )
    entries = [(r.id, r.name, ws.load_results(r.id), stored_point(ws, r.id)) for r in records]
    board = leaderboard(entries, metric, n=n, seed=seed)
    models = {r.id: r.model_version for r in records}
    for row in board["rows"]:
        mv = models[row["key"]]
        row["id"] = row.pop("key")
        row["model"] = None if mv is None else f"{mv.model_name}:{mv.version}"
    return {
        "dataset_version": {
            "id": dv.id,
            "dataset": dv.dataset_name,
            "version": dv.version,
        },
        **board,
    }
