"""The warm-up that `make setup` runs: every task's queries on tiny inputs, without an error."""

from __future__ import annotations

import math

from assay.warmup import warm_up


def test_warm_up_runs_every_task_once() -> None:
    seconds = warm_up()
    assert math.isfinite(seconds) and seconds >= 0
