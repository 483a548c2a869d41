"""Media and thumbnails: only registered files, never a path from the request; caching headers."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from assay.evaluation.classification import evaluate_classification
from assay.store import Workspace
from tests.server.conftest import CLASSES, Seeded, get_json


def test_media_is_the_registered_file(client: TestClient, seeded: Seeded) -> None:
    answer = client.get(f"/api/samples/{seeded.image_dv}:3/media")
    assert answer.status_code == 200
    assert answer.content == seeded.image_paths[3].read_bytes()
    assert answer.headers["content-type"] == "image/png"
    assert "max-age" in answer.headers["cache-control"]


def test_thumbnail_made_once_with_cache_headers(client: TestClient, seeded: Seeded) -> None:
    url = f"/api/samples/{seeded.image_dv}:7/thumbnail"
    first = client.get(url)
    assert first.status_code == 200 and first.headers["content-type"] == "image/jpeg"
    assert first.headers["cache-control"] == "public, max-age=86400"
    etag = first.headers["etag"]
    image = Image.open(io.BytesIO(first.content))
    assert max(image.size) == 256 and image.size == (256, 192)
    made = sorted((seeded.home / "thumbnails").iterdir())
    stamp = {p: p.stat().st_mtime_ns for p in made}
    second = client.get(url)
    assert second.content == first.content and second.headers["etag"] == etag
    assert {p: p.stat().st_mtime_ns for p in (seeded.home / "thumbnails").iterdir()} == stamp
    not_modified = client.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    other = client.get(url, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200


def test_detection_thumbnail(client: TestClient, seeded: Seeded) -> None:
    answer = client.get(f"/api/samples/{seeded.detection_dv}:0/thumbnail")
    assert answer.status_code == 200
    assert Image.open(io.BytesIO(answer.content)).size == (96, 64)  # never enlarged


@pytest.mark.parametrize(
    "sample_id",
    [
        "1:..%2F..%2Fetc%2Fpasswd",
        "..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "1:0%2F..%2F..%2Fetc%2Fpasswd",
        "1:-1",
        "1:abc",
        "1",
        "1:0:0",
        "etc:passwd",
        "1:40",  # index out of range
        "1:5",  # a sample without a file
        "999:0",  # a dataset version that does not exist
        "3:0",  # the multi-label set registers no files
        "1:00000000000000000000000001",
    ],
)
@pytest.mark.parametrize("kind", ["media", "thumbnail"])
def test_refused(client: TestClient, seeded: Seeded, sample_id: str, kind: str) -> None:
    sample_id = (
        sample_id.replace("1:", f"{seeded.image_dv}:", 1)
        if sample_id.startswith("1:")
        else sample_id
    )
    answer = client.get(f"/api/samples/{sample_id}/{kind}")
    assert answer.status_code == 404, (sample_id, answer.status_code)
    assert b"root:" not in answer.content
    assert answer.headers["content-type"] == "application/json"


def test_media_of_a_deleted_file_is_404(client: TestClient, seeded: Seeded, tmp_path) -> None:
    import pyarrow as pa

    gone = tmp_path / "gone.png"
    Image.new("RGB", (4, 4)).save(gone)
    ws = client.app.state.workspace
    dv = ws.add_dataset_version(
        "gone", task="classification", samples=pa.table({"path": [str(gone)]})
    )
    assert client.get(f"/api/samples/{dv.id}:0/media").status_code == 200
    gone.unlink()
    assert client.get(f"/api/samples/{dv.id}:0/media").status_code == 404
    assert client.get(f"/api/samples/{dv.id}:0/thumbnail").status_code == 404


def test_thumbnail_of_a_transparent_image(client: TestClient, tmp_path) -> None:
    import pyarrow as pa

    path = tmp_path / "rgba.png"
    Image.new("RGBA", (600, 300), (255, 0, 0, 0)).save(path)
    ws = client.app.state.workspace
    dv = ws.add_dataset_version(
        "rgba", task="classification", samples=pa.table({"path": [str(path)]})
    )
    answer = client.get(f"/api/samples/{dv.id}:0/thumbnail")
    assert answer.status_code == 200
    thumb = Image.open(io.BytesIO(answer.content))
    assert thumb.size == (256, 128) and thumb.mode == "RGB"
    assert thumb.getpixel((5, 5)) == (255, 255, 255)  # transparent -> white, not black


def test_server_timing_header(client: TestClient) -> None:
    timing = client.get("/api/health").headers["server-timing"]
    assert timing.startswith("app;dur=") and float(timing.split("=")[1]) >= 0


def test_only_images_are_served(client: TestClient, tmp_path) -> None:
    import pyarrow as pa

    secret = tmp_path / "notes.txt"
    secret.write_text("secret")
    ws = client.app.state.workspace
    dv = ws.add_dataset_version(
        "txt", task="classification", samples=pa.table({"path": [str(secret)]})
    )
    for kind in ("media", "thumbnail"):
        answer = client.get(f"/api/samples/{dv.id}:0/{kind}")
        assert answer.status_code == 404 and b"secret" not in answer.content


def test_media_attached_by_a_later_run_reaches_the_running_server(
    client: TestClient, seeded: Seeded, tmp_path: Path
) -> None:
    """A run in another process (another Workspace) attaches media to a stored dataset version;
    the server's next answers carry the media URLs and serve the file."""
    source = tmp_path / "gt.json"
    source.write_text('{"same": "content"}')
    n = 6
    bare = pa.table({"id": [f"m{i}" for i in range(n)], "path": pa.array([None] * n, pa.string())})
    cli = Workspace(seeded.home)
    dv = cli.add_dataset_version("attach", task="classification", source=source, samples=bare)
    rng = np.random.default_rng(9)
    res = evaluate_classification(rng.integers(0, 3, n), rng.random((n, 3)), classes=CLASSES)
    record = cli.save_evaluation(res, name="attach", dataset_version_id=dv.id)
    base = f"/api/evaluations/{record.id}"
    assert get_json(client, base)["media"] is None
    assert "media_url" not in get_json(client, f"{base}/samples/2")

    image = tmp_path / "m2.png"
    Image.new("RGB", (8, 8)).save(image)
    paths = [str(image) if i == 2 else None for i in range(n)]
    found = pa.table({"id": [f"m{i}" for i in range(n)], "path": pa.array(paths, pa.string())})
    again = Workspace(seeded.home).add_dataset_version(
        "attach", task="classification", source=source, samples=found
    )
    assert again.id == dv.id
    assert get_json(client, base)["media"] == "image"
    item = get_json(client, f"{base}/samples/2")
    assert item["media_url"] == f"/api/samples/{dv.id}:2/media"
    assert client.get(item["media_url"]).content == image.read_bytes()
    assert "media_url" not in get_json(client, f"{base}/samples/3")


def test_a_thumbnail_cleared_while_served_is_made_again(
    client: TestClient, seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The cache says a thumbnail exists, then it is gone before it is read (someone cleared the
    folder): the answer is a new thumbnail, never a 500 or a cut connection."""
    from assay.server.routers import samples

    url = f"/api/samples/{seeded.image_dv}:9/thumbnail"
    first = client.get(url)
    assert first.status_code == 200
    etag = first.headers["etag"]
    gone = seeded.home / "thumbnails" / "cleared-meanwhile.jpg"
    monkeypatch.setattr(samples, "cached", lambda path, folder: (gone, etag))
    again = client.get(url)
    assert again.status_code == 200 and again.content == first.content
    assert again.headers["etag"] == etag
