"""Nothing of the workspace's own is registered (or even read): the home, a folder holding it,
the catalog and its journal, the folders Assay keeps; jobs: a cancellation always wins, the same
queued job is one job."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay.errors import InputError
from assay.store import Workspace
from assay.store.datasets import register_dataset


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "home")


@pytest.mark.parametrize(
    "where", ["home", "catalog.sqlite", "catalog.sqlite-wal", "evaluations", "parent", "link"]
)
def test_the_workspace_own_files_are_never_registered(
    ws: Workspace, tmp_path: Path, where: str
) -> None:
    ws.create_job()  # the catalog has a WAL now
    target = {
        "home": ws.home,
        "catalog.sqlite": ws.home / "catalog.sqlite",
        "catalog.sqlite-wal": ws.home / "catalog.sqlite-wal",
        "evaluations": ws.evaluations_dir,
        "parent": tmp_path,
        "link": tmp_path / "innocent",
    }[where]
    if where == "link":
        target.symlink_to(ws.home / "catalog.sqlite")
    with pytest.raises(InputError, match="workspace's own files") as caught:
        register_dataset(ws, target)
    assert len(str(caught.value).splitlines()) == 1
    with pytest.raises(InputError, match="workspace's own files"):
        ws.add_dataset_version("x", task="classification", source=target)
    with pytest.raises(InputError, match="workspace's own files"):
        ws.add_model_version("m", path=target)
    with pytest.raises(InputError, match="workspace's own files"):
        ws.add_model(target, name="m")
    assert ws.list_datasets() == [] and ws.list_models() == []
    assert ws.integrity_check() == "ok"


def test_a_folder_of_ones_own_inside_the_home_may_be_registered(ws: Workspace) -> None:
    data = ws.home / "demo-data"  # as the demo keeps its data
    data.mkdir()
    (data / "gt.csv").write_text("id,label\n1,cat\n2,dog\n")
    version, new, _ = register_dataset(ws, data / "gt.csv")
    assert new and version.n_samples == 2


def test_a_media_path_into_the_catalog_is_refused(ws: Workspace, tmp_path: Path) -> None:
    gt = tmp_path / "gt.csv"
    gt.write_text(f"id,label,path\n1,cat,{ws.home / 'catalog.sqlite'}\n")
    with pytest.raises(InputError, match="workspace's own files"):
        register_dataset(ws, gt, allow_outside=True)
    assert ws.list_datasets() == []


def test_a_cancelled_job_is_never_started_or_marked_done(ws: Workspace) -> None:
    job = ws.create_job({"gt": "a.csv"})
    ws.start_job(job.id, pid=123)
    assert ws.get_job(job.id).pid == 123
    ws.update_job(job.id, status="failed", error="cancelled")
    assert ws.update_job(job.id, status="done", evaluation_id=None).status == "failed"
    assert ws.start_job(job.id, pid=456).status == "failed"
    assert ws.update_job(job.id, status="queued").error == "cancelled"


def test_the_same_job_waiting_or_running_is_one_job(ws: Workspace) -> None:
    first = ws.create_job({"gt": "a.csv", "pred": "b.csv"}, dedupe=True)
    again = ws.create_job({"pred": "b.csv", "gt": "a.csv"}, dedupe=True)
    other = ws.create_job({"gt": "a.csv", "pred": "c.csv"}, dedupe=True)
    assert again.id == first.id and other.id != first.id
    ws.start_job(first.id)
    assert ws.create_job({"gt": "a.csv", "pred": "b.csv"}, dedupe=True).id == first.id
    ws.update_job(first.id, status="done")
    assert ws.create_job({"gt": "a.csv", "pred": "b.csv"}, dedupe=True).id != first.id
    assert ws.create_job({"gt": "a.csv", "pred": "c.csv"}).id != other.id  # asked for
