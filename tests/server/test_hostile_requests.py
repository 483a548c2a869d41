"""Attacks through the API: paths outside the allowed roots, special files, ids and offsets
beyond what SQLite or JSON carry, odd labels; every answer a one-line JSON 4xx, never a 500."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from assay.server.app import create_app
from assay.server.config import Limits
from tests.server.conftest import BASE_URL, Seeded

OUTSIDE = "path: not under an allowed folder (the workspace or a --data-root)"


@pytest.fixture()
def roots(tmp_path: Path, seeded: Seeded) -> tuple[TestClient, Path]:
    """A server whose only data root is ``tmp_path / "data"``."""
    data = tmp_path / "data"
    data.mkdir()
    app = create_app(
        seeded.home, data_roots=[data], limits=Limits(max_read_bytes=10_000, max_files=50)
    )
    return TestClient(app, base_url=BASE_URL), data


def _post_dataset(client: TestClient, path: str) -> tuple[int, str]:
    answer = client.post("/api/datasets", json={"name": "probe", "path": path})
    detail = answer.json().get("detail", "")
    assert isinstance(detail, str) and "\n" not in detail
    return answer.status_code, detail


def test_outside_the_roots_looks_the_same_whether_it_exists_or_not(
    roots: tuple[TestClient, Path], tmp_path: Path
) -> None:
    client, data = roots
    (tmp_path / "outside.csv").write_text("id,label\n1,cat\n")
    (data / "escape").symlink_to(tmp_path / "outside.csv")
    (data / "escape-missing").symlink_to(tmp_path / "missing.csv")
    answers = {
        path: _post_dataset(client, path)
        for path in (
            "/etc/passwd",
            "/etc/no-such-file",
            str(tmp_path / "outside.csv"),
            str(tmp_path / "missing.csv"),
            str(data / ".." / "outside.csv"),
            str(data / ".." / "missing.csv"),
            str(data / "escape"),  # a link inside a root to a file outside
            str(data / "escape-missing"),
            "/proc/self/environ",
            "/",
        )
    }
    assert set(answers.values()) == {(422, OUTSIDE)}, answers
    inside = data / "inside.csv"
    inside.write_text("id,label\n1,cat\n")
    for field in ("gt", "pred"):
        body = {"gt": str(inside), "pred": str(inside), field: "/etc/passwd"}
        answer = client.post("/api/evaluations", json=body)
        assert answer.status_code == 422
        assert answer.json()["detail"] == f"{field}: not under an allowed folder " + (
            "(the workspace or a --data-root)"
        )
    model = client.post("/api/models", json={"name": "m", "path": "/etc/passwd"})
    assert model.status_code == 422 and model.json()["detail"] == OUTSIDE


def test_inside_the_roots(roots: tuple[TestClient, Path]) -> None:
    client, data = roots
    status, detail = _post_dataset(client, str(data / "missing.csv"))
    assert status == 422 and "no such file or folder" in detail
    status, detail = _post_dataset(client, "relative/path.csv")
    assert status == 422 and "absolute" in detail
    status, detail = _post_dataset(client, str(data) + "\x00/x")
    assert status == 422
    (data / "big.csv").write_bytes(b"x" * 20_000)
    status, detail = _post_dataset(client, str(data / "big.csv"))
    assert status == 422 and "larger than 10000 bytes" in detail
    many = data / "many"
    many.mkdir()
    for i in range(60):
        (many / f"{i}.txt").write_text("1")
    status, detail = _post_dataset(client, str(many))
    assert status == 422 and "larger than the limits" in detail
    ok = data / "ok.csv"
    ok.write_text("id,label\n1,cat\n")
    created = client.post("/api/datasets", json={"name": "ok", "path": str(ok)})
    assert created.status_code == 201 and created.json()["source"] == str(ok.resolve())


def test_special_files_are_refused(roots: tuple[TestClient, Path]) -> None:
    client, data = roots
    fifo = data / "pipe.csv"
    os.mkfifo(fifo)  # reading it would block forever
    status, detail = _post_dataset(client, str(fifo))
    assert (status, detail) == (422, f"path: not a regular file or folder: {fifo}")
    answer = client.post("/api/evaluations", json={"gt": str(fifo), "pred": str(fifo)})
    assert answer.status_code == 422 and "not a regular file" in answer.json()["detail"]
    folder = data / "images"
    (folder / "cat").mkdir(parents=True)
    os.mkfifo(folder / "cat" / "x.png")
    status, detail = _post_dataset(client, str(folder))
    assert status == 422 and "special file: cat/x.png" in detail
    linked = data / "linked"
    linked.mkdir()
    (linked / "etc").symlink_to("/etc")
    status, detail = _post_dataset(client, str(linked))
    assert status == 422 and "links outside the allowed folders" in detail
    if Path("/dev/zero").exists():
        (data / "zero").symlink_to("/dev/zero")
        assert _post_dataset(client, str(data / "zero")) == (422, OUTSIDE)


def test_parse_errors_do_not_echo_the_file(roots: tuple[TestClient, Path]) -> None:
    """A job reading a file that is not what it should be fails with a line that does not quote
    the file's contents."""
    client, data = roots
    secret = "TOPSECRET-do-not-echo-7f3a"
    gt = data / "gt.csv"
    gt.write_text(f"id,label\n1,cat\n2,{secret},{secret}\n")
    pred = data / "pred.csv"
    pred.write_text(f"{secret}\n")
    with client:
        answer = client.post("/api/evaluations", json={"gt": str(gt), "pred": str(pred)})
        assert answer.status_code == 202
        job_id = answer.json()["job_id"]
        client.app.state.jobs.wait(job_id, timeout=120)  # type: ignore[attr-defined]
        job = client.get(f"/api/jobs/{job_id}").json()
    assert job["status"] == "failed" and job["error"]
    assert secret not in job["error"], job["error"]


BIG = 2**63
HUGE = 10**40


@pytest.mark.parametrize(
    "url",
    [
        f"/api/evaluations/{BIG}",
        f"/api/evaluations/{HUGE}",
        f"/api/evaluations/{-BIG - 1}",
        f"/api/evaluations/{BIG}/summary",
        f"/api/evaluations/{BIG}/labels",
        f"/api/evaluations/{BIG}/samples",
        f"/api/evaluations/{BIG}/samples/0",
        f"/api/evaluations/{BIG}/curves/roc",
        f"/api/jobs/{BIG}",
        f"/api/datasets/{BIG}/versions",
        f"/api/models/{BIG}/versions",
        "/api/evaluations/1/samples/{BIG}",
        f"/api/evaluations/1/samples/{HUGE}",
        f"/api/evaluations/1/samples?offset={2**53}",
        f"/api/evaluations/1/samples?offset={HUGE}",
        f"/api/evaluations/1/samples?limit={HUGE}",
        f"/api/evaluations/1/confusion?top={HUGE}",
        f"/api/evaluations/1/curves/roc?bins={HUGE}",
        "/api/evaluations/1/labels?threshold=1e400",
        "/api/evaluations/1/labels?threshold=nan",
        "/api/evaluations/4/summary?score=inf",
        "/api/evaluations/4/summary?score=-1e400",
        "/api/evaluations/4/summary?iou=nan",
        "/api/evaluations/1/samples?offset=1e3",
        "/api/evaluations/1/samples?errors_only=maybe",
        "/api/evaluations/1/samples?actual=" + "x" * 1500,
    ],
)
def test_numbers_beyond_range_are_4xx(client: TestClient, url: str) -> None:
    answer = client.get(url)
    assert answer.status_code in (404, 422), (url, answer.status_code, answer.text)
    detail = answer.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and "Traceback" not in detail


def test_ids_at_the_edge(client: TestClient, seeded: Seeded) -> None:
    assert client.get(f"/api/evaluations/{BIG - 1}").status_code == 404
    assert client.delete(f"/api/evaluations/{BIG}").status_code == 422
    assert client.delete(f"/api/jobs/{BIG}").status_code == 422
    assert client.delete(f"/api/jobs/{BIG - 1}").status_code == 404
    page = client.get(f"/api/evaluations/{seeded.image}/samples?offset={2**53 - 1}")
    assert page.status_code == 200 and page.json()["items"] == []
    for body in (
        {"name": "m", "parent_version_id": BIG},
        {"name": "m", "parent_version_id": -1},
    ):
        assert client.post("/api/models", json=body).status_code == 422
    assert (
        client.post("/api/models", json={"name": "m", "parent_version_id": BIG - 1}).status_code
        == 404
    )
    for threshold in (b'"NaN"', b"NaN", b"Infinity", b"1e400", b"-1e400"):
        body = b'{"gt": "/a", "pred": "/b", "threshold": ' + threshold + b"}"
        answer = client.post(
            "/api/evaluations", content=body, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 422, threshold


@pytest.mark.parametrize(
    "label",
    ["%00", "%F0%9F%90%88", "..%2F..%2Fetc%2Fpasswd", "%FF%FE", "a%0Ab", "%25s%25s%25n", "{}", "'"],
)
def test_odd_labels(client: TestClient, seeded: Seeded, label: str) -> None:
    for url in (
        f"/api/evaluations/{seeded.image}/labels/{label}",
        f"/api/evaluations/{seeded.image}/samples?actual={label}",
        f"/api/evaluations/{seeded.detection}/samples?label={label}",
        f"/api/evaluations/{seeded.text}/curves/roc?label={label}",
    ):
        answer = client.get(url)
        # a newline in a path segment matches no route: a JSON 404
        assert answer.status_code == (404 if "%0A" in label and "/labels/" in url else 422), (
            url,
            answer.text,
        )
        assert "\n" not in answer.json()["detail"]


def test_malformed_bodies(client: TestClient) -> None:
    for body in (b"{", b"[]", b"null", b'{"name": 1}', b"\xff\xfe", b'{"name": "a", "path": []}'):
        answer = client.post(
            "/api/datasets", content=body, headers={"Content-Type": "application/json"}
        )
        assert answer.status_code == 422, body
    wrong_type = client.post(
        "/api/models", content=b"name=x", headers={"Content-Type": "text/plain"}
    )
    assert wrong_type.status_code == 422


def test_unexpected_errors_are_json_without_a_traceback(seeded: Seeded) -> None:
    app = create_app(seeded.home)

    def explode() -> None:
        raise RuntimeError("secret internals /home/someone/.ssh")

    app.router.routes.insert(0, APIRoute("/api/explode", explode, methods=["GET"]))
    with TestClient(app, base_url=BASE_URL, raise_server_exceptions=False) as client:
        answer = client.get("/api/explode")
    assert answer.status_code == 500
    assert answer.json() == {"detail": "internal error (logged by the server)"}
    assert "secret" not in answer.text and "Traceback" not in answer.text


def test_quoted_paths_in_media_ids(client: TestClient) -> None:
    for sample_id in (quote("1:0/../../etc/passwd", safe=""), "1" * 70, f"{BIG}:{BIG}"):
        answer = client.get(f"/api/samples/{sample_id}/media")
        assert answer.status_code in (404, 422)


def test_long_values_are_not_echoed_whole(client: TestClient, seeded: Seeded) -> None:
    answer = client.get(f"/api/evaluations/{seeded.image}/samples?actual=" + "x" * 1500)
    detail = answer.json()["detail"]
    assert answer.status_code == 422 and len(detail) < 200 and detail.endswith("...")
