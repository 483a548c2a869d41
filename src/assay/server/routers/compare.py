from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from assay.server.compare_schemas import ComparePublic, LeaderboardPublic
from assay.server.config import MAX_ID, Limits
from assay.server.deps import WorkspaceDep
from assay.server.gates import Gate, gate_of
from assay.server.responses import FastJSONResponse
from assay.server.schemas import Problem
from assay.service.comparisons import compare_stored, leaderboard_stored
from assay.store import Workspace

router = APIRouter(tags=["compare"])

CompareId = Annotated[int, Query(ge=1, le=MAX_ID)]
BUSY: dict[int | str, dict[str, Any]] = {
    503: {"model": Problem, "description": "too many comparisons running; see Retry-After"}
}


def _gate(request: Request) -> Gate:
    """Compare and leaderboard share one gate: both are bootstraps over whole evaluations."""
    limits: Limits = request.app.state.config.limits
    return gate_of(request.app.state, "comparison", limits.compare_workers, limits.compare_queue)


@router.get("/compare", response_model=ComparePublic, responses=BUSY)
async def compare(
    a: CompareId,
    b: CompareId,
    workspace: WorkspaceDep,
    request: Request,
    resamples: Annotated[
        int | None,
        Query(ge=50, le=2000, description="default 1000; 200 for detection"),
    ] = None,
    threshold_a: Annotated[float | None, Query(ge=0, le=1)] = None,
    threshold_b: Annotated[float | None, Query(ge=0, le=1)] = None,
    iou: Annotated[float | None, Query(ge=0.5, le=0.95, description="detection, both")] = None,
    score_a: Annotated[float | None, Query(allow_inf_nan=False, ge=-1e9, le=1e9)] = None,
    score_b: Annotated[float | None, Query(allow_inf_nan=False, ge=-1e9, le=1e9)] = None,
    intervals: Annotated[
        bool, Query(description="false: the quick answer, without the bootstrap")
    ] = True,
    margin: Annotated[
        float | None,
        Query(
            ge=0,
            le=100,
            allow_inf_nan=False,
            description="non-inferiority / equivalence margin: percentage points for metrics "
            "in points (accuracy, F1), the metric's units otherwise (mAP, AUC)",
        ),
    ] = None,
    margin_metrics: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=r"^[A-Za-z0-9_ .@:(),-]+$",
            description="comma-separated metrics the margin applies to (default: the primary)",
        ),
    ] = None,
) -> FastJSONResponse:
    """Evaluation B against A on the same dataset version: metric differences with paired
    intervals and p-values from one procedure per row (accuracy: Tango's score interval and
    McNemar's score test; the rest: the analytic standard error of the paired difference from
    every sample, DeLong's for ROC AUC, or with groups the group bootstrap's; detection: the
    paired bootstrap over images), verdicts Holm-adjusted
    across the headline rows, per-class recall with Holm's correction, the samples B fixed or broke, and both confusion matrices with
    their difference; for detection, AP per class and per IoU (bootstrap over images) and the
    images whose TP / FP / FN changed. 422 for evaluations of other data or tasks. Each evaluation is taken at its stored operating point unless
    ``threshold_a`` / ``threshold_b`` (classification) or ``iou``, ``score_a``, ``score_b``
    (detection) say otherwise; ``intervals=false`` answers at once without the bootstrap (the
    page asks for it first when a slider moves, then for the intervals). Answers are kept (a
    bounded cache); at most ``Limits.compare_workers`` run at once and ``compare_queue`` wait
    (identical requests share one computation), else a 503 with ``Retry-After``.

    Each row's interval and p come from one procedure (they agree); verdicts and ``significant``
    are Holm-adjusted across the headline rows (``family`` says which is the primary metric and
    its p alone). ``margin``: ``margin`` in the answer, non-inferiority and equivalence (TOST)
    of ``margin_metrics`` (default the primary), Holm across them; 422 for a metric the task's
    headline rows lack."""
    at_a = {"threshold": threshold_a, "iou": iou, "score": score_a}
    at_b = {"threshold": threshold_b, "iou": iou, "score": score_b}
    names = (
        None
        if margin_metrics is None
        else tuple(t.strip() for t in margin_metrics.split(",") if t.strip()) or None
    )
    memo = request.app.state.compare_memo
    key = (a, b, resamples, intervals, *at_a.values(), *at_b.values(), margin, names)
    answer: dict[str, Any] | None = memo.get(key)
    if answer is None:

        def work() -> dict[str, Any]:
            kept: dict[str, Any] | None = memo.get(key)  # a flight that just ended kept it
            if kept is not None:
                return kept
            made = _with_texts(
                workspace,
                compare_stored(
                    workspace,
                    a,
                    b,
                    n=resamples,
                    seed=0,
                    at_a=at_a,
                    at_b=at_b,
                    intervals=intervals,
                    margin=margin,
                    margin_metrics=names,
                ),  # fmt: skip
            )
            memo[key] = made
            return made

        answer = await _gate(request).run(key, work)
    return FastJSONResponse(answer)


SAMPLE_LISTS = ("fixed_samples", "broken_samples", "largest_confidence_changes")


def _with_texts(workspace: Workspace, answer: dict[str, Any]) -> dict[str, Any]:
    """A classification answer whose sample rows carry their text, as the evaluations' feed
    items do (text datasets); the rows are copied, never changed in place."""
    disagreements = answer.get("disagreements")
    if answer.get("task") == "detection" or not isinstance(disagreements, dict):
        return answer
    table = workspace.samples_table(int(answer["dataset_version"]["id"]))
    if "text" not in table.column_names:
        return answer
    column, n = table.column("text"), table.num_rows

    def text(row: dict[str, Any]) -> dict[str, Any]:
        i = int(row["index"])
        return {**row, "text": column[i].as_py() if 0 <= i < n else None}

    rows = {k: [text(r) for r in disagreements[k]] for k in SAMPLE_LISTS if k in disagreements}
    return {**answer, "disagreements": {**disagreements, **rows}}


@router.get("/leaderboard", response_model=LeaderboardPublic, responses=BUSY)
async def leaderboard(
    dataset_version: CompareId,
    workspace: WorkspaceDep,
    request: Request,
    metric: Annotated[
        str | None,
        Query(
            max_length=40,
            pattern=r"^[A-Za-z0-9_ .@:()-]+$",
            description="a metric's key, label or alias, any case (see /api/metrics)",
        ),
    ] = None,
    resamples: Annotated[
        int | None,
        Query(ge=50, le=2000, description="default 1000; 200 for detection"),
    ] = None,
) -> FastJSONResponse:
    """Every completed evaluation of a dataset version ranked by ``metric`` (default accuracy;
    AP for detection), each with its 95 % interval, its plausible ranks and its difference from
    the best of the others, all from one max-T bootstrap over every pair (simultaneous: on
    simulated boards of equal classifiers "significantly worse" fired on 4.9-5.7 % of boards, of
    equal detectors at 150 images on 5.7 % (5 models) and 6.8 % (10 models),
    ``benchmarks/leaderboard_simulation.py``; ``procedure`` says so, and the winner's ``simultaneous_low`` / ``simultaneous_high`` account for its
    selection). ``metric`` is any name of
    ``GET /api/metrics`` (``mAP``, ``f1``, ``Accuracy``); the answer names it by its key. 422,
    listing the accepted names, for a metric the task's leaderboard does not have. Kept
    (bounded) per query and the evaluations it ranked; gated as compare is (503 when busy)."""
    records = await run_in_threadpool(workspace.list_evaluations)
    ids = tuple(
        r.id for r in records if r.dataset_version.id == dataset_version and r.status == "done"
    )
    memo = request.app.state.compare_memo
    key = ("leaderboard", dataset_version, metric, resamples, ids)
    answer: dict[str, Any] | None = memo.get(key)
    if answer is None:

        def work() -> dict[str, Any]:
            kept: dict[str, Any] | None = memo.get(key)
            if kept is not None:
                return kept
            made = leaderboard_stored(workspace, dataset_version, metric, n=resamples)
            memo[key] = made
            return made

        answer = await _gate(request).run(key, work)
    return FastJSONResponse(answer)
