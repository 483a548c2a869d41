"""A JSON response serialised with orjson: numpy values as they are, NaN and infinities as null."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import orjson
from fastapi.responses import JSONResponse

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def dumps(content: Any) -> bytes:
    """JSON bytes; NaN / Infinity become null (orjson's rule), numpy arrays and scalars plain."""
    return orjson.dumps(content, option=_OPTIONS, default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, np.ndarray | np.generic):  # not C-contiguous, memmaps, scalars
        return value.tolist()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


class FastJSONResponse(JSONResponse):
    """``application/json`` rendered by orjson (the analysis answers are built as plain dicts)."""

    def render(self, content: Any) -> bytes:
        return dumps(content)
