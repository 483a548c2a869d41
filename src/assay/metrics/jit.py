"""``small_first``: a numba kernel that runs as plain Python on small inputs until it is compiled.

numba compiles a kernel the first time it is called (one to three seconds for a parallel kernel
on two cores) and caches the machine code; a first ``assay evaluate`` of 1,000 rows after a fresh
install would spend 15-30 s compiling the ten kernels it touches. A kernel decorated with
``@small_first(cache=True, parallel=True)`` instead runs its own Python source (``py_func``: the
same statements, so the same numbers; ``prange`` is ``range`` outside numba) while

- its inputs are small (the largest array argument holds at most :data:`SMALL` elements), and
- this process has not compiled or loaded it yet (then the machine code is used at any size).

A larger input compiles it (or loads it from numba's cache) as before. The Python answer is the
compiled one: scalars come back as Python ``int`` / ``float`` / ``bool`` as numba boxes them
(tests/metrics/testjit.py checks every wrapped kernel's two paths for equality).
``python -m assay.warmup`` calls :func:`compile_always` to fill the cache at install time.

>>> @small_first(cache=False)
... def total(x):
...     s = 0.0
...     for i in range(x.shape[0]):
...         s += x[i]
...     return s
>>> total(np.arange(4.0)), total.compiled
(6.0, False)
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["SMALL", "compile_always", "small_first", "SmallFirst"]

#: The largest array argument (elements) a not-yet-compiled kernel runs in Python for: a 1,000-row
#: evaluation of up to 65 classes (a pass of pure Python over it takes tens of milliseconds, a
#: compile seconds).
SMALL = 65_536

_settings = {"small": SMALL}


def compile_always(on: bool = True) -> None:
    """Compile every ``small_first`` kernel at its first call whatever the size (``on=False``:
    back to Python for small inputs). The warm-up uses it to fill numba's cache."""
    _settings["small"] = -1 if on else SMALL


def _py_scalar(value: Any) -> Any:
    """numpy scalars as the Python ``int`` / ``float`` / ``bool`` numba returns; tuples through."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return tuple(_py_scalar(v) for v in value)
    return value


class SmallFirst:
    """A numba dispatcher that answers small inputs in Python until it has machine code."""

    def __init__(self, py_func: Callable[..., Any], options: dict[str, Any]) -> None:
        functools.update_wrapper(self, py_func)
        self.py_func = py_func
        self._options = options
        self._dispatcher: Any = None
        self._lock = threading.Lock()

    @property
    def dispatcher(self) -> Any:
        """The numba dispatcher (made, not compiled, on first use: importing this is cheap)."""
        with self._lock:
            if self._dispatcher is None:
                from numba import njit

                self._dispatcher = njit(**self._options)(self.py_func)
            return self._dispatcher

    @property
    def compiled(self) -> bool:
        """Whether this process holds machine code for the kernel (compiled or loaded)."""
        return self._dispatcher is not None and bool(self._dispatcher.overloads)

    def __call__(self, *args: Any) -> Any:
        if not self.compiled:
            small = _settings["small"]
            largest = max((a.size for a in args if isinstance(a, np.ndarray)), default=0)
            if largest <= small:
                return _py_scalar(self.py_func(*args))
        return self.dispatcher(*args)


def small_first(**options: Any) -> Callable[[Callable[..., Any]], SmallFirst]:
    """``numba.njit(**options)`` that runs small inputs in Python until compiled (see module)."""

    def wrap(py_func: Callable[..., Any]) -> SmallFirst:
        return SmallFirst(py_func, options)

    return wrap
