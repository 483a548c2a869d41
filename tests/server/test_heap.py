"""The server's C heap: arenas capped unless the operator chose, free pages given back after
each gated computation (even one that failed)."""

from __future__ import annotations

import asyncio
import sys
import threading

import pytest

from assay.server import gates, heap
from assay.server.gates import Gate


def test_the_operator_s_malloc_arena_max_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "8")
    assert heap.limit_arenas() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc only")
def test_arenas_are_capped_on_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    if heap._libc is None:
        pytest.skip("not glibc")
    assert heap.limit_arenas() is True
    heap.trim()  # callable, returns


def test_a_gated_computation_trims_the_heap_in_its_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    trimmed: list[int] = []
    monkeypatch.setattr(gates, "trim", lambda: trimmed.append(threading.get_ident()))
    ran: list[int] = []

    def work(fail: bool) -> int:
        ran.append(threading.get_ident())
        if fail:
            raise ValueError("failed")
        return 1

    async def go() -> None:
        gate = Gate("demo", workers=1, queue=1)
        assert await gate.run("a", work, False) == 1
        with pytest.raises(ValueError):
            await gate.run("b", work, True)

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:  # a browser test may hold the main loop
        pool.submit(asyncio.run, go()).result()
    assert trimmed == ran and len(ran) == 2
