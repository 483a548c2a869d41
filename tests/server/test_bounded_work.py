"""Bounded work (issue 17, item 4): each memory bomb seen is refused or queued, never computed.

- one 268-byte upload to a model declaring a 20000 x 20000 input: the model is refused when it is
  registered (API 422, CLI exit 2, one line naming the shape and the cap);
- 12 concurrent ``compare?resamples=2000``: identical requests share one computation, others past
  ``compare_workers + compare_queue`` get a 503 with Retry-After (leaderboard likewise);
- 40 concurrent thumbnails of 64-megapixel images: at most ``thumbnail_workers`` decode at once,
  the rest wait or get a 503; a JPEG decodes at a DCT scale (draft), the EXIF turn is applied to
  the small image;
- 60 chunked predict bodies: the middleware buffers nothing, so a busy predict route answers 503
  before a byte is read, and a body is a 413 at the chunk that passes the limit; a JSON body of
  texts is bounded by what the text limits allow and parsed off the event loop.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import onnx
import pytest
from fastapi import FastAPI
from onnx import TensorProto, helper
from PIL import Image
from typer.testing import CliRunner

from assay.runners import DEFAULT_MAX_INPUT_VALUES, input_values_cap, load_runner
from assay.server import thumbnails
from assay.server.app import create_app
from assay.server.config import Limits
from assay.server.gates import Busy, Gate
from assay.server.routers import predict as predict_router
from assay.server.routers.predict import predictor_of
from assay.store import Workspace
from tests.runners.models import linear_softmax
from tests.server.conftest import Seeded

BASE = "http://127.0.0.1:8000"


def _run_loop(coro: Any) -> Any:
    """``asyncio.run(coro)`` on a thread of its own: a session's Playwright (browser tests) keeps
    an event loop running on the main thread, where ``asyncio.run`` refuses to start another."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _big_input_model(path: Path, shape: list[int]) -> Path:
    """A ~120-byte ONNX model whose input declares ``shape`` (ReduceMean over H and W)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [shape[0], shape[1]])
    node = helper.make_node("ReduceMean", ["x"], ["y"], axes=[2, 3], keepdims=0)
    model = helper.make_model(
        helper.make_graph([node], "big", [x], [y]), opset_imports=[helper.make_opsetid("", 13)]
    )
    model.ir_version = 8
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(path))
    return path


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)


# ---------------------------------------------------------------- (a) the input tensor cap


def test_a_huge_input_is_refused_when_the_model_loads(tmp_path: Path) -> None:
    path = _big_input_model(tmp_path / "big" / "model.onnx", [1, 3, 20000, 20000])
    with pytest.raises(Exception) as caught:
        load_runner(path, classes=["a", "b", "c"])
    message = str(caught.value)
    assert "1x3x20000x20000" in message and f"{DEFAULT_MAX_INPUT_VALUES:,}" in message
    assert "\n" not in message
    # a static batch counts: 64 x 3 x 224 x 224 is 9.6 M values, over a 5 M cap
    batch = _big_input_model(tmp_path / "batch" / "model.onnx", [64, 3, 224, 224])
    with input_values_cap(5_000_000), pytest.raises(Exception, match="64x3x224x224"):
        load_runner(batch, classes=["a", "b", "c"])
    load_runner(batch, classes=["a", "b", "c"])  # within the default cap
    # a spec's own size is capped too (a model with a dynamic input)
    dynamic = _big_input_model(tmp_path / "dyn" / "model.onnx", [1, 3, "h", "w"])  # type: ignore[list-item]
    with pytest.raises(Exception, match="20000x20000"):
        load_runner(dynamic, size=(20000, 20000), classes=["a", "b", "c"])


def test_a_huge_input_is_a_422_at_registration_and_nothing_is_stored(tmp_path: Path) -> None:
    home, data = tmp_path / "home", tmp_path / "data"
    path = _big_input_model(data / "big" / "model.onnx", [1, 3, 20000, 20000])
    app = create_app(home, data_roots=[data], limits=Limits(max_input_values=10_000_000))

    async def go() -> httpx.Response:
        async with _client(app) as client:
            return await client.post("/api/models", json={"name": "big", "path": str(path)})

    answer = _run_loop(go())
    assert answer.status_code == 422, answer.text
    detail = answer.json()["detail"]
    assert "1x3x20000x20000" in detail and "10,000,000" in detail and "\n" not in detail
    assert Workspace(home).list_models() == []


def test_a_huge_input_exits_2_on_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from assay.cli.main import app

    monkeypatch.setenv("ASSAY_HOME", str(tmp_path / "ws"))
    path = _big_input_model(tmp_path / "big" / "model.onnx", [1, 3, 20000, 20000])
    result = CliRunner().invoke(app, ["models", "add", str(path), "--name", "big"])
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1 and "1x3x20000x20000" in lines[0], lines


# ---------------------------------------------------------------- (b) the gate


def test_a_gate_shares_identical_flights_and_refuses_past_its_room() -> None:
    calls: list[str] = []
    release = threading.Event()

    def slow(name: str) -> str:
        calls.append(name)
        release.wait(60)
        return name.upper()

    async def go() -> tuple[list[Any], int]:
        gate = Gate("demo", workers=1, queue=1)
        same = [asyncio.ensure_future(gate.run("a", slow, "a")) for _ in range(12)]
        other = asyncio.ensure_future(gate.run("b", slow, "b"))  # waits for the worker
        await asyncio.sleep(0.05)
        with pytest.raises(Busy, match="busy"):
            await gate.run("c", slow, "c")  # one running, one waiting: no room
        admitted = gate.admitted
        release.set()
        return await asyncio.gather(*same, other), admitted

    results, admitted = _run_loop(go())
    assert results == ["A"] * 12 + ["B"]
    assert sorted(calls) == ["a", "b"] and admitted == 2


def test_a_flight_outlives_a_request_that_went_away() -> None:
    release = threading.Event()

    async def go() -> Any:
        gate = Gate("demo", workers=1, queue=0)
        first = asyncio.ensure_future(gate.run("k", lambda: release.wait(60) and "done"))
        await asyncio.sleep(0.05)
        first.cancel()  # the client left; the thread still runs and still holds the place
        await asyncio.sleep(0)
        with pytest.raises(Busy):
            await gate.run("other", lambda: "x")
        second = asyncio.ensure_future(gate.run("k", lambda: "never called"))
        release.set()
        return await second

    assert _run_loop(go()) == "done"


def _blocking(calls: list[tuple[Any, ...]], release: threading.Event, answer: Any) -> Any:
    def fake(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        release.wait(60)
        return answer

    return fake


def _concurrently(
    app: FastAPI,
    phases: list[tuple[list[str], Callable[[], bool] | None]],
    release: threading.Event,
) -> list[httpx.Response]:
    """The requests of each phase sent at once, the next phase once ``settle`` holds (every
    request of the phase has reached the gate; ``None``: every one was answered, as a refused one
    is at once); then ``release`` lets the computations end."""

    async def go() -> list[httpx.Response]:
        async with _client(app) as client:
            tasks = []
            for urls, settle in phases:
                sent = [asyncio.ensure_future(client.get(url)) for url in urls]
                tasks += sent
                for _ in range(3000):  # 30 s at least
                    await asyncio.sleep(0.01)
                    if settle() if settle is not None else all(t.done() for t in sent):
                        break
                else:
                    raise AssertionError("the requests never reached the gate")
            release.set()
            return list(await asyncio.gather(*tasks))

    return _run_loop(go())


def _admitted(app: FastAPI, name: str) -> int:
    gates = getattr(app.state, "gates", {})
    return gates[name].admitted if name in gates else 0


def test_twelve_identical_compares_are_one_and_others_wait_or_get_503(
    seeded: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assay.server.routers import compare as compare_router

    calls: list[tuple[Any, ...]] = []
    release = threading.Event()
    monkeypatch.setattr(
        compare_router, "compare_stored", _blocking(calls, release, {"task": "detection"})
    )
    app = create_app(seeded.home, limits=Limits(compare_workers=1, compare_queue=1))
    a = b = seeded.image
    same = [f"/api/compare?a={a}&b={b}&resamples=2000"] * 12
    waits = [f"/api/compare?a={a}&b={b}&resamples=1000"]
    refused = [f"/api/compare?a={a}&b={b}&resamples={n}" for n in (500, 600, 700)]
    answers = _concurrently(
        app,
        [
            (same, lambda: len(calls) == 1),
            (waits, lambda: _admitted(app, "comparison") == 2),
            (refused, None),
        ],
        release,
    )
    assert [r.status_code for r in answers[:13]] == [200] * 13
    assert all(r.json() == {"task": "detection"} for r in answers[:13])
    assert [r.status_code for r in answers[13:]] == [503] * 3
    assert all(r.headers["Retry-After"] == "2" for r in answers[13:])
    assert "busy" in answers[13].json()["detail"]
    assert len(calls) == 2  # resamples=2000 once, 1000 once
    # kept: asked again, nothing is computed
    again = _concurrently(app, [(same[:1], lambda: True)], threading.Event())
    assert again[0].status_code == 200 and len(calls) == 2


def test_leaderboards_share_the_gate(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    from assay.server.routers import compare as compare_router

    calls: list[tuple[Any, ...]] = []
    release = threading.Event()
    monkeypatch.setattr(compare_router, "leaderboard_stored", _blocking(calls, release, {"x": 1}))
    app = create_app(seeded.home, limits=Limits(compare_workers=1, compare_queue=0))
    dv = seeded.image_dv
    same = [f"/api/leaderboard?dataset_version={dv}"] * 8
    other = [f"/api/leaderboard?dataset_version={dv}&metric=f1"]
    answers = _concurrently(app, [(same, lambda: len(calls) == 1), (other, None)], release)
    assert [r.status_code for r in answers] == [200] * 8 + [503]
    assert len(calls) == 1


# ---------------------------------------------------------------- (c) thumbnails


def test_thumbnails_are_gated_and_shared(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    from assay.server.routers import samples as samples_router

    calls: list[tuple[Any, ...]] = []
    release = threading.Event()
    real = thumbnails.thumbnail

    def slow(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        release.wait(60)
        return real(*args, **kwargs)

    monkeypatch.setattr(samples_router, "thumbnail", slow)
    app = create_app(seeded.home, limits=Limits(thumbnail_workers=1, thumbnail_queue=1))
    shutil.rmtree(Workspace(seeded.home).thumbnails_dir, ignore_errors=True)  # none made yet
    dv = seeded.image_dv
    same = [f"/api/samples/{dv}:0/thumbnail"] * 10
    answers = _concurrently(
        app,
        [
            (same, lambda: len(calls) == 1),
            ([f"/api/samples/{dv}:1/thumbnail"], lambda: _admitted(app, "thumbnail") == 2),
            ([f"/api/samples/{dv}:{i}/thumbnail" for i in (2, 3)], None),
        ],
        release,
    )
    codes = [r.status_code for r in answers]
    assert codes == [200] * 11 + [503] * 2, codes
    assert len(calls) == 2
    # made already: served without the gate, even while it is full
    again = _concurrently(app, [(same[:5], lambda: True)], threading.Event())
    assert [r.status_code for r in again] == [200] * 5 and len(calls) == 2


def test_a_jpeg_thumbnail_decodes_at_a_dct_scale_and_turns_the_small_image(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from PIL import ImageFile

    source = tmp_path / "photo.jpg"
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (3000, 4000, 3), dtype=np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees to show
    image.save(source, "JPEG", quality=70, exif=exif.tobytes())

    decoded: list[tuple[int, int]] = []
    load = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile) -> Any:
        if getattr(self, "tile", None):
            decoded.append(self.size)
        return load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    target, _ = thumbnails.thumbnail(source, tmp_path / "thumbs")
    assert decoded and max(w * h for w, h in decoded) <= 1000 * 750, decoded  # 12 MP -> 1/4 side
    with Image.open(target) as made:
        assert made.size == (192, 256)  # upright: portrait


def test_an_image_over_the_pixel_cap_is_refused_before_decoding(tmp_path: Path) -> None:
    source = tmp_path / "wide.png"
    Image.new("L", (3000, 2000)).save(source)
    with pytest.raises(thumbnails.NotAnImage, match="more than 5000000"):
        thumbnails.thumbnail(source, tmp_path / "thumbs", max_pixels=5_000_000)


def test_png_thumbnails_decode_within_a_shared_budget(tmp_path: Path) -> None:
    """A PNG has no draft: it decodes whole (4 bytes a pixel for RGB, twice with alpha); the
    thumbnails being made hold at most the budget together, and one that alone needs more
    than the budget is refused before it is decoded."""
    from concurrent.futures import ThreadPoolExecutor

    paths = []
    for i in range(4):
        paths.append(tmp_path / f"rgb{i}.png")
        Image.new("RGB", (2000, 1500), (i, 2 * i, 3 * i)).save(paths[-1])
    with Image.open(paths[0]) as opened:
        assert thumbnails.decode_bytes(opened) == 2000 * 1500 * 4
    alpha = tmp_path / "alpha.png"
    Image.new("RGBA", (2000, 1500)).save(alpha)
    with Image.open(alpha) as opened:
        assert thumbnails.decode_bytes(opened) == 2000 * 1500 * 4 * 2

    one = 2000 * 1500 * 4
    budget = thumbnails.DecodeBudget(one + one // 2)  # room for one decode at a time
    with ThreadPoolExecutor(max_workers=4) as pool:
        made = list(
            pool.map(lambda p: thumbnails.thumbnail(p, tmp_path / "t", budget=budget), paths)
        )
    assert len({target for target, _ in made}) == 4 and all(t.is_file() for t, _ in made)
    assert budget.peak == one and budget.used == 0
    with pytest.raises(thumbnails.NotAnImage, match="needs 23 MiB to decode, more than"):
        thumbnails.thumbnail(alpha, tmp_path / "t", budget=budget)
    assert budget.used == 0 and not (tmp_path / "t" / "alpha.jpg").exists()


def test_a_jpeg_reserves_its_drafted_size_only(tmp_path: Path) -> None:
    source = tmp_path / "photo.jpg"
    Image.new("RGB", (4000, 3000), (10, 20, 30)).save(source, "JPEG")
    budget = thumbnails.DecodeBudget(1000 * 750 * 4)  # 12 MP decoded whole would be 48 MB
    target, _ = thumbnails.thumbnail(source, tmp_path / "t", budget=budget)
    assert target.is_file() and budget.peak == 1000 * 750 * 4


def test_a_decode_waits_for_room_then_is_busy(tmp_path: Path) -> None:
    budget = thumbnails.DecodeBudget(100)
    with budget.reserve(80):
        with pytest.raises(Busy, match="decoding other thumbnails"), budget.reserve(30, wait=0.05):
            pass
        with budget.reserve(20):
            assert budget.used == 100
    assert budget.used == 0 and budget.peak == 100


# ---------------------------------------------------------------- (d, e) bodies


class Chunks:
    """A streamed request body (no Content-Length) that counts what the server took."""

    def __init__(self, n: int, size: int, prefix: bytes = b"") -> None:
        self.n, self.size, self.prefix, self.taken = n, size, prefix, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for i in range(self.n):
            self.taken += 1
            yield (self.prefix if i == 0 else b"") + b"\0" * self.size


FILE_PART = (
    b'--x\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n'
    b"Content-Type: image/png\r\n\r\n"
)


@pytest.fixture(scope="module")
def image_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    tmp = tmp_path_factory.mktemp("bodies")
    (tmp / "m").mkdir()
    path, _, _ = linear_softmax(tmp / "m" / "pets.onnx", shape=(3, 8, 8), n_classes=3)
    version = Workspace(tmp / "home").add_model(path, name="pets")
    return tmp / "home", version.id


def _post(app: FastAPI, url: str, body: Chunks, content_type: str) -> httpx.Response:
    async def go() -> httpx.Response:
        async with _client(app) as client:
            return await client.post(url, content=body, headers={"content-type": content_type})

    return _run_loop(go())


def test_a_busy_predict_route_answers_503_before_reading_a_chunked_body(
    image_model: tuple[Path, int],
) -> None:
    home, version = image_model
    app = create_app(home, limits=Limits(predict_workers=1, predict_queue=0))
    predictor = predictor_of(app.state)
    body = Chunks(60, 64 * 1024)  # 3.8 MB, under the upload limit: buffered whole before
    with ExitStack() as held:
        held.enter_context(predictor.admitted())  # every place taken
        answer = _post(
            app, f"/api/models/{version}/predict", body, "multipart/form-data; boundary=xyz"
        )
    assert answer.status_code == 503 and answer.headers["Retry-After"] == "2"
    assert body.taken <= 1, body.taken


def test_a_chunked_body_is_a_413_at_the_chunk_that_passes_the_limit(
    image_model: tuple[Path, int],
) -> None:
    home, version = image_model
    app = create_app(home, limits=Limits(upload_request_bytes=1_000_000))
    body = Chunks(200, 100_000, FILE_PART)  # one endless file
    answer = _post(app, f"/api/models/{version}/predict", body, "multipart/form-data; boundary=x")
    assert answer.status_code == 413 and "1000000" in answer.json()["detail"]
    assert body.taken <= 11, body.taken
    body = Chunks(200, 100_000)  # another route, the default 1 MiB limit
    answer = _post(app, "/api/evaluations", body, "application/json")
    assert answer.status_code == 413 and body.taken <= 11, body.taken


def test_a_json_body_of_texts_is_bounded_by_the_text_limits_and_parsed_off_the_loop(
    image_model: tuple[Path, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    home, version = image_model
    limits = Limits(predict_text_lines=8, predict_text_chars=200)
    app = create_app(home, limits=limits)
    cap = predict_router.json_bytes(limits)
    assert cap < 20_000 < limits.upload_request_bytes
    body = Chunks(200, 1000)  # 200 kB: far below the upload limit, far above what 8 texts take
    answer = _post(app, f"/api/models/{version}/predict", body, "application/json")
    assert answer.status_code == 413 and str(cap) in answer.json()["detail"]
    assert body.taken <= cap // 1000 + 1, body.taken

    threads: list[int] = []
    real = predict_router._json_texts

    def spy(*args: Any) -> Any:
        threads.append(threading.get_ident())
        return real(*args)

    monkeypatch.setattr(predict_router, "_json_texts", spy)

    async def go() -> tuple[httpx.Response, int]:
        async with _client(app) as client:
            texts = {"texts": ["a"] * 9}
            return await client.post(f"/api/models/{version}/predict", json=texts), (
                threading.get_ident()
            )

    answer, loop_thread = _run_loop(go())
    assert answer.status_code == 422 and "at most 8" in answer.json()["detail"]
    assert threads and threads[0] != loop_thread


def test_a_small_streamed_body_still_reaches_the_route(image_model: tuple[Path, int]) -> None:
    home, version = image_model
    app = create_app(home)
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG")
    boundary = "b0undary"
    payload = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="a.png"\r\n'
            "Content-Type: image/png\r\n\r\n"
        ).encode()
        + buf.getvalue()
        + f"\r\n--{boundary}--\r\n".encode()
    )

    async def go() -> httpx.Response:
        async def stream() -> AsyncIterator[bytes]:
            for i in range(0, len(payload), 50):
                yield payload[i : i + 50]

        async with _client(app) as client:
            return await client.post(
                f"/api/models/{version}/predict",
                content=stream(),
                headers={"content-type": f"multipart/form-data; boundary={boundary}"},
            )

    answer = _run_loop(go())
    assert answer.status_code == 200, answer.text
    assert answer.json()["items"][0]["error"] is None
