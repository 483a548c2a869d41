"""What several commands share: the workspace, the ``--json`` report and where it goes, the
operating-point and top-k options, and the help texts of the options more than one command takes.

Light at import (typer only): ``assay --help`` must answer at once, so the store, numpy and rich
are imported inside the functions that need them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from assay.cli.inputs import id_parser

EVALUATION_ID = id_parser("evaluation")
MODEL_VERSION_ID = id_parser("model version")
# --parent of `evaluate --model FILE` and `models add`
ParentVersion = Annotated[
    int | None,
    typer.Option(
        help="Id of the parent model version (e.g. the FP32 parent of an INT8 model).",
        parser=MODEL_VERSION_ID,
    ),
]

JSON_HELP = "Write the JSON report to this file ('-': stdout, which then carries only the JSON)."
INTERVALS_HELP = "Add 95 % bootstrap confidence intervals to the metrics."
OUTSIDE_HELP = (
    "Accept media paths (a table's path, COCO / VOC file_name, YOLO images) outside the "
    "dataset's folder: absolute, ../ or links leading out (refused by default)."
)
TOP_K_HELP = "Top-k accuracies to report, e.g. 1,3,5 (default: 1, 3 and 5 below the class count)."


def workspace() -> Any:
    """The workspace at ``ASSAY_HOME`` (imported here: the store is heavy)."""
    from assay.store import Workspace

    return Workspace()


def write_atomically(out: Path, data: bytes, what: str) -> None:
    """Write ``data`` to ``out`` through ``out.tmp`` renamed over it, so a reader never sees half
    a file; an OSError (a full disk, a folder removed meanwhile) leaves no ``.tmp`` behind and is
    one InputError line naming the file: "cannot write the <what> (<reason>)"."""
    tmp = out.with_name(out.name + ".tmp")
    try:
        tmp.write_bytes(data)
        tmp.replace(out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        from assay.errors import InputError

        reason = exc.strerror or str(exc)
        raise InputError(f"cannot write the {what} ({reason})", file=str(out)) from None


def write_json(payload: Any, out: Path) -> None:
    """``payload`` as indented JSON to the file ``out``, or to stdout when ``out`` is ``-``."""
    import orjson

    data = orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    if to_stdout(out):
        sys.stdout.buffer.write(data + b"\n")
        sys.stdout.flush()
    else:
        write_atomically(out, data + b"\n", "report")


def to_stdout(json_out: Path | None) -> bool:
    """Whether the JSON goes to stdout (``--json -``): the human report then goes to stderr, or
    nowhere."""
    return json_out is not None and str(json_out) == "-"


def check_out_path(out: Path | None, option: str = "--json") -> None:
    """A file the command writes must be writable where it is named: checked before any work."""
    if out is None or to_stdout(out):
        return
    try:
        is_dir, parent_is_dir = out.is_dir(), out.parent.is_dir()
    except OSError as exc:  # a name too long for the file system, ...
        raise typer.BadParameter(
            f"cannot write there: {exc.strerror or exc}", param_hint=option
        ) from None
    if is_dir:
        raise typer.BadParameter(f"{out} is a folder, expected a file", param_hint=option)
    if not parent_is_dir:
        raise typer.BadParameter(f"{out.parent} does not exist", param_hint=option)
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise typer.BadParameter(f"cannot write in {out.parent}", param_hint=option)


def parse_top_k(text: str | None) -> tuple[int, ...] | None:
    """``"1,3,5"`` -> (1, 3, 5), repeats dropped; a BadParameter naming --top-k otherwise."""
    if text is None:
        return None
    try:
        ks = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        ks = ()
    if not ks or any(k < 1 for k in ks):
        raise typer.BadParameter(
            f"{text!r}: expected positive integers separated by commas, e.g. 1,3,5",
            param_hint="--top-k",
        )
    return tuple(dict.fromkeys(ks))


def operating_point(threshold: float | None, iou: float | None, score: float | None) -> Any:
    """The operating point of the options; a bad value is a usage error naming its option."""
    from assay.errors import ParameterError
    from assay.evaluation.results import OperatingPoint

    try:
        return OperatingPoint(threshold=threshold, iou=iou, score=score)
    except ParameterError as exc:
        option, _, message = str(exc).partition(": ")
        raise typer.BadParameter(message, param_hint=f"--{option}") from None


def with_top_k(results: Any, ks: tuple[int, ...]) -> Any:
    """The same results reporting top-k accuracy for ``ks`` (kept in the stored meta); results
    without top-k accuracy (multi-label, detection) are given back as they are, with a warning."""
    from assay.evaluation.dispatch import results_from_arrays

    if not results.summary().get("top_k"):
        print("Warning: --top-k ignored: top-k accuracy is for single-label classification",
              file=sys.stderr)  # fmt: skip
        return results
    arrays, meta = results.arrays()
    return results_from_arrays(arrays, {**meta, "top_k": list(ks)})


def report_of(results: Any, at: Any, *, intervals: bool) -> dict[str, Any]:
    """The results' JSON report at ``at``, with bootstrap intervals only when asked for."""
    report: dict[str, Any] = results.report(at)
    report["intervals"] = results.intervals(at=at) if intervals else None
    return report
