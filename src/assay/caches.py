"""The one bounded cache of Assay: an LRU mapping with a size bound (and optionally a weight
bound), thread-safe, used by every layer that keeps answers: the store's loaded results and
samples tables, the server's per-request caches.

>>> cache = LRU[int, str](2)
>>> cache[1] = "a"; cache[2] = "b"; cache[3] = "c"
>>> sorted(cache)
[2, 3]
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, MutableMapping
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LRU(MutableMapping[K, V], Generic[K, V]):
    """At most ``maxsize`` entries and, with a ``weigh`` function, at most ``max_weight`` in all
    (e.g. the points of cached curves); the least recently used goes first. Thread-safe."""

    def __init__(
        self,
        maxsize: int,
        *,
        weigh: Callable[[V], int] | None = None,
        max_weight: int | None = None,
    ) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self.weigh = weigh
        self.max_weight = max_weight
        self.weight = 0
        self._weights: dict[K, int] = {}
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def __getitem__(self, key: K) -> V:
        with self._lock:
            value = self._data[key]
            self._data.move_to_end(key)
            return value

    def __setitem__(self, key: K, value: V) -> None:
        with self._lock:
            self._drop(key)
            self._data[key] = value
            if self.weigh is not None:
                self._weights[key] = self.weigh(value)
                self.weight += self._weights[key]
            while len(self._data) > self.maxsize or (
                self.max_weight is not None
                and self.weight > self.max_weight
                and len(self._data) > 1
            ):
                self._drop(next(iter(self._data)))

    def __delitem__(self, key: K) -> None:
        with self._lock:
            if key not in self._data:
                raise KeyError(key)
            self._drop(key)

    def _drop(self, key: K) -> None:
        if key in self._data:
            del self._data[key]
            self.weight -= self._weights.pop(key, 0)

    def __iter__(self) -> Iterator[K]:
        with self._lock:
            return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)

    def peek(self, key: K) -> V | None:
        """The cached value without counting it as used, or None."""
        with self._lock:
            return self._data.get(key)

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The cached value, or ``make()`` stored (computed outside the lock)."""
        try:
            return self[key]
        except KeyError:
            value = make()
            self[key] = value
            return value
