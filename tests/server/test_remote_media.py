"""The server with a dataset whose images live in object storage (moto's S3 server, started
here): media streamed from the bucket with the Content-Type of its bytes, bounded; thumbnails
made from a fetched copy; a data root that is a URL prefix, and a URL outside it refused like a
path outside the roots."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from typer.testing import CliRunner

from assay.cli.main import app as cli
from assay.server.app import create_app
from tests.moto_s3 import SECRET, client, free_port, need_moto, s3_server, upload

need_moto()

BASE_URL = "http://localhost"
N = 6


def _image(path: Path, seed: int, fmt: str = "PNG") -> None:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)).save(path, fmt)


@pytest.fixture(scope="module")
def bucket(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("media-bucket")
    (folder / "images").mkdir()
    rows, preds = [], []
    for i in range(N):
        _image(folder / "images" / f"im{i}.png", i, "JPEG" if i == 1 else "PNG")
        rows.append(f"s{i},{'cat' if i % 2 else 'dog'},images/im{i}.png\n")
        preds.append(f"s{i},{0.2 + 0.1 * i:.2f},{0.8 - 0.1 * i:.2f}\n")
    (folder / "images" / "im4.png").write_bytes(b"<html>not an image</html>")
    (folder / "gt.csv").write_text("id,label,path\n" + "".join(rows))
    (folder / "pred.csv").write_text("id,cat,dog\n" + "".join(preds))
    from tests.runners.models import linear_softmax

    (folder / "models").mkdir()
    linear_softmax(folder / "models" / "lin.onnx", n_classes=2)
    (folder / "models" / "lin.labels.txt").write_text("cat\ndog\n")
    return folder


@pytest.fixture(scope="module")
def served(
    bucket: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, str, Path]]:
    """(a client of a server whose data root is s3://media/, the endpoint, the home)."""
    home = tmp_path_factory.mktemp("ws")
    with s3_server() as endpoint, pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASSAY_HOME", str(home))
        upload(endpoint, "media", bucket)
        upload(endpoint, "elsewhere", bucket)
        result = CliRunner().invoke(
            cli, ["evaluate", "--gt", "s3://media/gt.csv", "--pred", "s3://media/pred.csv"]
        )
        assert result.exit_code == 0, result.stderr
        server = create_app(home, data_roots=["s3://media/"])  # type: ignore[list-item]
        with TestClient(server, base_url=BASE_URL) as test_client:
            yield test_client, endpoint, home


def _dataset_version(client: TestClient) -> int:
    items = client.get("/api/datasets").json()["items"]
    return int(items[0]["versions"][0]["id"])


def test_media_is_streamed_from_the_bucket(
    served: tuple[TestClient, str, Path], bucket: Path
) -> None:
    client_, _, home = served
    dv = _dataset_version(client_)
    answer = client_.get(f"/api/samples/{dv}:0/media")
    assert answer.status_code == 200
    assert answer.content == (bucket / "images" / "im0.png").read_bytes()
    assert answer.headers["content-type"] == "image/png"
    assert "location" not in answer.headers  # never a redirect to a presigned URL
    # the type comes from the bytes: a JPEG named .png is served as a JPEG
    jpeg = client_.get(f"/api/samples/{dv}:1/media")
    assert jpeg.status_code == 200 and jpeg.headers["content-type"] == "image/jpeg"
    # not an image whatever its name says: not served
    assert client_.get(f"/api/samples/{dv}:4/media").status_code == 404
    # streamed, not fetched: nothing of the images is in the cache
    assert not (home / "remote-cache" / "files" / "s3" / "media" / "images").exists()


def test_a_thumbnail_of_an_image_in_the_bucket(served: tuple[TestClient, str, Path]) -> None:
    client_, _, _ = served
    dv = _dataset_version(client_)
    answer = client_.get(f"/api/samples/{dv}:2/thumbnail")
    assert answer.status_code == 200 and answer.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(answer.content)).size == (64, 48)
    assert client_.get(f"/api/samples/{dv}:4/thumbnail").status_code == 422


def test_a_removed_object_and_an_unreachable_store(
    served: tuple[TestClient, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    client_, endpoint, _ = served
    dv = _dataset_version(client_)
    client(endpoint).delete_object(Bucket="media", Key="images/im3.png")
    gone = client_.get(f"/api/samples/{dv}:3/media")
    assert gone.status_code == 404 and "no such object" in gone.json()["detail"]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    down = client_.get(f"/api/samples/{dv}:5/media")
    assert down.status_code == 502
    detail = down.json()["detail"]
    assert "cannot reach the S3 endpoint" in detail and SECRET not in detail


def test_media_over_the_cap_is_refused(
    served: tuple[TestClient, str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from assay.server.routers import samples

    client_, _, _ = served
    dv = _dataset_version(client_)
    monkeypatch.setattr(samples, "REMOTE_MEDIA_BYTES", 100)
    answer = client_.get(f"/api/samples/{dv}:0/media")
    assert (
        answer.status_code == 422 and "larger than the 100 bytes limit" in answer.json()["detail"]
    )


def test_a_url_data_root_allows_its_prefix_only(served: tuple[TestClient, str, Path]) -> None:
    client_, _, _ = served
    assert "s3://media/" in client_.get("/api/datasets/roots").json()["roots"]
    made = client_.post("/api/datasets", json={"path": "s3://media/gt.csv", "name": "pets"})
    assert made.status_code == 201, made.text
    for outside in ("s3://elsewhere/gt.csv", "s3://media-copy/gt.csv"):
        refused = client_.post("/api/datasets", json={"path": outside})
        assert refused.status_code == 422
        assert "not under an allowed folder" in refused.text
    inline = client_.post("/api/datasets", json={"path": "s3://k:hunter2@media/gt.csv"})
    assert inline.status_code == 422 and "hunter2" not in inline.text


def test_a_model_registered_from_a_url_brings_its_labels(
    served: tuple[TestClient, str, Path],
) -> None:
    client_, _, _ = served
    made = client_.post("/api/models", json={"name": "lin", "path": "s3://media/models/lin.onnx"})
    assert made.status_code == 201, made.text
    assert made.json()["classes"] == ["cat", "dog"]  # read from lin.labels.txt beside it
    outside = client_.post(
        "/api/models", json={"name": "x", "path": "s3://elsewhere/models/lin.onnx"}
    )
    assert outside.status_code == 422 and "not under an allowed folder" in outside.text


def test_a_cached_copy_is_allowed_only_as_its_url_would_be(
    served: tuple[TestClient, str, Path],
) -> None:
    client_, _, home = served
    # fetched by the CLI from a bucket the server's data roots do not name
    result = CliRunner().invoke(cli, ["datasets", "add", "s3://elsewhere/gt.csv"])
    assert result.exit_code == 0, result.stderr
    copy = home / "remote-cache" / "files" / "s3" / "elsewhere" / "gt.csv"
    assert copy.is_file()
    refused = client_.post("/api/datasets", json={"path": str(copy)})
    assert refused.status_code == 422 and "not under an allowed folder" in refused.text
    allowed = home / "remote-cache" / "files" / "s3" / "media" / "gt.csv"
    assert client_.post("/api/datasets", json={"path": str(allowed)}).status_code == 201


def test_calculate_from_urls_under_the_data_root(served: tuple[TestClient, str, Path]) -> None:
    import time

    client_, _, _ = served
    body = {"gt": "s3://media/gt.csv", "pred": "s3://media/pred.csv", "name": "from-bucket"}
    answer = client_.post("/api/evaluations", json=body)
    assert answer.status_code == 202, answer.text
    job = answer.json()["job_id"]
    deadline = time.monotonic() + 30
    while (status := client_.get(f"/api/jobs/{job}").json())["status"] not in ("done", "failed"):
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    assert status["status"] == "done", status
    refused = client_.post("/api/evaluations", json={**body, "pred": "s3://elsewhere/pred.csv"})
    assert refused.status_code == 422 and "not under an allowed folder" in refused.text


def test_a_url_root_survives_path_folding() -> None:
    from assay.server.paths import resolve_roots

    # `assay serve --data-root s3://media/x/` arrives as Path("s3:/media/x"): put back
    roots = resolve_roots([Path("/tmp"), Path("s3://media/x/"), "s3://media/x", Path("gs://b")])
    assert roots == (Path("/tmp").resolve(), "s3://media/x/", "gs://b/")
