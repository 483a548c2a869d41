"""The answer of ``GET /api/metrics``: the registry of metric names
(:mod:`assay.evaluation.metric_names`), described exactly."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from assay.server.answer_schemas import Exact, Task

Unit = Literal["fraction", "nats", "count", "score"]


class MetricName(Exact):
    key: str = Field(description="as in the results' summary, and in compare / leaderboard rows")
    label: str = Field(description="the words a sentence uses for it (verdicts, table heads)")
    higher_is_better: bool
    unit: Unit = Field(
        description="fraction: a share in [0, 1]; nats: log loss; count: boxes; score: no unit"
    )
    tasks: list[Task] = Field(description="the tasks it exists for")
    aliases: list[str] = Field(
        description="other names accepted for it (matched ignoring case, spaces, - and _, as the "
        "key and the label are)"
    )
    headline: bool = Field(
        description="one of the task's headline metrics: a comparison's rows, what a leaderboard "
        "ranks by and what `assay compare --fail-if-worse` takes (with a task; without, in any)"
    )


class MetricsPublic(Exact):
    task: Task | None = Field(description="the task asked for; null: every task")
    metrics: list[MetricName]
