"""``GET /api/metrics``: the registry of metric names, the one list of keys, labels, directions
and units that compare, the leaderboard and the CLI's gate use."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from assay.evaluation.metric_names import HEADLINE, metrics
from assay.server.answer_schemas import Task
from assay.server.metric_schemas import MetricName, MetricsPublic

router = APIRouter(tags=["metrics"])


@router.get("/metrics")
def list_metrics(
    task: Annotated[Task | None, Query(description="only this task's metrics")] = None,
) -> MetricsPublic:
    """Every metric name Assay accepts (of one task, or of all): key, label, which way is
    better, unit, the tasks it exists for and its aliases. A name is accepted wherever a metric
    is asked for (``/api/leaderboard?metric=``, ``assay compare --fail-if-worse``,
    ``assay leaderboard --metric``) as its key, its label or an alias, in any case."""
    return MetricsPublic(
        task=task,
        metrics=[
            MetricName(
                key=m.key,
                label=m.label,
                higher_is_better=m.higher_is_better,
                unit=m.unit,  # type: ignore[arg-type]
                tasks=list(m.tasks),  # type: ignore[arg-type]
                aliases=list(m.aliases),
                headline=any(m.key in HEADLINE[t] for t in ([task] if task else m.tasks)),
            )
            for m in metrics(task)
        ],
    )
