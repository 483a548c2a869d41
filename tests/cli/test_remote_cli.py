"""`assay evaluate` with its ground truth, predictions and model in a bucket (moto's S3 server,
started here): the same numbers as the local files, the dataset recorded by its URL, and each
failure one line with exit code 2, never showing the credentials."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from assay.cli.main import app
from tests.moto_s3 import SECRET, deny_bucket, free_port, need_moto, s3_server, upload
from tests.runners.models import linear_softmax, write_images

need_moto()

CLASSES = ("cat", "dog", "owl")


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The files, on disk: a score table and its ground truth, an ImageFolder, a model."""
    folder = tmp_path_factory.mktemp("files")
    rng = np.random.default_rng(7)
    y = rng.integers(0, 3, 40)
    scores = rng.dirichlet(np.ones(3), 40)
    (folder / "gt.csv").write_text(
        "id,label\n" + "".join(f"s{i},{CLASSES[k]}\n" for i, k in enumerate(y))
    )
    (folder / "pred.csv").write_text(
        "id," + ",".join(CLASSES) + "\n"
        + "".join(f"s{i}," + ",".join(f"{v:.6f}" for v in row) + "\n" for i, row in enumerate(scores))
    )  # fmt: skip
    for k, name in enumerate(CLASSES):
        write_images(folder / "pets" / name, 3, size=(8, 8), seed=k)
    (folder / "models").mkdir()
    linear_softmax(folder / "models" / "lin.onnx", n_classes=3)
    (folder / "models" / "lin.labels.txt").write_text("\n".join(CLASSES) + "\n")
    (folder / "models" / "unrelated.bin").write_bytes(b"not read")
    from assay.demo.shapes import make_shapes_dataset

    make_shapes_dataset(folder / "det", n_images=6)
    return folder


@pytest.fixture(scope="module")
def endpoint(local: Path) -> Iterator[str]:
    with s3_server() as url:
        upload(url, "evals", local)
        deny_bucket(url, "locked")
        yield url


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, endpoint: str) -> Path:
    monkeypatch.setenv("ASSAY_HOME", str(tmp_path / "ws"))
    monkeypatch.setenv("COLUMNS", "80")
    return tmp_path / "ws"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def numbers(path: Path) -> dict[str, Any]:
    report = json.loads(path.read_text())
    report.pop("id")
    return dict(report)


def sources(home: Path) -> list[str]:
    with sqlite3.connect(home / "catalog.sqlite") as conn:
        return [r[0] for r in conn.execute("SELECT source FROM dataset_versions ORDER BY id")]


def test_predictions_from_a_bucket_give_the_local_numbers(
    home: Path, local: Path, tmp_path: Path
) -> None:
    a, b = tmp_path / "local.json", tmp_path / "remote.json"
    code, stdout, stderr = run(
        "evaluate", "--gt", "s3://evals/gt.csv", "--pred", "s3://evals/pred.csv", "--json", str(b)
    )  # fmt: skip
    assert code == 0, stderr
    assert sources(home) == ["s3://evals/gt.csv"]  # recorded by its URL
    code, _, stderr = run(
        "evaluate", "--gt", str(local / "gt.csv"), "--pred", str(local / "pred.csv"),
        "--json", str(a), "--force",
    )  # fmt: skip
    assert code == 0, stderr
    assert numbers(b) == numbers(a)
    assert sources(home) == ["s3://evals/gt.csv"]  # the same bytes: the same version
    assert SECRET not in (home / "catalog.sqlite").read_bytes().decode("latin-1")


def test_a_model_and_images_from_a_bucket(home: Path, local: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "local.json", tmp_path / "remote.json"
    code, _, stderr = run(
        "evaluate", "--gt", "s3://evals/pets/", "--model", "s3://evals/models/lin.onnx",
        "--json", str(b),
    )  # fmt: skip
    assert code == 0, stderr
    assert sources(home) == ["s3://evals/pets"]  # a prefix, recorded by its URL
    code, _, stderr = run(
        "evaluate", "--gt", str(local / "pets"), "--model", str(local / "models" / "lin.onnx"),
        "--json", str(a), "--force",
    )  # fmt: skip
    assert code == 0, stderr
    assert numbers(b) == numbers(a)
    cached = home / "remote-cache" / "files" / "s3" / "evals" / "models"
    assert sorted(p.name for p in cached.iterdir()) == ["lin.labels.txt", "lin.onnx"]


@pytest.mark.parametrize(
    ("gt", "expected"),
    [
        ("s3://evals/no-such.csv", "Error: s3://evals/no-such.csv: no such object"),
        ("s3://nobucket/gt.csv", "Error: s3://nobucket/gt.csv: no such bucket 'nobucket'"),
        ("s3://locked/secret.csv", "Error: s3://locked/secret.csv: access denied by S3"),
        ("s3://AKIA:hunter2@evals/gt.csv", "Error: s3://evals/gt.csv: credentials in a URL"),
        ("ftp://evals/gt.csv", "Error: ftp://evals/gt.csv: unsupported URL scheme 'ftp://'"),
    ],
)
def test_failures_are_one_line_and_exit_2(home: Path, gt: str, expected: str) -> None:
    code, stdout, stderr = run("evaluate", "--gt", gt, "--pred", "s3://evals/pred.csv")
    assert code == 2
    assert stderr.count("\n") == 1 and stderr.startswith(expected), stderr
    assert SECRET not in stderr + stdout and "hunter2" not in stderr
    assert not (home / "catalog.sqlite").exists() or sources(home) == []


def test_an_unreachable_endpoint_is_one_line(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    code, _, stderr = run("evaluate", "--gt", "s3://evals/gt.csv", "--pred", "s3://evals/pred.csv")
    assert code == 2 and stderr.count("\n") == 1
    assert stderr.startswith("Error: s3://evals/gt.csv: cannot reach the S3 endpoint")


def test_a_missing_model_object_is_one_line(home: Path) -> None:
    code, _, stderr = run("evaluate", "--gt", "s3://evals/pets/", "--model", "s3://evals/m.onnx")
    assert code == 2 and stderr == "Error: s3://evals/m.onnx: no such object\n"


def test_gs_without_its_extra_is_one_line(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from assay.formats import remote

    monkeypatch.setitem(sys.modules, "gcsfs", None)
    monkeypatch.setattr(remote, "_filesystems", {})
    code, _, stderr = run("evaluate", "--gt", "gs://evals/gt.csv", "--pred", "gs://evals/p.csv")
    assert code == 2
    assert stderr == "Error: gs://evals/gt.csv: gs:// URLs need gcsfs: install assay[cloud]\n"


def test_datasets_add_takes_a_url(home: Path) -> None:
    code, stdout, stderr = run("datasets", "add", "s3://evals/gt.csv", "--name", "remote-gt")
    assert code == 0, stderr
    assert sources(home) == ["s3://evals/gt.csv"]
    code, _, stderr = run("datasets", "add", "s3://evals/none.csv")
    assert code == 2 and stderr == "Error: s3://evals/none.csv: no such object\n"


def test_detection_with_its_images_folder_in_the_bucket(
    home: Path, local: Path, tmp_path: Path
) -> None:
    a, b = tmp_path / "local.json", tmp_path / "remote.json"
    det = local / "det"
    code, _, stderr = run(
        "evaluate", "--gt", "s3://evals/det/instances.json", "--pred",
        "s3://evals/det/detections.json", "--images", "s3://evals/det/images/", "--json", str(b),
    )  # fmt: skip
    assert code == 0, stderr
    code, _, stderr = run(
        "evaluate", "--gt", str(det / "instances.json"), "--pred", str(det / "detections.json"),
        "--images", str(det / "images"), "--json", str(a), "--force",
    )  # fmt: skip
    assert code == 0, stderr
    assert numbers(b) == numbers(a)
    cached = home / "remote-cache" / "files" / "s3" / "evals" / "det" / "images"
    assert sorted(p.name for p in cached.iterdir()) == sorted(
        p.name for p in (det / "images").iterdir()
    )


@pytest.mark.parametrize("scheme", ["gs", "az"])
def test_gs_and_az_unreachable_are_one_line(
    home: Path, monkeypatch: pytest.MonkeyPatch, scheme: str
) -> None:
    port = free_port()
    monkeypatch.setenv("ASSAY_REMOTE_TIMEOUT", "1")
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", f"http://127.0.0.1:{port}")
    monkeypatch.setenv(
        "AZURE_STORAGE_CONNECTION_STRING",
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        f"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;",
    )
    url = f"{scheme}://evals/gt.csv"
    code, _, stderr = run("evaluate", "--gt", url, "--pred", f"{scheme}://evals/pred.csv")
    assert code == 2 and stderr.count("\n") == 1, stderr
    assert stderr.startswith(f"Error: {url}: ") and "a2V5" not in stderr


def test_datasets_add_a_detection_set_with_its_images_in_the_bucket(home: Path) -> None:
    code, _, stderr = run(
        "datasets", "add", "s3://evals/det/instances.json", "--images", "s3://evals/det/images/"
    )
    assert code == 0, stderr
    assert sources(home) == ["s3://evals/det/instances.json"]
    assert (home / "remote-cache" / "files" / "s3" / "evals" / "det" / "images").is_dir()


def test_models_add_takes_a_url(home: Path) -> None:
    code, stdout, stderr = run("models", "add", "s3://evals/models/lin.onnx", "--name", "lin")
    assert code == 0, stderr
    from assay.store import Workspace

    ws = Workspace(home)
    (record,) = ws.list_model_versions(ws.list_models()[0].id)
    assert record.runnable and record.backend == "onnxruntime"
    assert (record.info or {}).get("classes") == list(CLASSES), record.info  # its labels file
    again = ws.add_model("s3://evals/models/lin.onnx", name="lin")
    assert again.id == record.id  # the same files: the same version
    code, _, stderr = run("models", "add", "s3://evals/models/none.onnx", "--name", "x")
    assert code == 2 and stderr == "Error: s3://evals/models/none.onnx: no such object\n"
