"""``assay evaluate --pred FOLDER|GLOB``: Parquet shards take the sharded path; the JSON report
equals the one file's report (to 1e-9); nothing is stored; a bad shard and an option a sharded
evaluation cannot honour are one line and exit 2."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from assay.cli.main import app

CLASSES = ("cat", "dog", "owl", "yak")


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    ws = tmp_path / "ws"
    monkeypatch.setenv("ASSAY_HOME", str(ws))
    monkeypatch.setenv("COLUMNS", "100")
    return ws


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A ground truth CSV, the scores as one Parquet file and as 3 shards in a folder."""
    rng = np.random.default_rng(7)
    n = 90
    y = rng.integers(0, 3, n)  # "yak" never labeled
    p = np.round(rng.dirichlet(np.ones(4), n) * 0.5 + 0.5 * np.eye(4)[y], 2)
    gt = tmp_path / "gt.csv"
    gt.write_text("id,label\n" + "".join(f"s{i},{CLASSES[k]}\n" for i, k in enumerate(y)))
    table = pa.table(
        {"id": [f"s{i}" for i in range(n)], **{c: p[:, j] for j, c in enumerate(CLASSES)}}
    )
    one = tmp_path / "pred.parquet"
    pq.write_table(table, one)
    shards = tmp_path / "shards"
    shards.mkdir()
    for k, part in enumerate(np.array_split(rng.permutation(n), 3)):
        pq.write_table(table.take(part), shards / f"part-{k}.parquet")
    return gt, one, shards


def _evaluations(home: Path) -> int:
    if not (home / "catalog.sqlite").exists():
        return 0
    with sqlite3.connect(home / "catalog.sqlite") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0])


def _close(a: Any, b: Any) -> None:
    if isinstance(a, dict):
        assert set(a) == set(b)
        for k in a:
            _close(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _close(x, y)
    elif isinstance(a, float):
        assert math.isclose(a, b, abs_tol=1e-9), (a, b)
    else:
        assert a == b


def test_shards_report_equals_one_file_and_is_not_stored(
    home: Path, files: tuple[Path, Path, Path]
) -> None:
    gt, one, shards = files
    code, out, err = run("evaluate", "--gt", str(gt), "--pred", str(shards))
    assert code == 0, err
    assert "Not stored" in out and "3 shards" in out
    assert _evaluations(home) == 0
    for pred in (str(shards), f"{shards}/part-*.parquet"):
        code, out, err = run(
            "evaluate", "--gt", str(gt), "--pred", pred, "--threshold", "0.4", "--json", "-"
        )
        assert code == 0, err
        sharded = json.loads(out)
        assert sharded.pop("id") is None and len(sharded.pop("shards")) == 3
        code, out, _ = run("evaluate", "--gt", str(gt), "--pred", str(one), "--threshold", "0.4",
                           "--json", "-", "--force")  # fmt: skip
        memory = json.loads(out)
        memory.pop("id")
        _close(memory, sharded)
        assert memory["summary"]["n_samples"] == 90
    assert _evaluations(home) == 2  # the one-file runs only


def test_bad_shard_and_unusable_options_are_one_line(
    home: Path, files: tuple[Path, Path, Path]
) -> None:
    gt, _, shards = files
    bad = pq.read_table(shards / "part-1.parquet").drop_columns(["owl"])
    pq.write_table(bad, shards / "part-1.parquet")
    code, _, err = run("evaluate", "--gt", str(gt), "--pred", str(shards))
    assert code == 2
    assert "part-1.parquet: its classes differ from part-0.parquet: missing column 'owl'" in err
    assert "Traceback" not in err
    code, _, err = run("evaluate", "--gt", str(gt), "--pred", str(shards), "--intervals")
    assert code == 2 and "--intervals" in err and "does not apply to sharded" in err


def test_detection_shards_print_coco_numbers(home: Path, tmp_path: Path) -> None:
    from assay.demo.shapes import make_shapes_dataset

    gt, dt = make_shapes_dataset(tmp_path / "det", n_images=12)
    dets = json.loads(Path(dt).read_text())
    shards = tmp_path / "det_shards"
    shards.mkdir()
    images = sorted({d["image_id"] for d in dets})
    for k, group in enumerate((images[:5], images[5:])):
        part = [d for d in dets if d["image_id"] in set(group)]
        columns = ("image_id", "category_id", "bbox", "score")
        pq.write_table(
            pa.table({c: [d[c] for d in part] for c in columns}), shards / f"{k}.parquet"
        )
    code, out, err = run("evaluate", "--gt", str(gt), "--pred", str(dt), "--json", "-")
    assert code == 0, err
    memory = json.loads(out)["summary"]
    code, out, err = run("evaluate", "--gt", str(gt), "--pred", str(shards), "--json", "-")
    assert code == 0, err
    sharded = json.loads(out)["summary"]
    for key in ("AP", "AP50", "AP75", "AR1", "AR10", "AR100"):
        assert math.isclose(memory[key], sharded[key], abs_tol=1e-12)
    code, out, err = run("evaluate", "--gt", str(gt), "--pred", str(shards))
    assert code == 0 and "COCO numbers only" in out and "Not stored" in out
    code, _, err = run("evaluate", "--gt", str(gt), "--pred", str(shards), "--threshold", "0.5")
    assert code == 2 and "--threshold" in err
