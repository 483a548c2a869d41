"""Access: the token (header or session cookie), the Host check, no CORS, size limits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assay.server.access import COOKIE, session_value
from assay.server.app import create_app
from assay.server.config import Limits, access_for, is_loopback
from tests.server.conftest import BASE_URL, Seeded

TOKEN = "s3cret-token-for-tests"


@pytest.fixture(scope="module")
def guarded(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A server listening on every interface with a token, as ``--host 0.0.0.0`` makes it."""
    app = create_app(
        seeded.home,
        host="0.0.0.0",
        token=TOKEN,
        allowed_hosts=["box.lan"],
        data_roots=[tmp_path_factory.getbasetemp()],
        limits=Limits(max_body_bytes=64 * 1024, max_query_bytes=2048),
        static_dir=tmp_path_factory.mktemp("nostatic"),
    )
    with TestClient(app, base_url="http://10.1.2.3:8000") as client:
        yield client


BEARER = {"Authorization": f"Bearer {TOKEN}"}


def test_access_plan_for_the_cli() -> None:
    wide = access_for("0.0.0.0", token=None, no_auth=False)
    assert wide.require_token and wide.generated and len(wide.token or "") >= 40
    assert wide.token in (wide.banner("http://0.0.0.0:8000") or "")
    assert access_for("0.0.0.0", token=None, no_auth=False).token != wide.token
    assert not access_for("127.0.0.1", token=None, no_auth=False).require_token
    assert not access_for("localhost", token=None, no_auth=False).require_token
    assert not access_for("::1", token=None, no_auth=False).require_token
    given = access_for("127.0.0.1", token="abc", no_auth=False)
    assert given.require_token and given.token == "abc" and not given.generated
    open_wide = access_for("0.0.0.0", token=None, no_auth=True)
    assert not open_wide.require_token and "Warning" in (open_wide.banner("u") or "")
    with pytest.raises(ValueError):
        access_for("0.0.0.0", token="abc", no_auth=True)
    assert is_loopback("127.0.0.2") and is_loopback("[::1]") and not is_loopback("0.0.0.0")
    assert not is_loopback("192.168.1.4") and not is_loopback("example.com")
    with pytest.raises(ValueError):
        create_app(Path("/nonexistent-never"), require_token=True)


@pytest.mark.parametrize(
    "url",
    [
        "/api/evaluations",
        "/api/evaluations/1",
        "/api/evaluations/1/labels?threshold=0.3",
        "/api/datasets",
        "/api/models",
        "/api/jobs/1",
        "/api/samples/1:0/media",
        "/api/samples/1:0/thumbnail",
        "/api/openapi.json",
        "/api/docs",
        "/api/nothing",
    ],
)
def test_every_api_path_needs_the_token(guarded: TestClient, url: str) -> None:
    missing = guarded.get(url)
    assert missing.status_code == 401, url
    assert missing.json() == {"detail": "access token required: send Authorization: Bearer <token>"}
    assert missing.headers["www-authenticate"].startswith("Bearer")
    for wrong in (f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer ", f"Basic {TOKEN}", TOKEN):
        answer = guarded.get(url, headers={"Authorization": wrong})
        assert answer.status_code == 401 and answer.json() == {"detail": "invalid access token"}
    assert guarded.get(url, headers=BEARER).status_code != 401


def test_writes_need_the_token(guarded: TestClient, tmp_path: Path) -> None:
    for method, url, body in (
        ("POST", "/api/datasets", {"name": "x", "path": str(tmp_path)}),
        ("POST", "/api/models", {"name": "x"}),
        ("POST", "/api/evaluations", {"gt": "/a", "pred": "/b"}),
        ("DELETE", "/api/evaluations/1", None),
        ("DELETE", "/api/jobs/1", None),
    ):
        assert guarded.request(method, url, json=body).status_code == 401, url


def test_open_paths(guarded: TestClient) -> None:
    assert guarded.get("/api/health").status_code == 200
    assert guarded.get("/api/session").json() == {"required": True, "authenticated": False}
    assert guarded.get("/api/session", headers=BEARER).json() == {
        "required": True,
        "authenticated": True,
    }
    # the UI shell holds no data; it loads without a token so that it can ask for one
    assert guarded.get("/evaluations/1").status_code == 404  # (no build in this test)
    assert "not built" in guarded.get("/evaluations/1").json()["detail"]


def test_session_cookie_for_images(guarded: TestClient, seeded: Seeded) -> None:
    media = f"/api/samples/{seeded.image_dv}:3/media"
    wrong = guarded.post("/api/session", json={"token": "nope"})
    assert wrong.status_code == 401 and COOKIE not in wrong.cookies
    assert guarded.post("/api/session", json={}).status_code == 422
    made = guarded.post("/api/session", json={"token": TOKEN})
    assert made.status_code == 200 and made.json() == {"required": True, "authenticated": True}
    cookie = made.headers["set-cookie"]
    assert f"{COOKIE}={session_value(TOKEN)}" in cookie and TOKEN not in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/api" in cookie
    try:
        assert guarded.get(media).status_code == 200  # the cookie alone opens <img> URLs
        assert guarded.get(f"/api/samples/{seeded.image_dv}:3/thumbnail").status_code == 200
        assert guarded.get("/api/session").json()["authenticated"]
        # ... but never a write
        assert guarded.post("/api/models", json={"name": "by-cookie"}).status_code == 401
        assert guarded.delete("/api/evaluations/999999").status_code == 401
    finally:
        guarded.cookies.clear()
    assert guarded.get(media).status_code == 401
    forged = {"Cookie": f"{COOKIE}={session_value(TOKEN + 'x')}"}
    assert guarded.get(media, headers=forged).status_code == 401
    assert guarded.get(media, headers={"Cookie": f"{COOKIE}={TOKEN}"}).status_code == 401
    gone = guarded.delete("/api/session")
    assert gone.status_code == 204 and 'assay_session=""' in gone.headers["set-cookie"]


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("localhost:8000", True),
        ("127.0.0.1:8000", True),
        ("[::1]:8000", True),
        ("10.1.2.3:8000", True),  # an IP literal cannot be rebound
        ("box.lan:8000", True),  # added explicitly
        ("BOX.LAN", True),
        ("evil.example.com", False),  # DNS rebinding: the attacker's name
        ("evil.example.com:8000", False),
        ("localhost.evil.example.com", False),
        ("127.0.0.1.nip.io", False),
    ],
)
def test_host_header(guarded: TestClient, host: str, ok: bool) -> None:
    answer = guarded.get("/api/evaluations", headers={**BEARER, "Host": host})
    if ok:
        assert answer.status_code == 200
    else:
        assert answer.status_code == 421
        assert "not served here" in answer.json()["detail"]


def test_host_header_on_a_loopback_server(seeded: Seeded) -> None:
    """A server on 127.0.0.1 without a token: a page on another name rebound to 127.0.0.1
    reaches nothing."""
    with TestClient(create_app(seeded.home), base_url="http://evil.example.com") as client:
        assert client.get("/api/evaluations").status_code == 421
        assert client.get("/").status_code == 421
        assert client.get("/api/evaluations", headers={"Host": "localhost:8000"}).status_code == 200
    with TestClient(create_app(seeded.home, host="assay.internal")) as client:
        assert client.get("/api/health", headers={"Host": "assay.internal"}).status_code == 200


def test_no_cors_unless_configured(guarded: TestClient, seeded: Seeded) -> None:
    origin = {"Origin": "https://evil.example.com"}
    for answer in (
        guarded.get("/api/evaluations", headers={**BEARER, **origin}),
        guarded.get("/api/health", headers=origin),
        guarded.options(
            "/api/evaluations",
            headers={**origin, "Access-Control-Request-Method": "GET"},
        ),
    ):
        assert not any(h.startswith("access-control-") for h in answer.headers)
    app = create_app(seeded.home, cors_origins=["https://ui.example.com"])
    with TestClient(app, base_url=BASE_URL) as client:
        allowed = client.get("/api/health", headers={"Origin": "https://ui.example.com"})
        assert allowed.headers["access-control-allow-origin"] == "https://ui.example.com"
        other = client.get("/api/health", headers=origin)
        assert "access-control-allow-origin" not in other.headers


def test_body_and_query_limits(guarded: TestClient, tmp_path: Path) -> None:
    big = {"name": "x" * (100 * 1024), "path": str(tmp_path)}
    answer = guarded.post("/api/datasets", json=big, headers=BEARER)
    assert answer.status_code == 413 and "larger than 65536 bytes" in answer.json()["detail"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it streams
        yield b'{"name": "'
        for _ in range(100):
            yield b"y" * 1024
        yield b'", "path": "/tmp"}'

    streamed = guarded.post(
        "/api/datasets",
        content=chunks(),
        headers={**BEARER, "Content-Type": "application/json"},
    )
    assert streamed.status_code == 413
    bogus = guarded.post("/api/models", content=b"{}", headers={**BEARER, "Content-Length": "-5"})
    assert bogus.status_code in (400, 413)
    long_query = guarded.get("/api/evaluations?x=" + "a" * 4096, headers=BEARER)
    assert long_query.status_code == 414
    for body in (
        {"name": "n" * 201, "path": str(tmp_path)},
        {"name": "ok", "path": "/" + "p" * 5000},
        {"name": "", "path": str(tmp_path)},
    ):
        answer = guarded.post("/api/datasets", json=body, headers=BEARER)
        assert answer.status_code == 422, body
        assert "\n" not in answer.json()["detail"]
    for body in ({"name": "m" * 201}, {"name": "m", "version": "v" * 201}):
        assert guarded.post("/api/models", json=body, headers=BEARER).status_code == 422
