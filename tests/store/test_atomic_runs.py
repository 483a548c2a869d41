"""A run is stored all or nothing (issue E, items 4 and 6): dataset version, model version and
evaluation in one transaction; a failure (unknown parent, ENOSPC, SQLite's full disk or I/O
error, a kill) leaves no row, no folder, no temporary file; leftovers of runs are collected,
versions registered on purpose are kept."""

from __future__ import annotations

import errno
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from assay.errors import NotFoundError, StorageError
from assay.store import Workspace
from assay.store import artifacts as artifacts_module
from assay.store.catalog import _SCHEMA, SCHEMA_VERSION
from tests.store.fakes import FakeResults, fake_loader

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "home", loader=fake_loader)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    gt, pred = tmp_path / "gt.csv", tmp_path / "pred.csv"
    gt.write_text("id,label\na,cat\nb,dog\n")
    pred.write_text("id,cat,dog\na,0.9,0.1\nb,0.2,0.8\n")
    return gt, pred


def _save(ws: Workspace, files: tuple[Path, Path], **kwargs: Any) -> Any:
    samples = pa.table({"id": [f"s{i}" for i in range(50)]})
    return ws.save_run(
        FakeResults.random(),
        name=kwargs.pop("name", None),
        dataset=("pets", "classification", files[0], samples, None),
        model=("resnet", kwargs.pop("parent", None), files[1]),
        params=kwargs.pop("params", None),
    )


def _counts(ws: Workspace) -> dict[str, int]:
    tables = ("datasets", "dataset_versions", "models", "model_versions", "evaluations")
    return {t: ws.catalog.query_one(f"SELECT COUNT(*) FROM {t}")[0] for t in tables}  # type: ignore[index]


def _on_disk(ws: Workspace) -> list[str]:
    """Every file under the artifact folders (names relative to the home)."""
    return sorted(
        p.relative_to(ws.home).as_posix()
        for folder in (ws.evaluations_dir, ws.datasets_dir)
        for p in folder.rglob("*")
    )


def _assert_nothing_stored(ws: Workspace, before: dict[str, int], disk: list[str]) -> None:
    assert _counts(ws) == before
    assert _on_disk(ws) == disk
    assert ws.integrity_check() == "ok"
    assert not ws.catalog.connection().in_transaction


def test_a_run_registers_its_versions_and_evaluation(
    ws: Workspace, files: tuple[Path, Path]
) -> None:
    record = _save(ws, files)
    assert record.name == "resnet on pets"
    assert record.dataset_version.version == "v1" and record.model_version is not None
    assert _counts(ws) == dict.fromkeys(_counts(ws), 1)
    assert _save(ws, files).dataset_version == record.dataset_version  # same content


def test_unknown_parent_stores_nothing(ws: Workspace, files: tuple[Path, Path]) -> None:
    before, disk = _counts(ws), _on_disk(ws)
    with pytest.raises(NotFoundError, match="model version 999 not found"):
        _save(ws, files, parent=999)
    _assert_nothing_stored(ws, before, disk)


@pytest.mark.parametrize("where", ["arrays", "samples"])
def test_enospc_while_writing_stores_nothing(
    ws: Workspace, files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    kept = _save(ws, files, name="kept")
    files[0].write_text("id,label\na,cat\nb,cat\n")  # another content: a new dataset version
    before, disk = _counts(ws), _on_disk(ws)

    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    if where == "arrays":
        monkeypatch.setattr(artifacts_module, "write_arrays", full)
    else:
        monkeypatch.setattr("pyarrow.parquet.write_table", full)
    with pytest.raises(StorageError) as info:
        _save(ws, files)
    assert str(info.value) == (
        f"{ws.home}: cannot write the workspace (no space left on device); nothing was stored"
    )
    _assert_nothing_stored(ws, before, disk)
    assert [e.id for e in ws.list_evaluations()] == [kept.id]


def test_enospc_in_save_evaluation(
    ws: Workspace, files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    dv = ws.add_dataset_version("pets", task="classification", source=files[0])
    before, disk = _counts(ws), _on_disk(ws)
    real_open = open

    def full_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if "w" in mode and str(file).endswith(".npy"):
            raise OSError(errno.ENOSPC, "No space left on device", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", full_open)
    with pytest.raises(StorageError, match="no space left on device"):
        ws.save_evaluation(FakeResults.random(), name="x", dataset_version_id=dv.id)
    _assert_nothing_stored(ws, before, disk)


def test_catalog_full_stores_nothing(ws: Workspace, files: tuple[Path, Path]) -> None:
    """SQLite's own "database or disk is full", made real with ``PRAGMA max_page_count``."""
    _save(ws, files, name="kept")
    files[0].write_text("id,label\na,dog\nb,dog\n")
    before, disk = _counts(ws), _on_disk(ws)
    conn = ws.catalog.connection()
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StorageError) as info:
        _save(ws, files, params={"note": "x" * 200_000})  # needs new pages
    assert str(info.value) == (
        f"{ws.home}: cannot write the workspace (the catalog reports 'database or disk is full');"
        " nothing was stored"
    )
    conn.execute("PRAGMA max_page_count = 1073741823")
    _assert_nothing_stored(ws, before, disk)


class _FailingConnection:
    """A connection whose ``execute`` fails like a dying disk on the statement named."""

    def __init__(self, conn: sqlite3.Connection, statement: str) -> None:
        self._conn, self._statement = conn, statement

    def execute(self, sql: str, *args: Any) -> Any:
        if sql.startswith(self._statement):
            raise sqlite3.OperationalError("disk I/O error")
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


@pytest.mark.parametrize("statement", ["INSERT INTO evaluations", "COMMIT"])
def test_catalog_io_error_stores_nothing(
    ws: Workspace, files: tuple[Path, Path], statement: str
) -> None:
    """The artifacts already renamed into place are taken back when the row or the commit
    fails."""
    before, disk = _counts(ws), _on_disk(ws)
    real = ws.catalog.connection()
    ws.catalog._local.conn = _FailingConnection(real, statement)
    with pytest.raises(StorageError, match=r"the catalog reports 'disk I/O error'"):
        _save(ws, files)
    ws.catalog._local.conn = real
    _assert_nothing_stored(ws, before, disk)


def test_orphans_of_runs_are_collected_explicit_versions_kept(
    ws: Workspace, files: tuple[Path, Path]
) -> None:
    """What a run of an older Assay left when it died between its three transactions (simulated:
    versions marked as a run's, no evaluation) is collected; POST /api/datasets and /api/models
    registrations (explicit) are kept without evaluations; a parent model version is kept."""
    explicit = ws.add_dataset_version("posted", task="classification", source=files[0])
    posted_model = ws.add_model_version("posted-model", path=files[1])
    record = _save(ws, files)
    run_dv, run_mv = record.dataset_version, record.model_version
    assert run_mv is not None
    with ws.catalog.write() as conn:
        conn.execute("INSERT INTO models (name, created_at) VALUES ('orphan', 'now')")
        conn.execute(
            "INSERT INTO model_versions (model_id, version, created_at, kept)"
            " SELECT id, 'v1', 'now', 0 FROM models WHERE name = 'orphan'"
        )
    ws.delete_evaluation(record.id)  # the run's versions now have no evaluation
    assert (ws.datasets_dir / str(run_dv.id)).is_dir()
    assert ws.collect_garbage() == 4  # run_dv, run_mv, the orphan model version, run_dv's folder
    with pytest.raises(NotFoundError):
        ws.get_dataset_version(run_dv.id)
    with pytest.raises(NotFoundError):
        ws.get_model_version(run_mv.id)
    assert not (ws.datasets_dir / str(run_dv.id)).exists()
    assert [d.name for d in ws.list_datasets()] == ["posted"]
    assert [m.name for m in ws.list_models()] == ["posted-model"]
    assert ws.get_dataset_version(explicit.id) == explicit
    assert ws.get_model_version(posted_model.id) == posted_model
    # a run's version that an explicit registration names later is kept from then on, and so is
    # a run's model version that another names as its parent
    again = _save(ws, files)
    parent = again.model_version
    assert parent is not None
    ws.add_dataset_version("pets", task="classification", source=files[0])
    child = ws.save_run(
        FakeResults.random(),
        name=None,
        dataset=("other", "classification", None, pa.table({"id": ["a"]}), None),
        model=("int8", parent.id, None),
    )
    assert child.model_version is not None
    assert child.model_version.parent_version_id == parent.id
    ws.delete_evaluation(again.id)
    ws.collect_garbage()
    assert ws.get_dataset_version(again.dataset_version.id) == again.dataset_version
    assert ws.get_model_version(parent.id) == parent


_CRASH = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, {root!r})
    import pyarrow as pa
    from assay.store import workspace as w
    from tests.store.fakes import FakeResults, fake_loader

    def die(*args):
        os._exit(17)

    w.Workspace._insert_evaluation_row = staticmethod(die)  # both folders renamed, no row yet
    ws = w.Workspace({home!r}, loader=fake_loader)
    ws.save_run(FakeResults.random(), name=None,
                dataset=("pets", "classification", {gt!r}, pa.table({{"id": ["a", "b"]}}), None),
                model=("resnet", None, {pred!r}))
    """
)


def test_killed_mid_run_leaves_nothing_after_reopen(
    ws: Workspace, files: tuple[Path, Path]
) -> None:
    before = _counts(ws)
    script = _CRASH.format(root=str(ROOT), home=str(ws.home), gt=str(files[0]), pred=str(files[1]))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 17, proc.stderr
    assert _counts(ws) == before  # the transaction never committed
    assert _on_disk(ws)  # but its folders were renamed into place...
    reopened = Workspace(ws.home, loader=fake_loader)  # ...and are collected on open
    assert _on_disk(reopened) == [] and _counts(reopened) == before
    assert _save(reopened, files).dataset_version.version == "v1"


def _v1_catalog(home: Path) -> None:
    """A catalog as schema 1 wrote it: a run that died after its dataset version (a samples
    table, no evaluation) and a version registered through POST /api/datasets (no samples)."""
    home.mkdir(parents=True)
    (home / "datasets" / "1").mkdir(parents=True)
    (home / "datasets" / "1" / "samples.parquet").write_bytes(b"x")
    with sqlite3.connect(home / "catalog.sqlite") as conn:
        conn.executescript(_SCHEMA)
        conn.execute("INSERT INTO datasets (name, task, created_at) VALUES ('d', 't', 'now')")
        for n in (2, 0):
            conn.execute(
                "INSERT INTO dataset_versions (dataset_id, version, hash, n_samples, created_at)"
                " VALUES (1, ?, ?, ?, 'now')",
                (f"v{2 - n // 2}", f"h{n}", n),
            )
        conn.execute("PRAGMA user_version = 1")


def test_schema_1_catalog_is_migrated_and_its_leftovers_collected(tmp_path: Path) -> None:
    _v1_catalog(tmp_path / "home")
    ws = Workspace(tmp_path / "home", loader=fake_loader)
    assert ws.catalog.query_one("PRAGMA user_version") == (SCHEMA_VERSION,)
    versions = ws.list_dataset_versions(1)
    assert [(v.id, v.n_samples) for v in versions] == [(2, 0)]  # the explicit one kept
    assert not (ws.datasets_dir / "1").exists()
    assert ws.media_root(2) is None


def test_attached_media_are_taken_back_when_the_commit_fails(
    ws: Workspace, files: tuple[Path, Path], tmp_path: Path
) -> None:
    image = tmp_path / "a.png"
    image.write_bytes(b"png")
    bare = pa.table({"id": ["a", "b"], "path": pa.array([None, None], pa.string())})
    dv = ws.add_dataset_version("pets", task="classification", source=files[0], samples=bare)
    stored = (ws.datasets_dir / str(dv.id) / "samples.parquet").read_bytes()
    with_media = pa.table({"id": ["a", "b"], "path": [str(image), None]})
    real = ws.catalog.connection()
    ws.catalog._local.conn = _FailingConnection(real, "COMMIT")
    with pytest.raises(StorageError):
        ws.save_run(
            FakeResults.random(),
            name=None,
            dataset=("pets", "classification", files[0], with_media, None),
            model=("resnet", None, files[1]),
        )
    ws.catalog._local.conn = real
    assert (ws.datasets_dir / str(dv.id) / "samples.parquet").read_bytes() == stored
    names = [p.name for p in (ws.datasets_dir / str(dv.id)).iterdir()]
    assert not [n for n in names if n.startswith((".tmp-", ".bak-"))]
    assert ws.media_path(dv.id, 0) is None and ws.media_root(dv.id) is None


def test_opening_a_workspace_on_a_full_disk_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*args: Any, **kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "mkdir", full)
    with pytest.raises(StorageError, match="no space left on device"):
        Workspace(tmp_path / "new-home")


_SIZE_LIMITED = textwrap.dedent(
    """
    import resource, signal, sys
    sys.path.insert(0, {root!r})
    import pyarrow as pa
    from assay.store import Workspace
    from tests.store.fakes import FakeResults, fake_loader

    ws = Workspace({home!r}, loader=fake_loader)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
    try:
        ws.save_run(FakeResults.random(n={n}), name=None, params={{"note": "x" * {note}}},
                    dataset=("d", "classification", {gt!r}, pa.table({{"id": ["a"]}}), None),
                    model=("m", None, None))
    except Exception as exc:
        print(type(exc).__name__, exc)
    """
)


@pytest.mark.parametrize(
    ("n", "note", "reason"),
    [
        (100_000, 0, "file too large for the file system"),  # numpy's short write
        (10, 1_000_000, "the catalog reports 'disk I/O error'"),  # SQLite's WAL write
    ],
)
def test_a_real_write_limit_stores_nothing(
    ws: Workspace, files: tuple[Path, Path], n: int, note: int, reason: str
) -> None:
    """A real refusal by the kernel (RLIMIT_FSIZE: the same short writes and errors as a full
    disk, no root needed) for the artifacts, then for the catalog."""
    before, disk = _counts(ws), _on_disk(ws)
    script = _SIZE_LIMITED.format(
        root=str(ROOT), home=str(ws.home), gt=str(files[0]), n=n, note=note
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == (
        f"StorageError {ws.home}: cannot write the workspace ({reason}); nothing was stored"
    )
    _assert_nothing_stored(ws, before, disk)


def _run_writer(home: str, gt: str, pred: str, worker: int) -> list[int]:
    ws = Workspace(home, loader=fake_loader)  # its garbage collection runs beside the writer
    samples = pa.table({"id": [f"s{i}" for i in range(50)]})
    return [
        ws.save_run(
            FakeResults.random(seed=worker * 100 + i),
            name=f"w{worker}-{i}",
            dataset=("pets", "classification", gt, samples, None),
            model=("resnet", None, pred),
        ).id
        for i in range(10)
    ]


def test_two_processes_storing_runs(ws: Workspace, files: tuple[Path, Path]) -> None:
    import multiprocessing

    args = [(str(ws.home), str(files[0]), str(files[1]), w) for w in range(2)]
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        ids = [i for batch in pool.starmap(_run_writer, args) for i in batch]
    assert len(set(ids)) == 20
    assert _counts(ws) == {
        "datasets": 1,
        "dataset_versions": 1,
        "models": 1,
        "model_versions": 1,
        "evaluations": 20,
    }
    assert sorted(p.name for p in ws.evaluations_dir.iterdir()) == sorted(map(str, ids))
    assert [p.name for p in ws.datasets_dir.iterdir()] == ["1"]
