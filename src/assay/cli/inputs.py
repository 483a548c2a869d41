"""What commands check of their command line before any work: an option given twice (typer
would keep the last silently), an evaluation already stored (``assay evaluate`` answers with the
stored one unless ``--force``), ids, and the files a command reads (never a pipe or a device)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, overload

import typer

from assay.cli.errors import fail
from assay.errors import ParameterError

FORCE_HELP = (
    "Store the evaluation even when the same one (same ground truth, same predictions file or "
    "model version, same options) is stored already; without it that one is shown."
)

# options that name, label, show or locate things, but do not change the numbers: two runs
# differing only in these are the same evaluation
NOT_THE_REQUEST = {
    "gt",
    "pred",
    "model",
    "batch",
    "name",
    "model_name",
    "parent",
    "images",
    "allow_media_outside_root",
    "json_out",
    "intervals",
    "force",
    "spec_file",
    "labels",
    "input_size",
    "mean",
    "std",
    "channels",
    "layout",
}


def refuse_repeats(base: type) -> type:
    """``base`` (a command class) refusing an option that takes one value given twice, e.g.
    ``--pred a.csv --pred b.csv``: a usage error (exit 2) naming it, before the command runs."""

    class RefuseRepeats(base):  # type: ignore[misc, valid-type]
        def parse_args(self, ctx: Any, args: list[str]) -> Any:
            single: dict[str, Any] = {}
            for param in self.params:
                if getattr(param, "param_type_name", "") != "option":
                    continue
                if param.multiple or param.is_flag or getattr(param, "count", False):
                    continue
                for opt in param.opts:
                    single[opt] = param
            seen: dict[str, str] = {}
            i = 0
            while i < len(args):
                token = args[i]
                if token == "--":
                    break
                opt, eq, _ = token.partition("=")
                param = single.get(opt)
                if param is not None:
                    if param.name in seen:
                        raise typer.BadParameter(
                            "given twice; give it once",
                            ctx=ctx,
                            param_hint=f"'{opt}'",
                        )
                    seen[param.name] = opt
                    if not eq:
                        i += 1  # its value
                i += 1
            return super().parse_args(ctx, args)

    RefuseRepeats.__name__ = f"RefuseRepeats{base.__name__}"
    return RefuseRepeats


def evaluation_request(command: Callable[..., Any], values: dict[str, Any]) -> dict[str, Any]:
    """The options of ``command`` (its parameters, read from ``values``, e.g. its ``locals()``)
    that make its numbers (all but ``NOT_THE_REQUEST``), JSON-safe: what makes two runs the
    same evaluation. An option added to the command later counts unless named there."""
    import inspect

    out: dict[str, Any] = {}
    for key in sorted(inspect.signature(command).parameters):
        if key in NOT_THE_REQUEST or key not in values:
            continue
        value = values[key]
        out[key] = str(value) if isinstance(value, Path) else value
    return out


class AlreadyStored(Exception):
    """The evaluation asked for is stored already, as ``evaluation_id``."""

    def __init__(self, evaluation_id: int) -> None:
        super().__init__(f"already stored as evaluation {evaluation_id}")
        self.evaluation_id = evaluation_id


def check_stored(
    gt: Path,
    request: dict[str, Any],
    *,
    force: bool,
    pred: Path | None = None,
    model_version_id: int | None = None,
    ws: Any = None,
) -> None:
    """Raise :class:`AlreadyStored` when the same evaluation is stored (unless ``force``)."""
    if force:
        return
    from assay.service.runs import find_stored
    from assay.store import Workspace

    found = find_stored(
        ws or Workspace(), gt, request, pred=pred, model_version_id=model_version_id
    )
    if found is not None:
        raise AlreadyStored(found)


MAX_ID = 2**63 - 1  # the catalog's ids are SQLite INTEGERs


def stored_id(what: str, digits: str) -> int:
    """``digits`` (ASCII digits, as typed) as the id of a stored ``what``; over 2**63 - 1 a
    :class:`~assay.errors.ParameterError` "<what> id <digits> is out of range (ids are 0 to ...)",
    the digits cut at 40."""
    if len(digits) <= len(str(MAX_ID)) and int(digits) <= MAX_ID:  # never int() of 5,000 digits
        return int(digits)
    shown = digits if len(digits) <= 40 else digits[:40] + "..."
    raise ParameterError(f"{what} id {shown} is out of range (ids are 0 to {MAX_ID})")


def id_parser(what: str) -> Callable[[str], int]:
    """A typer ``parser`` for the id of a stored ``what`` (evaluation, model version, dataset
    version): a whole number from 0 to 2**63 - 1, else one line on stderr and exit code 2."""

    def parse(text: str) -> int:
        if isinstance(text, int):  # a default, already an id
            return text
        given = str(text).strip()
        if given.isascii() and given.isdigit():
            try:
                return stored_id(what, given)
            except ParameterError as exc:
                fail(exc)
        shown = repr(given if len(given) <= 40 else given[:40] + "...")
        fail(f"{what} id {shown} is not a whole number from 0 to {MAX_ID}")

    return parse


def check_input_paths(*paths: Path | None, folder_ok: bool = True) -> None:
    """The files a command reads, checked at the door before any work: each that exists must be a
    regular file within the input cap (or a folder, when ``folder_ok``), links followed: never a
    named pipe (a reader would block) or a device (read until memory runs out). One
    :class:`~assay.errors.InputError` line otherwise; a missing path is left to the command."""
    from assay.formats.files import check_input

    for path in paths:
        if path is not None and (path.exists() or path.is_symlink()):
            check_input(path, folder_ok=folder_ok)


def path_or_url(text: str) -> Any:
    """A typer ``parser`` for an option that takes a file or an ``s3://`` / ``gs://`` / ``az://``
    URL: a URL stays the text it is (``Path`` would fold its ``//``), anything else is a
    ``Path``. :func:`fetch_input` turns either into a local path."""
    from assay.formats.remote import is_url

    return text if is_url(text) else Path(text)


@overload
def fetch_input(value: Path | str) -> Path: ...
@overload
def fetch_input(value: None) -> None: ...
def fetch_input(value: Path | str | None) -> Path | None:
    """``value`` as a local path: a URL is fetched (an object, or every object under a prefix)
    into the workspace's cache of object storage, read again only when it changed there; one
    line (exit 2) when it cannot be (unreachable, no bucket, no key, denied, no extra)."""
    from assay.formats.remote import localize

    return localize(value)


def fetch_model_input(value: Path | str) -> Path:
    """A model given as a path or a URL, as a local path: a URL fetched with the neighbours the
    model reads (its spec, its labels; :func:`~assay.formats.remote.fetch_model`)."""
    from assay.formats.remote import fetch_model, is_url

    return fetch_model(str(value)) if is_url(value) else Path(value)
