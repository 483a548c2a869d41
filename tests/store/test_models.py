"""Schema 3 of the workspace: runnable model versions (a stored copy, its spec), ground truth read
again for jobs, predictions stored with an evaluation, and model jobs."""

from __future__ import annotations

import importlib.util
import json
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from assay import settings
from assay.errors import InputError, NotFoundError
from assay.runners import PreprocessSpec, load_runner, spec_from_mapping
from assay.runners.spec import DetectionSpec, spec_to_mapping
from assay.store import Workspace
from assay.store.catalog import _MIGRATE_2, _SCHEMA, SCHEMA_VERSION
from tests.runners.models import linear_softmax, reference_probs, write_images
from tests.store.fakes import FakeResults, fake_loader


def needs(module: str, extra: str):
    """Skipped when the extra is missing, except in CI (CI=true installs every extra)."""
    if os.environ.get("CI") == "true":
        return pytest.mark.usefixtures()
    missing = importlib.util.find_spec(module) is None
    return pytest.mark.skipif(missing, reason=f"the '{extra}' extra is not installed ({module})")


@pytest.fixture()
def ws(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path / "home", loader=fake_loader)


def _stored_files(ws: Workspace) -> list[str]:
    return sorted(
        p.relative_to(ws.models_dir).as_posix() for p in ws.models_dir.rglob("*") if p.is_file()
    )


def _counts(ws: Workspace) -> tuple[int, int]:
    models = ws.catalog.query_one("SELECT COUNT(*) FROM models")
    versions = ws.catalog.query_one("SELECT COUNT(*) FROM model_versions")
    return models[0], versions[0]  # type: ignore[index]


# ------------------------------------------------------------------ schema


def test_a_schema_2_catalog_is_migrated(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with sqlite3.connect(home / "catalog.sqlite") as conn:
        conn.executescript(_SCHEMA + _MIGRATE_2)
        conn.execute("INSERT INTO models (name, created_at) VALUES ('m', 'now')")
        conn.execute(
            "INSERT INTO model_versions (model_id, version, hash, path, created_at)"
            " VALUES (1, 'v1', 'h', '/p.csv', 'now')"
        )
        conn.execute(
            "INSERT INTO jobs (status, params, created_at, updated_at)"
            " VALUES ('done', '{\"gt\": \"a.csv\"}', 'now', 'now')"
        )
        conn.execute("PRAGMA user_version = 2")
    ws = Workspace(home, loader=fake_loader)
    assert ws.catalog.query_one("PRAGMA user_version") == (SCHEMA_VERSION,) == (6,)
    columns = {r[1] for r in ws.catalog.query("PRAGMA table_info(model_versions)")}
    assert {"task", "backend", "info", "artifact", "kept"} <= columns
    columns = {r[1] for r in ws.catalog.query("PRAGMA table_info(jobs)")}
    assert {"kind", "model_version_id", "dataset_version_id", "done", "total", "started_at"} <= (
        columns
    )
    old = ws.get_model_version(1)
    assert (old.task, old.backend, old.info, old.artifact, old.runnable) == (
        None,
        None,
        None,
        None,
        False,
    )
    job = ws.get_job(1)
    assert (job.kind, job.done, job.total, job.started_at, job.params) == (
        "files",
        0,
        None,
        None,
        {"gt": "a.csv"},
    )
    with pytest.raises(InputError, match=r"^model version 1 was registered from a predictions"):
        ws.load_model_runner(1)


def test_spec_to_mapping_round_trips() -> None:
    specs = [
        PreprocessSpec(),
        PreprocessSpec(
            size=(224, 224),
            resize=256,
            resize_mode="shorter",
            mean=(0.485, 0.456, 0.406),
            std=(0.229, 0.224, 0.225),
            classes=("a", "b"),
            channels="BGR",
        ),
        PreprocessSpec(task="detection", detection=DetectionSpec(format="yolo", objectness=True)),
    ]
    for spec in specs:
        mapping = spec_to_mapping(spec)
        assert json.loads(json.dumps(mapping)) == mapping  # plain JSON
        assert "source" not in mapping
        assert spec_from_mapping(mapping) == spec


# ------------------------------------------------------------------ add_model


def test_add_an_onnx_model(ws: Workspace, tmp_path: Path) -> None:
    path, w, b = linear_softmax(tmp_path / "lin.onnx", n_classes=3)
    (tmp_path / "names.txt").write_text("cat\ndog\nowl\n")
    overrides = {"labels_file": str(tmp_path / "names.txt")}
    mv = ws.add_model(path, name="lin", overrides=overrides)
    assert (mv.version, mv.task, mv.backend, mv.runnable) == (
        "v1",
        "classification",
        "onnxruntime",
        True,
    )
    assert mv.artifact == f"models/{mv.id}" and mv.path == str(path.resolve())
    assert mv.info is not None and mv.info["classes"] == ["cat", "dog", "owl"]
    assert (
        mv.info["spec"]["size"] == [8, 8] and mv.info["spec"]["labels_file"] == "labels/names.txt"
    )
    assert _stored_files(ws) == ["1/.lock", "1/labels/names.txt", "1/model/lin.onnx"]
    # the same bytes and spec: the same version; another spec: another version
    assert ws.add_model(path, name="lin", overrides=overrides).id == mv.id
    other = ws.add_model(path, name="lin", overrides={**overrides, "channels": "BGR"})
    assert other.id != mv.id and other.version == "v2"
    # the stored copy runs without the original files
    path.unlink()
    (tmp_path / "names.txt").unlink()
    runner = ws.load_model_runner(mv.id)
    assert runner.describe().classes == ("cat", "dog", "owl")
    x = np.random.default_rng(0).uniform(size=(2, 3, 8, 8)).astype(np.float32)
    np.testing.assert_allclose(runner.predict(x), reference_probs(x, w, b), rtol=1e-5, atol=1e-6)
    assert Path(runner.path).is_relative_to(ws.models_dir)


def test_version_labels_and_parents(ws: Workspace, tmp_path: Path) -> None:
    fp32, _, _ = linear_softmax(tmp_path / "fp32.onnx", n_classes=2, seed=1)
    int8, _, _ = linear_softmax(tmp_path / "int8.onnx", n_classes=2, seed=2)
    parent = ws.add_model(fp32, name="net", version="fp32")
    child = ws.add_model(int8, name="net", version="int8", parent_version_id=parent.id)
    assert (child.version, child.parent_version_id) == ("int8", parent.id)
    assert ws.add_model(int8, name="net", version="int8").id == child.id
    with pytest.raises(InputError, match=r"already has a version 'fp32' with other files"):
        ws.add_model(int8, name="net", version="fp32")
    before = (_counts(ws), _stored_files(ws))
    with pytest.raises(NotFoundError, match=r"model version 99 not found \(--parent\)"):
        ws.add_model(int8, name="other", parent_version_id=99)
    assert (_counts(ws), _stored_files(ws)) == before
    assert ws.find_model_version("net").id == child.id
    assert ws.find_model_version("net", "fp32").id == parent.id
    with pytest.raises(NotFoundError):
        ws.find_model_version("net", "fp16")


def test_a_bad_model_stores_nothing(ws: Workspace, tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(InputError, match=r"bad.onnx: not a loadable ONNX model"):
        ws.add_model(bad, name="bad")
    path, _, _ = linear_softmax(tmp_path / "lin.onnx", n_classes=3)
    with pytest.raises(InputError, match=r"the spec gives size 9x9"):
        ws.add_model(path, name="lin", overrides={"size": (9, 9)})
    with pytest.raises(InputError, match=r"no such model file"):
        ws.add_model(tmp_path / "missing.onnx", name="x")
    assert _counts(ws) == (0, 0) and _stored_files(ws) == []


def test_a_model_over_the_limit_is_refused(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path, _, _ = linear_softmax(tmp_path / "lin.onnx", n_classes=3)
    monkeypatch.setattr(settings, "MAX_MODEL_BYTES", path.stat().st_size - 1)
    with pytest.raises(InputError, match=r"lin.onnx: the model is \d+ MiB, over the workspace's"):
        ws.add_model(path, name="lin")
    assert _counts(ws) == (0, 0) and _stored_files(ws) == []
    monkeypatch.setattr(settings, "MAX_MODEL_BYTES", path.stat().st_size)
    assert ws.add_model(path, name="lin").runnable


def test_a_copy_that_fails_midway_leaves_nothing(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assay.store import _models

    path, _, _ = linear_softmax(tmp_path / "lin.onnx", n_classes=3)

    def fail(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_models.shutil, "copyfile", fail)
    with pytest.raises(Exception, match="no space left on device"):
        ws.add_model(path, name="lin")
    assert _counts(ws) == (0, 0) and list(ws.models_dir.iterdir()) == []


def test_a_folder_without_its_row_is_collected(ws: Workspace, tmp_path: Path) -> None:
    path, _, _ = linear_softmax(tmp_path / "lin.onnx", n_classes=3)
    mv = ws.add_model(path, name="lin")
    (ws.models_dir / "77").mkdir()  # a crash between the rename and the commit
    Workspace(ws.home, loader=fake_loader)
    assert sorted(p.name for p in ws.models_dir.iterdir()) == [str(mv.id)]


def test_delete_model_version(ws: Workspace, tmp_path: Path) -> None:
    path, _, _ = linear_softmax(tmp_path / "lin.onnx", n_classes=3)
    mv = ws.add_model(path, name="lin")
    ws.create_job(kind="model", model_version_id=mv.id)
    with pytest.raises(InputError, match=r"model version 1 has 1 jobs; it is kept"):
        ws.delete_model_version(mv.id)
    ws.delete_job(1)
    ws.delete_model_version(mv.id)
    assert _counts(ws) == (0, 0) and list(ws.models_dir.iterdir()) == []


def test_a_skops_text_pipeline(ws: Workspace, tmp_path: Path) -> None:
    import skops.io as sio
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    texts = ["what is it", "who is he", "what now", "who now"]
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, ["q", "p"] * 2)
    sio.dump(pipe, tmp_path / "q.skops")
    mv = ws.add_model(tmp_path / "q.skops", name="q")
    assert (mv.backend, mv.info["media"], mv.info["classes"]) == ("skops", "text", ["p", "q"])
    runner = ws.load_model_runner(mv.id)
    np.testing.assert_allclose(runner.predict(texts), pipe.predict_proba(texts))


@needs("openvino", "openvino")
def test_an_openvino_ir_keeps_its_bin(ws: Workspace, tmp_path: Path) -> None:
    import openvino as ov

    onnx_path, w, b = linear_softmax(tmp_path / "lin.onnx", metadata={"classes": "a,b,c,d"})
    ov.save_model(
        ov.convert_model(str(onnx_path)), str(tmp_path / "ir.xml"), compress_to_fp16=False
    )
    mv = ws.add_model(tmp_path / "ir.bin", name="ir")  # named by either file
    assert mv.backend == "openvino" and mv.info["model_file"] == "model/ir.xml"
    assert _stored_files(ws) == ["1/.lock", "1/model/ir.bin", "1/model/ir.xml"]
    (tmp_path / "ir.bin").unlink()
    x = np.random.default_rng(1).uniform(size=(2, 3, 8, 8)).astype(np.float32)
    got = ws.load_model_runner(mv.id).predict(x)
    np.testing.assert_allclose(got, reference_probs(x, w, b), rtol=1e-4, atol=1e-6)


@needs("torch", "torch")
def test_a_torchscript_model(ws: Workspace, tmp_path: Path) -> None:
    import torch

    class Net(torch.nn.Module):
        def forward(self, x):
            return torch.softmax(x.flatten(1)[:, :3], dim=-1)

    torch.jit.save(torch.jit.script(Net()), str(tmp_path / "net.pt"))
    mv = ws.add_model(
        tmp_path / "net.pt", name="net", overrides={"size": (4, 4), "classes": ["a", "b", "c"]}
    )
    assert mv.backend == "torchscript" and mv.info["classes"] == ["a", "b", "c"]
    assert mv.info["spec"]["size"] == [4, 4]
    x = np.random.default_rng(2).uniform(size=(2, 3, 4, 4)).astype(np.float32)
    expected = torch.softmax(torch.from_numpy(x).flatten(1)[:, :3], dim=-1).numpy()
    np.testing.assert_allclose(ws.load_model_runner(mv.id).predict(x), expected, rtol=1e-5)


@needs("transformers", "hf")
def test_a_hugging_face_folder(ws: Workspace, tmp_path: Path) -> None:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "what", "who", "is"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
        sep_token="[SEP]",
    )  # fmt: skip
    folder = tmp_path / "clf"
    fast.save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(words), hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=16, num_labels=2, id2label={0: "what", 1: "who"},
        label2id={"what": 0, "who": 1},
    )  # fmt: skip
    torch.manual_seed(0)
    BertForSequenceClassification(config).eval().save_pretrained(folder)
    texts = ["what is", "who is"]
    expected = load_runner(folder).predict(texts)
    mv = ws.add_model(folder, name="bert")
    assert mv.backend == "transformers" and mv.info["model_file"] == "model/clf"
    assert mv.info["classes"] == ["what", "who"]
    assert "1/model/clf/config.json" in _stored_files(ws)
    for p in sorted(folder.rglob("*"), reverse=True):
        p.unlink() if p.is_file() else p.rmdir()
    np.testing.assert_allclose(ws.load_model_runner(mv.id).predict(texts), expected, rtol=1e-5)


# ------------------------------------------------------------------ ground truth, runs, jobs


def test_dataset_ground_truth_gone_or_changed(ws: Workspace, tmp_path: Path) -> None:
    gt = tmp_path / "gt.csv"
    gt.write_text("id,label\na,cat\n")
    dv = ws.add_dataset_version("pets", task="classification", source=gt)
    assert ws.dataset_ground_truth(dv.id) == gt.resolve()
    gt.write_text("id,label\na,dog\n")
    with pytest.raises(InputError, match=rf"gt.csv: changed since dataset version {dv.id} was"):
        ws.dataset_ground_truth(dv.id)
    gt.unlink()
    with pytest.raises(InputError, match=rf"of dataset version {dv.id} no longer exists"):
        ws.dataset_ground_truth(dv.id)
    folder = tmp_path / "images"
    write_images(folder / "cat", 2, size=(4, 4))
    dv2 = ws.add_dataset_version("folder", task="classification", source=folder)
    assert ws.dataset_ground_truth(dv2.id) == folder.resolve()
    write_images(folder / "dog", 1, size=(4, 4))
    with pytest.raises(InputError, match="changed since"):
        ws.dataset_ground_truth(dv2.id)
    with pytest.raises(NotFoundError):
        ws.dataset_ground_truth(999)


def test_a_run_of_a_registered_model_stores_its_predictions(ws: Workspace, tmp_path: Path) -> None:
    path, _, _ = linear_softmax(tmp_path / "lin.onnx", n_classes=3)
    mv = ws.add_model(path, name="lin")
    gt = tmp_path / "gt.csv"
    gt.write_text("id,label\na,cat\n")
    pred = tmp_path / "work" / "predictions.parquet"
    pred.parent.mkdir()
    pred.write_bytes(b"PAR1 some bytes")
    dataset = ("pets", "classification", gt, None, None)
    record = ws.save_run(
        FakeResults.random(), name=None, dataset=dataset, model_version_id=mv.id,
        predictions_file=pred,
    )  # fmt: skip
    assert record.model_version is not None and record.model_version.id == mv.id
    assert record.name == "lin on pets" and _counts(ws) == (1, 1)  # no model made of the file
    stored = ws.predictions_file(record.id)
    assert stored == record.artifact_dir / "predictions.parquet"
    assert stored.read_bytes() == b"PAR1 some bytes"
    plain = ws.save_run(
        FakeResults.random(), name=None, dataset=dataset, model=("from-file", None, gt)
    )
    assert ws.predictions_file(plain.id) is None
    before = len(ws.list_evaluations())
    with pytest.raises(NotFoundError, match="model version 42 not found"):
        ws.save_run(
            FakeResults.random(), name=None, dataset=dataset, model_version_id=42,
            predictions_file=pred,
        )  # fmt: skip
    assert len(ws.list_evaluations()) == before


def test_model_jobs(ws: Workspace, tmp_path: Path) -> None:
    path, _, _ = linear_softmax(tmp_path / "lin.onnx", n_classes=3)
    mv = ws.add_model(path, name="lin")
    gt = tmp_path / "gt.csv"
    gt.write_text("id,label\na,cat\n")
    dv = ws.add_dataset_version("pets", task="classification", source=gt)
    files_job = ws.create_job({"gt": "a.csv"})
    job = ws.create_job(
        {"batch": 8}, kind="model", model_version_id=mv.id, dataset_version_id=dv.id
    )
    assert (job.kind, job.status, job.done, job.total, job.started_at) == (
        "model", "queued", 0, None, None,
    )  # fmt: skip
    assert job.params == {"batch": 8} and files_job.kind == "files"
    started = ws.start_job(job.id)
    assert started.status == "running" and started.started_at is not None
    ws.update_job_progress(job.id, 32, 100)
    assert (ws.get_job(job.id).done, ws.get_job(job.id).total) == (32, 100)
    assert [j.id for j in ws.list_jobs(model_version_id=mv.id)] == [job.id]
    assert [j.id for j in ws.list_jobs(status="running")] == [job.id]
    assert [j.id for j in ws.list_jobs(status="queued")] == [files_job.id]
    assert [j.id for j in ws.list_jobs()] == [job.id, files_job.id]
    with pytest.raises(NotFoundError, match="model version 9 not found"):
        ws.create_job(kind="model", model_version_id=9, dataset_version_id=dv.id)
    with pytest.raises(NotFoundError, match="dataset version 9 not found"):
        ws.create_job(kind="model", model_version_id=mv.id, dataset_version_id=9)
    with pytest.raises(ValueError, match="unknown job kind"):
        ws.create_job(kind="other")
    with pytest.raises(NotFoundError):
        ws.update_job_progress(999, 1, 2)
    assert ws.fail_unfinished_jobs() == 2
    assert {j.status for j in ws.list_jobs()} == {"failed"}
