"""The CLI starts light: ``assay --version`` / ``--help`` import neither numpy nor the store, and
``assay list`` reads the catalog without numpy, pyarrow, pydantic (typer's coercion of a value
given), the evaluation code (numba), the model runners or the server. Checked on ``sys.modules``
of a fresh interpreter, never on a clock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = [
    "numpy",
    "pyarrow",
    "pydantic",
    "numba",
    "fastapi",
    "onnxruntime",
    "pandas",
    "scipy",
    "PIL",
]

PROBE = """
import json, sys
{setup}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in {heavy!r} or m in {ours!r})))
"""


def loaded(setup: str, ours: list[str], home: Path) -> list[str]:
    """The heavy modules (and those of ``ours``) a fresh interpreter holds after ``setup``."""
    code = PROBE.format(setup=setup, heavy=HEAVY, ours=ours)
    env = {**os.environ, "ASSAY_HOME": str(home)}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr
    found: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return found


def run_cli(*args: str) -> str:
    """``setup`` code that runs the CLI in this interpreter and survives its SystemExit."""
    return (
        "from assay.cli.main import app\n"
        f"try:\n    app({list(args)!r}, prog_name='assay')\nexcept SystemExit as e:\n"
        "    assert not e.code, e.code"
    )


def test_importing_the_cli_imports_nothing_heavy(tmp_path: Path) -> None:
    assert loaded("import assay.cli.main", ["assay.store"], tmp_path) == []


@pytest.mark.parametrize("words", [["--version"], ["--help"], ["models", "--help"]])
def test_version_and_help_import_nothing_heavy(tmp_path: Path, words: list[str]) -> None:
    assert loaded(run_cli(*words), ["assay.store"], tmp_path) == []


def test_list_reads_the_catalog_without_evaluation_runners_or_server(tmp_path: Path) -> None:
    ours = ["assay.evaluation.classification", "assay.evaluation.detection", "assay.runners"]
    found = loaded(run_cli("list"), ours, tmp_path)
    assert found == [], found  # no numpy, pyarrow or pydantic either
    assert (tmp_path / "catalog.sqlite").is_file()  # it did read a workspace


def test_list_of_stored_evaluations_imports_nothing_heavy(tmp_path: Path) -> None:
    """A workspace holding an evaluation (its arrays on disk, a dataset): still none of them."""
    setup = (
        "import assay, pyarrow as pa\n"
        "from assay.store import Workspace\n"
        "r = assay.evaluate_classification([0, 1, 1], [[.9, .1], [.2, .8], [.4, .6]])\n"
        f"ws = Workspace({str(tmp_path)!r})\n"
        "samples = pa.table({'id': ['a', 'b', 'c']})\n"
        "dv = ws.add_dataset_version('pets', task='classification', samples=samples)\n"
        "ws.save_evaluation(r, task='classification', name='m', dataset_version_id=dv.id)"
    )
    subprocess.run([sys.executable, "-c", setup], check=True, timeout=120)
    probe = run_cli("list", "--json", str(tmp_path / "list.json"))
    found = loaded(probe, ["assay.evaluation.classification"], tmp_path)
    assert {m.split(".")[0] for m in found} == {"pydantic"}, found
    assert [row["name"] for row in json.loads((tmp_path / "list.json").read_text())] == ["m"]
    assert loaded(run_cli("list"), ["assay.evaluation.classification"], tmp_path) == []


def test_a_value_given_is_still_checked(tmp_path: Path) -> None:
    """typer's coercion of a value given (pydantic) is built then, and refuses a bad one."""
    refused = (
        "from assay.cli.main import app\n"
        f"try:\n    app(['list', '--json', {str(tmp_path)!r}], prog_name='assay')\n"
        "except SystemExit as e:\n    assert e.code == 2, e.code\nelse:\n    raise AssertionError"
    )
    assert {m.split(".")[0] for m in loaded(refused, [], tmp_path)} == {"pydantic"}


def test_import_assay_is_light_and_its_api_loads_on_use(tmp_path: Path) -> None:
    assert loaded("import assay", [], tmp_path) == []
    setup = "import assay\nassert assay.evaluate_classification([0, 1], [[.9, .1], [.2, .8]])"
    assert "numpy" in loaded(setup, [], tmp_path)
