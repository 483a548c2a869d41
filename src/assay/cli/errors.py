"""One table from exception types to one-line messages; every command ends errors with exit code 2."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])


def _messages() -> dict[type[BaseException], str]:
    from assay.errors import (
        AssayError,
        InputError,
        NotFoundError,
        ParameterError,
        StorageError,
    )

    return {
        InputError: "Error: {exc}",
        StorageError: "Error: {exc}",
        ParameterError: "Error: {exc}",
        NotFoundError: "Error: {exc}",
        FileNotFoundError: "Error: {exc.filename}: no such file",
        IsADirectoryError: "Error: {exc.filename}: is a folder, expected a file",
        PermissionError: "Error: {exc.filename}: permission denied",
        MemoryError: "Error: out of memory",
        AssayError: "Error: {exc}",  # the rest of ours, e.g. a missing optional extra
    }


def handle_errors(func: F) -> F:
    """Turn a known error into one line on stderr and exit code 2, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.BadParameter):
            raise
        except Exception as exc:
            for kind, template in _messages().items():
                if isinstance(exc, kind):
                    print(template.format(exc=exc).splitlines()[0], file=sys.stderr)
                    raise typer.Exit(code=2) from None
            raise

    return wrapper  # type: ignore[return-value]
