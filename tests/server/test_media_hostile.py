"""Media confinement and hostile image files: the real path (links followed) is re-checked when
serving, and a thumbnail of a non-image, a truncated image or a decompression bomb is a 422."""

from __future__ import annotations

import io
import struct
import time
import zlib
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from assay.errors import NotFoundError
from assay.server.routers.samples import media_root
from assay.store import Workspace


def _register(client: TestClient, name: str, paths: list[Path]) -> int:
    ws: Workspace = client.app.state.workspace  # type: ignore[attr-defined]
    table = pa.table({"id": [str(i) for i in range(len(paths))], "path": [str(p) for p in paths]})
    return ws.add_dataset_version(name, task="classification", samples=table).id


def _png(path: Path, size: tuple[int, int] = (32, 32)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, (10, 200, 30)).save(path)
    return path


def test_a_link_swapped_in_after_registration_is_not_followed_out(
    client: TestClient, tmp_path: Path
) -> None:
    images = tmp_path / "set" / "images"
    a, b = _png(images / "a.png"), _png(images / "sub" / "b.png")
    secret = _png(tmp_path / "private" / "secret.png", (7, 7))
    dv = _register(client, "swap", [a, b])
    assert client.get(f"/api/samples/{dv}:0/media").status_code == 200
    a.unlink()
    a.symlink_to(secret)  # the registered file now points outside the dataset's folder
    for kind in ("media", "thumbnail"):
        answer = client.get(f"/api/samples/{dv}:0/{kind}")
        assert answer.status_code == 404, kind
        assert answer.json()["detail"].startswith(f"sample {dv}:0 has no media file")
        assert answer.content != secret.read_bytes()
    # a link that stays inside the folder is fine
    a.unlink()
    a.symlink_to(b)
    assert client.get(f"/api/samples/{dv}:0/media").content == b.read_bytes()


def test_registered_dotdot_paths_stay_inside_their_common_folder(
    client: TestClient, tmp_path: Path
) -> None:
    inside = _png(tmp_path / "ds" / "x" / "1.png")
    other = _png(tmp_path / "ds" / "y" / "2.png")
    dv = _register(client, "dotdot", [inside, tmp_path / "ds" / "x" / ".." / "y" / "2.png"])
    ws: Workspace = client.app.state.workspace  # type: ignore[attr-defined]
    assert media_root(ws, dv) == (tmp_path / "ds").resolve()
    assert client.get(f"/api/samples/{dv}:1/media").content == other.read_bytes()


def test_a_fifo_or_a_folder_named_like_an_image(client: TestClient, tmp_path: Path) -> None:
    import os

    folder = tmp_path / "odd"
    good = _png(folder / "good.png")
    fifo = folder / "pipe.png"
    os.mkfifo(fifo)
    (folder / "dir.png").mkdir()
    dv = _register(client, "odd", [good, fifo, folder / "dir.png"])
    for index in (1, 2):
        for kind in ("media", "thumbnail"):
            started = time.monotonic()
            answer = client.get(f"/api/samples/{dv}:{index}/{kind}")
            assert answer.status_code == 404 and time.monotonic() - started < 30


def _bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (the data would inflate to GBs)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\0" * (width + 1) * 64, 9)  # a few rows of zeros, the rest missing
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def test_thumbnails_of_hostile_files_are_422(client: TestClient, tmp_path: Path) -> None:
    folder = tmp_path / "hostile"
    folder.mkdir()
    text = folder / "text.png"
    text.write_text("this is not an image at all")
    empty = folder / "empty.jpg"
    empty.write_bytes(b"")
    buffer = io.BytesIO()
    Image.new("RGB", (400, 300), (1, 2, 3)).save(buffer, "JPEG")
    truncated = folder / "truncated.jpg"
    truncated.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 3])
    png = io.BytesIO()
    Image.effect_noise((300, 300), 40).save(png, "PNG")
    truncated_png = folder / "truncated.png"
    truncated_png.write_bytes(png.getvalue()[: len(png.getvalue()) // 2])
    bomb = folder / "bomb.png"
    bomb.write_bytes(_bomb_png(30_000, 30_000))  # 900 Mpx
    huge = folder / "huge.png"
    huge.write_bytes(_bomb_png(100_000, 100_000))  # past Pillow's own bomb error
    wrong = folder / "gif-as.png"
    Image.new("P", (20, 20)).save(wrong, "GIF")  # a GIF named .png: fine, Pillow reads it
    files = [text, empty, truncated, truncated_png, bomb, huge, wrong]
    dv = _register(client, "hostile", files)
    for index, path in enumerate(files):
        started = time.monotonic()
        answer = client.get(f"/api/samples/{dv}:{index}/thumbnail")
        elapsed = time.monotonic() - started
        if path is wrong:
            assert answer.status_code == 200
            continue
        assert answer.status_code == 422, (path.name, answer.status_code, answer.text[:200])
        detail = answer.json()["detail"]
        assert (
            detail.startswith(f"sample {dv}:{index}: not a readable image") and "\n" not in detail
        )
        assert "this is not" not in detail
        assert elapsed < 30, path.name  # not decoded: a bomb would take minutes and GBs
        # the file itself is still served as registered (the browser decides what to show)
        assert client.get(f"/api/samples/{dv}:{index}/media").status_code == 200
    leftovers = list(client.app.state.workspace.thumbnails_dir.glob(".tmp-*"))  # type: ignore[attr-defined]
    assert leftovers == []


def test_the_server_rechecks_even_when_the_store_hands_it_a_link(tmp_path: Path) -> None:
    """Defence in depth: whatever ``Workspace.media_path`` answers, the server serves only a
    regular image file whose real path lies inside the version's common media folder."""
    from assay.caches import LRU
    from assay.server.routers.samples import _media_file

    folder = tmp_path / "ds"
    inside = _png(folder / "in.png")
    secret = _png(tmp_path / "private" / "secret.png")
    link = folder / "link.png"
    link.symlink_to(secret)

    class Store:
        def samples_table(self, dataset_version_id: int) -> pa.Table:
            return pa.table({"path": [str(inside), str(link)]})

        def media_path(self, dataset_version_id: int, index: int) -> Path:
            return [inside, link][index]

    roots: LRU[int, tuple[object, Path | None]] = LRU(4)
    assert _media_file(Store(), "1:0", roots) == inside.resolve()  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="inside its dataset's folder"):
        _media_file(Store(), "1:1", roots)  # type: ignore[arg-type]
