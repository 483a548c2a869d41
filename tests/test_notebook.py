"""The README's notebook (docs/notebook.ipynb) runs top to bottom in a fresh kernel: no cell
fails, the results show their HTML summary, the tables come out as DataFrames and the report is
written."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[1] / "docs" / "notebook.ipynb"

if os.environ.get("CI"):
    import nbclient
    import nbformat
else:
    nbclient = pytest.importorskip("nbclient")
    nbformat = pytest.importorskip("nbformat")


def test_the_notebook_runs(tmp_path: Path) -> None:
    path = tmp_path / NOTEBOOK.name
    shutil.copy(NOTEBOOK, path)
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()  # fmt: skip
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    html = [o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {})]
    assert any("Assay classification results" in h for h in html)  # the summary
    assert sum("<table" in h and "dataframe" in h for h in html) >= 3  # three DataFrames
    report = tmp_path / "report.html"
    assert report.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
