"""The workspace: round trips, dataset and model versions, jobs, crash safety, two writers."""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from assay.errors import NotFoundError
from assay.store import Workspace
from assay.store import workspace as workspace_module
from assay.store.catalog import SCHEMA_VERSION
from tests.store.fakes import FakeResults, fake_loader

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "home", loader=fake_loader)


@pytest.fixture
def gt_file(tmp_path: Path) -> Path:
    path = tmp_path / "gt.csv"
    path.write_text("id,label\na,cat\nb,dog\n")
    return path


def _dataset(ws: Workspace, gt_file: Path, tmp_path: Path, n: int = 50):
    image = tmp_path / "img0.png"
    image.write_bytes(b"\x89PNG fake")
    samples = pa.table(
        {
            "id": [f"s{i}" for i in range(n)],
            "text": [f"text {i}" for i in range(n)],
            "path": [str(image) if i == 0 else None for i in range(n)],
        }
    )
    return ws.add_dataset_version("pets", task="classification", source=gt_file, samples=samples)


def test_catalog_settings(ws: Workspace) -> None:
    conn = ws.catalog.connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] > 0
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 6
    assert (ws.home / "catalog.sqlite").exists()


def test_home_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSAY_HOME", str(tmp_path / "env-home"))
    assert Workspace().home == tmp_path / "env-home"
    assert (tmp_path / "env-home" / "catalog.sqlite").exists()


def test_newer_schema_refused(tmp_path: Path) -> None:
    Workspace(tmp_path).close()
    with sqlite3.connect(tmp_path / "catalog.sqlite") as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(Exception, match="newer"):
        Workspace(tmp_path)


def test_save_load_round_trip(ws: Workspace, gt_file: Path, tmp_path: Path) -> None:
    dv = _dataset(ws, gt_file, tmp_path)
    mv = ws.add_model_version("resnet")
    res = FakeResults.random()
    rec = ws.save_evaluation(
        res,
        task="classification",
        name="first",
        dataset_version_id=dv.id,
        model_version_id=mv.id,
        params={"threshold": 0.5, "x": np.float32(2.0)},
    )
    assert rec.status == "done"
    assert rec.dataset_version == dv
    assert rec.model_version == mv
    assert rec.params == {"threshold": 0.5, "x": 2.0}
    assert rec.summary["log_loss"] is None  # NaN stored as null
    assert rec.headline_metric == "roc_auc_macro"
    assert rec.headline_value == pytest.approx(res.summary()["roc_auc_macro"])
    assert (rec.n_samples, rec.n_classes) == (50, 3)
    assert rec.artifact_dir == ws.home / "evaluations" / str(rec.id)
    loaded = ws.load_results(rec.id)
    np.testing.assert_array_equal(loaded.y_score, res.y_score)
    np.testing.assert_array_equal(loaded.y_true, res.y_true)
    assert isinstance(loaded.y_score, np.memmap)
    assert loaded.classes == res.classes
    assert ws.load_results(rec.id) is loaded  # cached
    assert ws.get_evaluation(rec.id) == rec
    # a second workspace on the same home reads the same
    other = Workspace(ws.home, loader=fake_loader)
    assert [e.id for e in other.list_evaluations()] == [rec.id]
    np.testing.assert_array_equal(other.load_results(rec.id).y_score, res.y_score)


def test_list_newest_first_and_delete(ws: Workspace, gt_file: Path, tmp_path: Path) -> None:
    dv = _dataset(ws, gt_file, tmp_path)
    ids = [
        ws.save_evaluation(
            FakeResults.random(seed=i),
            task="classification",
            name=f"e{i}",
            dataset_version_id=dv.id,
        ).id
        for i in range(3)
    ]
    assert [e.id for e in ws.list_evaluations()] == ids[::-1]
    ws.load_results(ids[1])
    ws.delete_evaluation(ids[1])
    assert [e.id for e in ws.list_evaluations()] == [ids[2], ids[0]]
    assert not (ws.home / "evaluations" / str(ids[1])).exists()
    for call in (ws.get_evaluation, ws.load_results, ws.delete_evaluation):
        with pytest.raises(NotFoundError):
            call(ids[1])
    # ids are never reused after a delete
    new = ws.save_evaluation(
        FakeResults.random(), task="classification", name="n", dataset_version_id=dv.id
    )
    assert new.id == ids[2] + 1


def test_lru_cache_is_bounded(tmp_path: Path, gt_file: Path) -> None:
    ws = Workspace(tmp_path / "h", loader=fake_loader, cache_size=2)
    dv = _dataset(ws, gt_file, tmp_path)
    ids = [
        ws.save_evaluation(
            FakeResults.random(seed=i), task="classification", name="e", dataset_version_id=dv.id
        ).id
        for i in range(3)
    ]
    first = ws.load_results(ids[0])
    ws.load_results(ids[1])
    ws.load_results(ids[2])
    assert ws.load_results(ids[0]) is not first


def test_same_file_same_version_changed_file_new(ws: Workspace, tmp_path: Path) -> None:
    gt = tmp_path / "gt.csv"
    gt.write_text("id,label\na,cat\n")
    v1 = ws.add_dataset_version("pets", task="classification", source=gt)
    assert ws.add_dataset_version("pets", task="classification", source=gt) == v1
    gt.write_text("id,label\na,dog\n")
    v2 = ws.add_dataset_version("pets", task="classification", source=gt)
    assert v2.id != v1.id and v2.hash != v1.hash
    assert (v1.version, v2.version) == ("v1", "v2")
    gt.write_text("id,label\na,cat\n")  # back to the first content
    assert ws.add_dataset_version("pets", task="classification", source=gt) == v1
    [dataset] = ws.list_datasets()
    assert (dataset.name, dataset.n_versions) == ("pets", 2)
    assert [v.id for v in ws.list_dataset_versions(dataset.id)] == [v1.id, v2.id]
    with pytest.raises(NotFoundError):
        ws.list_dataset_versions(999)


def test_folder_hash_covers_names_and_bytes(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "images"
    (folder / "cat").mkdir(parents=True)
    (folder / "cat" / "1.jpg").write_bytes(b"one")
    v1 = ws.add_dataset_version("folder", task="classification", source=folder)
    assert ws.add_dataset_version("folder", task="classification", source=folder) == v1
    (folder / "cat" / "1.jpg").rename(folder / "cat" / "2.jpg")
    v2 = ws.add_dataset_version("folder", task="classification", source=folder)
    assert v2.id != v1.id


def test_samples_table_and_media_path(ws: Workspace, gt_file: Path, tmp_path: Path) -> None:
    dv = _dataset(ws, gt_file, tmp_path)
    table = ws.samples_table(dv.id)
    assert table.num_rows == 50 == dv.n_samples
    assert table.column("id")[3].as_py() == "s3"
    assert (ws.home / "datasets" / str(dv.id) / "samples.parquet").exists()
    assert ws.media_path(dv.id, 0) == (tmp_path / "img0.png").resolve()
    assert ws.media_path(dv.id, 1) is None
    for index in (-1, 50):
        with pytest.raises(NotFoundError):
            ws.media_path(dv.id, index)
    with pytest.raises(NotFoundError):
        ws.media_path(dv.id + 100, 0)
    rec = ws.save_evaluation(
        FakeResults.random(), task="classification", name="e", dataset_version_id=dv.id
    )
    assert ws.sample_media_path(rec.id, 0) == ws.media_path(dv.id, 0)


def test_samples_from_table_only(ws: Workspace) -> None:
    samples = pa.table({"id": [1, 2, 3]})
    dv = ws.add_dataset_version("t", task="classification", samples=samples)
    assert ws.add_dataset_version("t", task="classification", samples=samples) == dv
    assert ws.samples_table(dv.id).column("id").to_pylist() == ["1", "2", "3"]


def test_models_and_parents(ws: Workspace, tmp_path: Path) -> None:
    fp32 = ws.add_model_version("resnet")
    weights = tmp_path / "int8.onnx"
    weights.write_bytes(b"weights")
    int8 = ws.add_model_version("resnet", parent_version_id=fp32.id, path=weights)
    assert int8.parent_version_id == fp32.id and int8.hash and int8.version == "v2"
    assert ws.add_model_version("resnet", path=weights) == int8
    named = ws.add_model_version("resnet", version="int8-final")
    assert ws.add_model_version("resnet", version="int8-final") == named
    [model] = ws.list_models()
    assert model.n_versions == 3
    assert [v.id for v in ws.list_model_versions(model.id)] == [fp32.id, int8.id, named.id]
    with pytest.raises(NotFoundError):
        ws.add_model_version("x", parent_version_id=999)
    with pytest.raises(NotFoundError):
        ws.list_model_versions(999)


def test_unknown_references(ws: Workspace, gt_file: Path, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError):
        ws.save_evaluation(
            FakeResults.random(), task="classification", name="e", dataset_version_id=9
        )
    dv = _dataset(ws, gt_file, tmp_path)
    with pytest.raises(NotFoundError):
        ws.save_evaluation(
            FakeResults.random(),
            task="classification",
            name="e",
            dataset_version_id=dv.id,
            model_version_id=5,
        )
    assert ws.list_evaluations() == []


def test_jobs(ws: Workspace, gt_file: Path, tmp_path: Path) -> None:
    job = ws.create_job({"gt": "a.csv"})
    assert job.status == "queued" and job.evaluation_id is None
    assert ws.update_job(job.id, status="running").status == "running"
    dv = _dataset(ws, gt_file, tmp_path)
    rec = ws.save_evaluation(
        FakeResults.random(), task="classification", name="e", dataset_version_id=dv.id
    )
    done = ws.update_job(job.id, status="done", evaluation_id=rec.id)
    assert (done.status, done.evaluation_id) == ("done", rec.id)
    other = ws.create_job()
    assert ws.fail_unfinished_jobs("server stopped") == 1
    assert ws.get_job(other.id).error == "server stopped"
    assert [j.id for j in ws.list_jobs()] == [other.id, job.id]
    ws.delete_evaluation(rec.id)
    assert ws.get_job(job.id).evaluation_id is None
    ws.delete_job(other.id)
    with pytest.raises(NotFoundError):
        ws.get_job(other.id)
    with pytest.raises(NotFoundError):
        ws.update_job(12345, status="done")
    with pytest.raises(ValueError):
        ws.update_job(job.id, status="exploded")


def test_failure_between_arrays_and_row_leaves_nothing(
    ws: Workspace, gt_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dv = _dataset(ws, gt_file, tmp_path)
    kept = ws.save_evaluation(
        FakeResults.random(), task="classification", name="kept", dataset_version_id=dv.id
    )

    def boom(*args: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(workspace_module.Workspace, "_insert_evaluation_row", staticmethod(boom))
    with pytest.raises(RuntimeError, match="disk on fire"):
        ws.save_evaluation(
            FakeResults.random(), task="classification", name="lost", dataset_version_id=dv.id
        )
    assert [e.id for e in ws.list_evaluations()] == [kept.id]
    assert sorted(p.name for p in (ws.home / "evaluations").iterdir()) == [str(kept.id)]
    assert ws.integrity_check() == "ok"


def test_failure_while_writing_arrays_leaves_nothing(
    ws: Workspace, gt_file: Path, tmp_path: Path
) -> None:
    dv = _dataset(ws, gt_file, tmp_path)
    bad = FakeResults.random()
    bad.arrays = lambda: (  # type: ignore[method-assign]
        {"y_true": bad.y_true, "y_score": np.array([object()], dtype=object)},
        {"classes": bad.classes},
    )
    with pytest.raises(ValueError, match="dtype object"):
        ws.save_evaluation(bad, task="classification", name="bad", dataset_version_id=dv.id)
    assert ws.list_evaluations() == []
    assert list((ws.home / "evaluations").iterdir()) == []


_CRASH_SCRIPT = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, {root!r})
    from assay.store import artifacts, workspace as w
    from tests.store.fakes import FakeResults, fake_loader

    def die(*args):
        os._exit(17)

    if sys.argv[1] == "before-rename":
        artifacts.fsync_dir = die  # first fsync_dir call: after the arrays, before the rename
    else:
        w.Workspace._insert_evaluation_row = staticmethod(die)  # after the rename
    ws = w.Workspace({home!r}, loader=fake_loader)
    ws.save_evaluation(FakeResults.random(), task="classification", name="crash",
                       dataset_version_id={dv})
    """
)


def test_object_string_arrays_are_stored_as_str(
    ws: Workspace, gt_file: Path, tmp_path: Path
) -> None:
    dv = _dataset(ws, gt_file, tmp_path)
    res = FakeResults.random(n=3)
    res.y_true = np.array(["a", "bb", "c"], dtype=object)
    rec = ws.save_evaluation(res, task="classification", name="s", dataset_version_id=dv.id)
    assert ws.load_results(rec.id).y_true.tolist() == ["a", "bb", "c"]


@pytest.mark.parametrize("where", ["before-rename", "after-rename"])
def test_process_killed_mid_save(ws: Workspace, gt_file: Path, tmp_path: Path, where: str) -> None:
    dv = _dataset(ws, gt_file, tmp_path)
    kept = ws.save_evaluation(
        FakeResults.random(), task="classification", name="kept", dataset_version_id=dv.id
    )
    script = _CRASH_SCRIPT.format(root=str(ROOT), home=str(ws.home), dv=dv.id)
    proc = subprocess.run([sys.executable, "-c", script, where], capture_output=True, text=True)
    assert proc.returncode == 17, proc.stderr
    leftovers = [p.name for p in (ws.home / "evaluations").iterdir() if p.name != str(kept.id)]
    assert leftovers  # the crash did leave something on disk...
    assert [e.id for e in ws.list_evaluations()] == [kept.id]  # ...that is never listed
    assert ws.integrity_check() == "ok"
    reopened = Workspace(ws.home, loader=fake_loader)  # ...and is collected on open
    assert sorted(p.name for p in (ws.home / "evaluations").iterdir()) == [str(kept.id)]
    assert [e.id for e in reopened.list_evaluations()] == [kept.id]
    after = reopened.save_evaluation(
        FakeResults.random(), task="classification", name="after", dataset_version_id=dv.id
    )
    np.testing.assert_array_equal(
        reopened.load_results(after.id).y_true, FakeResults.random().y_true
    )


def test_open_does_not_collect_a_temp_folder_being_written(ws: Workspace) -> None:
    from assay.store.artifacts import TempArtifactDir

    with TempArtifactDir(ws.home / "evaluations") as tmp:
        Workspace(ws.home, loader=fake_loader)
        assert tmp.path.exists()
    assert not tmp.path.exists()


def _writer(home: str, dataset_version_id: int, worker: int) -> list[int]:
    ws = Workspace(home, loader=fake_loader)
    ids = []
    for i in range(20):
        rec = ws.save_evaluation(
            FakeResults.random(n=20, seed=worker * 100 + i),
            task="classification",
            name=f"w{worker}-{i}",
            dataset_version_id=dataset_version_id,
        )
        ids.append(rec.id)
    return ids


def test_two_writer_processes(ws: Workspace, gt_file: Path, tmp_path: Path) -> None:
    dv = _dataset(ws, gt_file, tmp_path)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        results = pool.starmap(_writer, [(str(ws.home), dv.id, 0), (str(ws.home), dv.id, 1)])
    all_ids = results[0] + results[1]
    assert len(set(all_ids)) == 40
    listed = ws.list_evaluations()
    assert sorted(e.id for e in listed) == sorted(all_ids)
    assert sorted(e.name for e in listed) == sorted(f"w{w}-{i}" for w in (0, 1) for i in range(20))
    assert ws.integrity_check() == "ok"
    for rec in listed:
        worker, i = (int(x) for x in rec.name[1:].split("-"))
        expected = FakeResults.random(n=20, seed=worker * 100 + i)
        np.testing.assert_array_equal(ws.load_results(rec.id).y_score, expected.y_score)
    assert sorted(p.name for p in (ws.home / "evaluations").iterdir()) == sorted(
        str(i) for i in all_ids
    )
    assert os.listdir(ws.home / "evaluations")
