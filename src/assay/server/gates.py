"""Concurrency gates for the costly routes (compare, leaderboard, thumbnails, model registration).

A :class:`Gate` runs at most ``workers`` computations at once in worker threads and lets at most
``queue`` more wait; beyond that a request is told to come back (:class:`Busy`: a 503 with
``Retry-After``) instead of adding to the memory in use. Identical requests (the same key) while
one is in flight share that one computation (single flight): twelve clients asking for the same
comparison cost one comparison. A computation whose requests all went away still finishes (a
thread cannot be stopped) and still holds its place until then, so the bound is on work, not on
connections. What a computation freed is given back to the system when it ends
(:func:`assay.server.heap.trim`).

The gate lives on the event loop: ``run`` is called from ``async`` routes only. (The example
runs its loop on a thread of its own: the thread that runs it may already run one.)

>>> import asyncio
>>> from concurrent.futures import ThreadPoolExecutor
>>> gate = Gate("demo", workers=1, queue=0)
>>> with ThreadPoolExecutor(1) as thread:
...     thread.submit(asyncio.run, gate.run(("k",), sum, [1, 2])).result()
3
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from starlette.concurrency import run_in_threadpool

from assay.server.heap import trim

T = TypeVar("T")

RETRY_AFTER_SECONDS = 2


class Busy(Exception):
    """Too many computations of a kind running and waiting (a 503 with ``Retry-After``)."""


class Gate:
    """At most ``workers`` computations running and ``queue`` waiting; identical keys share one."""

    def __init__(self, name: str, *, workers: int, queue: int) -> None:
        self.name = name
        self.workers = max(1, int(workers))
        self.queue = max(0, int(queue))
        self.admitted = 0  # computations running or waiting (changed on the event loop only)
        self._flights: dict[Hashable, asyncio.Task[Any]] = {}
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:  # a new loop (a test client's)
            self._slots, self._loop = asyncio.Semaphore(self.workers), loop
            self._flights.clear()
            self.admitted = 0
        return self._slots

    async def run(self, key: Hashable, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker thread, shared with identical in-flight requests; ``Busy``
        when ``workers + queue`` computations are already admitted."""
        slots = self._semaphore()
        flight = self._flights.get(key)
        if flight is None:
            if self.admitted >= self.workers + self.queue:
                raise Busy(
                    f"the server is busy with other {self.name} requests; "
                    f"try again in {RETRY_AFTER_SECONDS} s"
                )
            self.admitted += 1
            flight = asyncio.ensure_future(self._compute(key, slots, fn, args))
            flight.add_done_callback(_retrieve)
            self._flights[key] = flight
        result: T = await asyncio.shield(flight)
        return result

    async def _compute(
        self, key: Hashable, slots: asyncio.Semaphore, fn: Callable[..., T], args: tuple[Any, ...]
    ) -> T:
        try:
            async with slots:
                return await run_in_threadpool(_trimmed, fn, *args)
        finally:
            self.admitted -= 1
            if self._flights.get(key) is asyncio.current_task():
                del self._flights[key]


def _trimmed(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)``, then the heap's free pages given back (a computation here is large and
    short-lived: what it freed would otherwise stay resident in its thread's arena)."""
    try:
        return fn(*args)
    finally:
        trim()


def _retrieve(task: asyncio.Task[Any]) -> None:
    """Mark a flight's error as seen (its requests may all have gone away)."""
    if not task.cancelled():
        task.exception()


def gate_of(state: Any, name: str, workers: int, queue: int) -> Gate:
    """The gate called ``name`` kept in an app's ``state``, made on first use."""
    gates: dict[str, Gate] | None = getattr(state, "gates", None)
    if gates is None:
        gates = {}
        state.gates = gates
    gate = gates.get(name)
    if gate is None:
        gate = gates[name] = Gate(name, workers=workers, queue=queue)
    return gate
