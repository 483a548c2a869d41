"""Suite-wide settings: hypothesis runs derandomized in CI so a run is repeatable, and every test
process (each ``pytest -n`` worker: ``make test`` runs them in parallel) has a default workspace of
its own.

Tests that need a workspace make one under their ``tmp_path`` and name it (``ASSAY_HOME`` or
``Workspace(home)``); the default below only keeps one that forgets from writing into
``~/.assay``, or into a workspace another worker uses at the same time. ``tmp_path_factory`` is
already one folder per worker (``.../popen-gw0``), so nothing here needs ``worker_id``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")


@pytest.fixture(scope="session", autouse=True)
def _own_default_workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """``ASSAY_HOME`` for this test process: an empty folder of its own (restored at the end)."""
    before = os.environ.get("ASSAY_HOME")
    os.environ["ASSAY_HOME"] = str(tmp_path_factory.mktemp("assay-default-home"))
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("ASSAY_HOME", None)
        else:
            os.environ["ASSAY_HOME"] = before
