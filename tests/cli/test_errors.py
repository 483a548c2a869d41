"""The one line the CLI prints for an error (cli/errors.py, assay.errors.one_line), the atomic
writer of --json and export (cli/shared.py), and the three ways to start the command."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from assay.cli.errors import error_line, fail, handle_errors
from assay.cli.shared import check_out_path, write_atomically
from assay.errors import InputError, NotFoundError, ParameterError, StorageError, one_line
from assay.runners import MissingExtraError


def test_one_line_is_the_first_line_or_the_type() -> None:
    assert one_line(ValueError("first\nsecond")) == "first"
    assert one_line(ValueError("\n  padded  \nrest")) == "padded"
    assert one_line(ValueError()) == "ValueError"
    assert one_line("") == ""
    assert one_line(ValueError("abcdef"), limit=4) == "abc…"
    assert one_line(ValueError("abcd"), limit=4) == "abcd"


@pytest.mark.parametrize(
    ("exc", "line"),
    [
        (
            InputError("score is NaN\nmore", file="pred.csv", where="row 12, column 'cat'"),
            "Error: pred.csv: row 12, column 'cat': score is NaN",
        ),
        (ParameterError("threshold: expected 0 to 1"), "Error: threshold: expected 0 to 1"),
        (NotFoundError("evaluation 9 not found"), "Error: evaluation 9 not found"),
        (StorageError("the disk is full"), "Error: the disk is full"),
        (
            MissingExtraError("m.xml: needs the 'openvino' extra"),
            "Error: m.xml: needs the 'openvino' extra",
        ),
        (FileNotFoundError(errno.ENOENT, "No such file", "gt.csv"), "Error: gt.csv: no such file"),
        (
            IsADirectoryError(errno.EISDIR, "Is a dir", "d"),
            "Error: d: is a folder, expected a file",
        ),
        (PermissionError(errno.EACCES, "Denied", "p.csv"), "Error: p.csv: permission denied"),
        (MemoryError(), "Error: out of memory"),
        (InputError(""), "Error: InputError"),
    ],
)
def test_error_line_of_each_kind(exc: BaseException, line: str) -> None:
    assert error_line(exc) == line


def test_an_unknown_exception_has_no_line() -> None:
    assert error_line(KeyError("x")) is None
    assert error_line(OSError("a bare OSError")) is None


def test_fail_prints_one_line_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as ended:
        fail("evaluation id 'x' is not a whole number")
    assert ended.value.exit_code == 2
    with pytest.raises(typer.Exit):
        fail(InputError("bad row\ntrace", file="a.csv"))
    assert capsys.readouterr().err.splitlines() == [
        "Error: evaluation id 'x' is not a whole number",
        "Error: a.csv: bad row",
    ]


def test_handle_errors_ends_known_errors_and_lets_bugs_through(
    capsys: pytest.CaptureFixture[str],
) -> None:
    @handle_errors
    def command(exc: BaseException | None) -> str:
        if exc is not None:
            raise exc
        return "done"

    assert command(None) == "done"
    with pytest.raises(typer.Exit) as ended:
        command(NotFoundError("model version 3 not found"))
    assert ended.value.exit_code == 2
    assert capsys.readouterr().err == "Error: model version 3 not found\n"
    with pytest.raises(typer.BadParameter):  # a usage error: typer prints it with the usage
        command(typer.BadParameter("nope"))
    with pytest.raises(ZeroDivisionError):  # a bug keeps its traceback
        command(ZeroDivisionError("x"))


def test_write_atomically_replaces_whole_or_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "report.json"
    out.write_bytes(b"old")
    write_atomically(out, b"new", "report")
    assert out.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]

    real_write = Path.write_bytes

    def full(self: Path, data: bytes) -> int:
        real_write(self, data[:1])
        raise OSError(errno.ENOSPC, "No space left on device", str(self))

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(InputError) as failed:
        write_atomically(out, b"newer", "predictions")
    assert str(failed.value) == f"{out}: cannot write the predictions (No space left on device)"
    assert out.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


@pytest.mark.parametrize("start", [["-m", "assay"], ["-m", "assay.cli"]])
def test_the_command_starts_as_a_module(start: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, *start, "--version"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("assay ")


def test_an_output_name_too_long_is_a_bad_parameter(tmp_path: Path) -> None:
    with pytest.raises(typer.BadParameter, match="cannot write there: File name too long"):
        check_out_path(tmp_path / ("x" * 5000))
    with pytest.raises(typer.BadParameter, match="is a folder"):
        check_out_path(tmp_path)
    check_out_path(tmp_path / "out.json")  # a file that may be written: no error
    assert list(tmp_path.iterdir()) == []
