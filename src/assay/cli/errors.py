"""The one line the CLI prints for an error, and exit code 2.

One table maps exception types to their line (as ``huggingface_hub/cli/_errors.py``): ours name
the file, the place in it and the reason (:class:`~assay.errors.InputError`'s own shape), an
OSError names its file. Every command is wrapped in :func:`handle_errors`; code that refuses
outside a command (an id parser) calls :func:`fail`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar

import typer

F = TypeVar("F", bound=Callable[..., Any])


def _messages() -> dict[type[BaseException], str]:
    """Exception type -> its line; ``{line}`` is the first line of the message, ``{exc}`` the
    exception (the first matching type wins, so subclasses come first)."""
    from assay.errors import (
        AssayError,
        InputError,
        NotFoundError,
        ParameterError,
        StorageError,
    )

    return {
        InputError: "Error: {line}",
        StorageError: "Error: {line}",
        ParameterError: "Error: {line}",
        NotFoundError: "Error: {line}",
        FileNotFoundError: "Error: {exc.filename}: no such file",
        IsADirectoryError: "Error: {exc.filename}: is a folder, expected a file",
        PermissionError: "Error: {exc.filename}: permission denied",
        MemoryError: "Error: out of memory",
        AssayError: "Error: {line}",  # the rest of ours, e.g. a missing optional extra
    }


def error_line(exc: BaseException) -> str | None:
    """The one line the CLI prints for ``exc``, or None for an exception the table does not
    know (a bug: its traceback is shown).

    >>> from assay.errors import InputError
    >>> error_line(InputError("score is NaN", file="pred.csv", where="row 12"))
    'Error: pred.csv: row 12: score is NaN'
    >>> error_line(KeyError("x")) is None
    True
    """
    from assay.errors import one_line

    for kind, template in _messages().items():
        if isinstance(exc, kind):
            return one_line(template.format(exc=exc, line=one_line(exc)))
    return None


def fail(problem: str | BaseException) -> NoReturn:
    """Print the one line of ``problem`` (an exception of the table, or a reason) on stderr and
    end the command with exit code 2."""
    line = f"Error: {problem}" if isinstance(problem, str) else error_line(problem)
    print(line, file=sys.stderr)
    raise typer.Exit(code=2)


def handle_errors(func: F) -> F:
    """Turn a known error into one line on stderr and exit code 2, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, typer.BadParameter):
            raise
        except Exception as exc:
            if error_line(exc) is None:
                raise
            fail(exc)

    return wrapper  # type: ignore[return-value]
