"""Suite-wide settings: hypothesis runs derandomized in CI so a run is repeatable; under
``pytest -n N --dist loadfile`` (``make test``) a file's tests run in one worker and all the browser
tests in one; every test process has a default workspace of its own.

Tests that need a workspace make one under their ``tmp_path`` and name it (``ASSAY_HOME`` or
``Workspace(home)``); the default below only keeps one that forgets from writing into
``~/.assay``, or into a workspace another worker uses at the same time. ``tmp_path_factory`` is
already one folder per worker (``.../popen-gw0``), so nothing here needs ``worker_id``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

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

BROWSER = "tests/browser/"


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile``, but with all the browser tests in one work unit (one worker): they share
    one seeded workspace, one ``assay serve`` and one chromium (session fixtures), made once
    instead of once per worker. Other files are one unit each, as with plain ``loadfile``.

    (pytest-xdist's ``--dist loadgroup`` would do this with ``xdist_group`` marks, but xdist 3.8
    groups by setting ``item._nodeid``, which pytest 9.2 no longer reads: the groups are lost.)"""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class BrowserTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return BROWSER if nodeid.startswith(BROWSER) else super()._split_scope(nodeid)

    return BrowserTogether(config, log)


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
