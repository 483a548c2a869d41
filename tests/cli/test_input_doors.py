"""What the CLI reads is checked at the door: a named pipe, a device (a link to /dev/zero) or a file
over the input cap is one line and exit code 2, never a hang, a memory bomb or a traceback; an id
beyond 64 bits is one line and exit code 2 on every command that takes one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assay.errors import InputError
from assay.formats.files import MAX_INPUT_ENV, check_input, read_input_bytes
from assay.formats.tables import read_ground_truth, read_predictions

pytestmark = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX only")

GT = "id,label\n1,cat\n2,dog\n3,cat\n"
PRED = "id,cat,dog\n1,0.9,0.1\n2,0.3,0.7\n3,0.6,0.4\n"


def assay(
    *args: str, home: Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The CLI in its own process, with a timeout: a hang fails the test instead of blocking it."""
    return subprocess.run(
        [sys.executable, "-m", "assay.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env={**os.environ, "ASSAY_HOME": str(home), **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def one_line(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: "), lines
    assert "Traceback" not in proc.stderr + proc.stdout
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "gt.csv").write_text(GT)
    (tmp_path / "pred.csv").write_text(PRED)
    os.mkfifo(tmp_path / "fifo.csv")
    os.mkfifo(tmp_path / "fifo.json")
    os.symlink("/dev/zero", tmp_path / "zero.csv")
    os.symlink("/dev/zero", tmp_path / "zero.json")
    (tmp_path / "big.csv").write_text(GT + "".join(f"{i},cat\n" for i in range(4, 200)))
    return tmp_path


@pytest.mark.parametrize(
    ("args", "culprit", "kind"),
    [
        (["evaluate", "--gt", "fifo.csv", "--pred", "pred.csv"], "fifo.csv", "named pipe"),
        (["evaluate", "--gt", "gt.csv", "--pred", "fifo.csv"], "fifo.csv", "named pipe"),
        (["evaluate", "--gt", "fifo.json", "--pred", "pred.csv"], "fifo.json", "named pipe"),
        (["evaluate", "--gt", "gt.csv", "--pred", "zero.csv"], "zero.csv", "device"),
        (["evaluate", "--gt", "zero.json", "--pred", "pred.csv"], "zero.json", "device"),
        (["evaluate", "--gt", "gt.csv", "--model", "fifo.csv"], "fifo.csv", "named pipe"),
        (["datasets", "add", "fifo.csv"], "fifo.csv", "named pipe"),
        (["datasets", "add", "zero.csv"], "zero.csv", "device"),
        (["compare", "fifo.csv", "pred.csv"], "fifo.csv", "named pipe"),
        (["compare", "pred.csv", "zero.csv"], "zero.csv", "device"),
        (["compare", "--gt", "fifo.csv", "pred.csv", "pred.csv"], "fifo.csv", "named pipe"),
        (["models", "add", "fifo.csv", "--name", "m"], "fifo.csv", "named pipe"),
        (["models", "add", "zero.csv", "--name", "m"], "zero.csv", "device"),
    ],
)
def test_pipes_and_devices_are_one_line(
    files: Path, tmp_path: Path, args: list[str], culprit: str, kind: str
) -> None:
    proc = assay(*args, home=tmp_path / "home", cwd=files)
    one_line(proc, culprit, kind)


def test_a_file_over_the_cap_is_one_line(files: Path, tmp_path: Path) -> None:
    env = {MAX_INPUT_ENV: "1000"}
    for args in (
        ["evaluate", "--gt", "big.csv", "--pred", "pred.csv"],
        ["evaluate", "--gt", "gt.csv", "--pred", "big.csv"],
        ["datasets", "add", "big.csv"],
    ):
        proc = assay(*args, home=tmp_path / "home", cwd=files, env=env)
        one_line(proc, "big.csv", "1000 bytes", MAX_INPUT_ENV)
    # under the cap, the same files are read
    fine = assay(
        "evaluate", "--gt", "gt.csv", "--pred", "pred.csv", home=tmp_path / "home", cwd=files
    )
    assert fine.returncode == 0, fine.stderr


def test_the_readers_check_the_door_themselves(
    files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Python API and the server come through the same readers."""
    for reader in (read_ground_truth, read_predictions, read_input_bytes):
        with pytest.raises(InputError, match="named pipe"):
            reader(files / "fifo.csv")
        with pytest.raises(InputError, match="device"):
            reader(files / "zero.csv")
    assert check_input(files, folder_ok=True) == files
    with pytest.raises(InputError, match="is a folder"):
        check_input(files)
    monkeypatch.setenv(MAX_INPUT_ENV, "1000")
    with pytest.raises(InputError, match="larger than the 1000 bytes limit"):
        read_predictions(files / "big.csv")
    assert read_predictions(files / "pred.csv").classes == ["cat", "dog"]


ID_COMMANDS = [
    ["show", "{id}"],
    ["delete", "{id}"],
    ["export", "{id}", "--predictions", "out.csv"],
    ["compare", "{id}", "1"],
    ["compare", "1", "{id}"],
    ["leaderboard", "{id}"],
    ["analyze", "{id}"],
    ["analyze", "1", "--train", "{id}"],
    ["evaluate", "--gt", "gt.csv", "--pred", "pred.csv", "--parent", "{id}"],
    ["evaluate", "--gt", "gt.csv", "--model", "#{id}"],
    ["models", "add", "gt.csv", "--name", "m", "--parent", "{id}"],
]


@pytest.mark.parametrize("big", [2**63, 2**64, 10**40])
@pytest.mark.parametrize("command", ID_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_ids_beyond_64_bits_are_one_line(
    files: Path, tmp_path: Path, command: list[str], big: int
) -> None:
    args = [part.replace("{id}", str(big)) for part in command]
    proc = assay(*args, home=tmp_path / "home", cwd=files)
    one_line(proc, "id", "out of range")
