"""Errors shared by every layer.

``InputError`` is the one error a user sees for bad input: a one-line message naming the file and the
place in it (row, column, entry index). The CLI turns it into exit code 2, the API into HTTP 422.
"""

from __future__ import annotations


class AssayError(Exception):
    """Base class of Assay's own errors."""


class InputError(AssayError):
    """Bad user input: names the file and the place in it.

    >>> str(InputError("missing column 'label'", file="gt.csv"))
    "gt.csv: missing column 'label'"
    >>> str(InputError("score is NaN", file="pred.csv", where="row 12, column 'cat'"))
    "pred.csv: row 12, column 'cat': score is NaN"
    """

    def __init__(self, message: str, *, file: str | None = None, where: str | None = None) -> None:
        self.message = message
        self.file = file
        self.where = where
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = [p for p in (self.file, self.where) if p]
        parts.append(self.message)
        return ": ".join(parts)


class NotFoundError(AssayError):
    """A stored object (evaluation, dataset, model, sample) does not exist."""


class ParameterError(AssayError):
    """A query parameter is out of range or unknown (threshold outside [0, 1], unknown label...)."""


class StorageError(AssayError):
    """The workspace cannot be written (the disk is full, the catalog reports an I/O error):
    one line, and nothing of the failed write remains. The CLI exits with code 2; the server
    answers 507."""


def one_line(exc: BaseException | str, limit: int | None = None) -> str:
    """An error as one line: the first line of its message (its type's name when the message is
    empty), cut to ``limit`` characters with an ellipsis when longer. The CLI prints it after
    "Error: "; the server, the jobs and the model sandbox report it.

    >>> one_line(InputError("score is NaN\\n  (row 12)", file="pred.csv"))
    'pred.csv: score is NaN'
    >>> one_line(ValueError())
    'ValueError'
    >>> one_line("a long reason", limit=6)
    'a lon…'
    """
    text = str(exc).strip()
    if text:
        line = text.splitlines()[0].rstrip()
    else:
        line = type(exc).__name__ if isinstance(exc, BaseException) else ""
    if limit is not None and len(line) > limit:
        return line[: limit - 1] + "…"
    return line
