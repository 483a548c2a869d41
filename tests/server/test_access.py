"""Access: the token (header or session cookie), the Host check, cross-site requests, no CORS,
size limits."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from assay.server.access import COOKIE, SESSION_SECONDS, session_valid, session_value
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
    given = access_for("127.0.0.1", token="a" * 16, no_auth=False)
    assert given.require_token and given.token == "a" * 16 and not given.generated
    open_wide = access_for("0.0.0.0", token=None, no_auth=True)
    assert not open_wide.require_token and "Warning" in (open_wide.banner("u") or "")
    with pytest.raises(ValueError):
        access_for("0.0.0.0", token="abc", no_auth=True)
    assert is_loopback("127.0.0.2") and is_loopback("[::1]") and not is_loopback("0.0.0.0")
    assert not is_loopback("192.168.1.4") and not is_loopback("example.com")
    never = Path(tempfile.gettempdir()) / f"assay-never-{os.getpid()}"
    with pytest.raises(ValueError):
        create_app(never, require_token=True)
    assert not never.exists()  # refused before any workspace is made


@pytest.mark.parametrize("short", ["abc", "x", "a" * 15])
def test_short_tokens_are_refused(short: str, tmp_path: Path) -> None:
    for host in ("127.0.0.1", "0.0.0.0"):
        with pytest.raises(ValueError, match="at least 16"):
            access_for(host, token=short, no_auth=False)
    with pytest.raises(ValueError, match="at least 16"):
        create_app(tmp_path / "home", token=short)


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
    value = cookie.split(";")[0].removeprefix(f"{COOKIE}=")
    assert session_valid(value, TOKEN) and TOKEN not in cookie
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/api" in cookie
    # the cookie expires, in the browser and on the server
    assert f"Max-Age={SESSION_SECONDS}" in cookie and "expires=" in cookie.lower()
    expires = int(value.split(".")[0])
    assert abs(expires - (time.time() + SESSION_SECONDS)) < 60
    assert not session_valid(value, TOKEN, now=expires + 1)
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
    later = int(time.time()) + 3600
    forged = {"Cookie": f"{COOKIE}={session_value(TOKEN + 'x', later)}"}
    assert guarded.get(media, headers=forged).status_code == 401
    expired = {"Cookie": f"{COOKIE}={session_value(TOKEN, int(time.time()) - 1)}"}
    assert guarded.get(media, headers=expired).status_code == 401
    # the expiry is under the HMAC: a valid cookie with its date moved on is no longer valid
    moved = session_value(TOKEN, int(time.time()) - 1).split(".", 1)[1]
    assert guarded.get(media, headers={"Cookie": f"{COOKIE}={later}.{moved}"}).status_code == 401
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


# ---------------------------------------------------------------- cross-site requests


@pytest.fixture(scope="module")
def loopback(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """``assay serve`` as it starts by default: 127.0.0.1, no token."""
    app = create_app(seeded.home, static_dir=tmp_path_factory.mktemp("nostatic-loopback"))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        yield client


CROSS_SITE = [
    {"Origin": "https://evil.example.com"},
    {"Origin": "https://evil.example.com", "Sec-Fetch-Site": "cross-site"},
    {"Origin": "null"},  # a sandboxed frame, a file:// page, a redirect from another site
    {"Origin": "http://127.0.0.1:3000"},  # another port: another origin
    {"Origin": "http://localhost:8000"},  # another name for the same socket: another origin
    {"Sec-Fetch-Site": "cross-site"},  # <img>, <script>, a top-level link: no Origin
    {"Sec-Fetch-Site": "same-site"},
]


@pytest.mark.parametrize("headers", CROSS_SITE)
@pytest.mark.parametrize(
    "url", ["/api/evaluations", "/api/evaluations/1", "/api/samples/1:0/media", "/api/health"]
)
def test_a_loopback_server_refuses_cross_site_reads(
    loopback: TestClient, url: str, headers: dict[str, str]
) -> None:
    answer = loopback.get(url, headers=headers)
    assert answer.status_code == 403, (url, headers)
    detail = answer.json()["detail"]
    assert detail.startswith("cross-site request refused") and "\n" not in detail
    assert not any(h.startswith("access-control-") for h in answer.headers)


@pytest.mark.parametrize("headers", CROSS_SITE)
def test_a_loopback_server_refuses_cross_site_writes(
    loopback: TestClient, seeded: Seeded, tmp_path: Path, headers: dict[str, str]
) -> None:
    before = loopback.get("/api/evaluations").json()
    for method, url, body in (
        ("POST", "/api/datasets", {"name": "x", "path": str(tmp_path)}),
        ("POST", "/api/models", {"name": "x"}),
        ("POST", "/api/evaluations", {"gt": "/a", "pred": "/b"}),
        ("POST", f"/api/evaluations/{seeded.image}/quality", {}),
        ("DELETE", f"/api/evaluations/{seeded.image}", None),
        ("DELETE", "/api/jobs/1", None),
        ("POST", "/api/session", {"token": "x" * 20}),
    ):
        answer = loopback.request(method, url, json=body, headers=headers)
        assert answer.status_code == 403, (method, url, headers)
        assert answer.json()["detail"].startswith("cross-site request refused")
    # a simple (no preflight) form post, text/plain, from another site: refused as well
    form = loopback.post(
        "/api/evaluations", content=b"{}", headers={**headers, "Content-Type": "text/plain"}
    )
    assert form.status_code == 403
    assert loopback.get("/api/evaluations").json() == before  # nothing deleted


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl, the CLI, scripts
        {"Origin": "http://127.0.0.1:8000"},  # the UI itself (fetch with Origin: POSTs)
        {"Origin": "http://127.0.0.1:8000", "Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "same-origin"},  # the UI's GETs carry no Origin
        {"Sec-Fetch-Site": "none"},  # typed into the address bar
    ],
)
def test_a_loopback_server_serves_its_own_ui(
    loopback: TestClient, seeded: Seeded, headers: dict[str, str]
) -> None:
    assert loopback.get("/api/evaluations", headers=headers).status_code == 200
    assert loopback.get(f"/api/evaluations/{seeded.image}", headers=headers).status_code == 200
    assert loopback.get("/api/health", headers=headers).status_code == 200
    answer = loopback.delete("/api/evaluations/999999", headers=headers)
    assert answer.status_code == 404  # reached the route
    created = loopback.post("/api/models", json={}, headers=headers)
    assert created.status_code == 422  # reached the route (validation)


def test_the_ui_shell_opens_from_a_link_on_another_site(loopback: TestClient) -> None:
    """Outside /api nothing holds data: a link to the UI from another page still opens it."""
    answer = loopback.get("/evaluations/1", headers={"Sec-Fetch-Site": "cross-site"})
    assert answer.status_code != 403


def test_same_origin_by_the_host_header(seeded: Seeded) -> None:
    """The server's own origin is the Host the request was sent to (any served name, IPv6 too);
    configured CORS origins pass."""
    app = create_app(seeded.home, host="::1", cors_origins=["https://ui.example.com"])
    with TestClient(app, base_url="http://[::1]:8000") as client:
        assert client.get("/api/health", headers={"Origin": "http://[::1]:8000"}).status_code == 200
        assert client.get("/api/health", headers={"Origin": "http://[::1]:9000"}).status_code == 403
        ok = client.get("/api/health", headers={"Host": "localhost", "Origin": "http://localhost"})
        assert ok.status_code == 200
        ui = {"Origin": "https://ui.example.com", "Sec-Fetch-Site": "cross-site"}
        allowed = client.get("/api/health", headers=ui)
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == "https://ui.example.com"


def test_a_token_server_refuses_cross_site_requests_too(guarded: TestClient) -> None:
    evil = {**BEARER, "Origin": "https://evil.example.com"}
    assert guarded.get("/api/evaluations", headers=evil).status_code == 403
    own = {**BEARER, "Origin": "http://10.1.2.3:8000"}
    assert guarded.get("/api/evaluations", headers=own).status_code == 200
