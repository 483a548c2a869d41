"""Who may talk to the server, and how much they may send.

One pure ASGI middleware, in this order:

1. Host header: only the served names (127.0.0.1, localhost, [::1], the ``--host`` given, names
   added with ``allowed_hosts``) or an IP literal; any other name is a 421 JSON answer. A DNS
   rebinding attack always carries the attacker's own domain name, so this stops it.
2. Cross-site: an ``/api`` request whose ``Origin`` is not this server's own (the scheme aside,
   the host and port of its Host header) nor one named with ``cors_origins``, or that a browser
   marks ``Sec-Fetch-Site: cross-site`` / ``same-site``, is a 403 JSON answer, token or not.
   Requests without these headers (curl, the CLI, scripts) and the UI's own (same origin) pass.
   So no other page a browser opens can read data from or start work on a server, even a
   loopback one without a token.
3. Size: a query string over ``max_query_bytes`` is a 414, a body over ``max_body_bytes`` a 413
   (by ``Content-Length``, and counted while it streams, chunked or not: the middleware never
   buffers a body, the route reads it, and the chunk that passes the limit is a 413 at once).
   The one upload route, ``POST /api/models/{version_id}/predict``, takes up to
   ``upload_request_bytes`` instead.
4. Token, when the server requires one: every ``/api`` path but ``/api/health`` and
   ``/api/session`` needs ``Authorization: Bearer <token>``; GET / HEAD may instead carry the
   session cookie (``<img>`` media and thumbnail URLs cannot carry a header). A missing or wrong
   token is a 401 ``{"detail": ...}`` with ``WWW-Authenticate: Bearer``. Comparisons are
   constant-time. The UI shell (outside ``/api``) holds no data and loads without a token, so it
   can ask for one.

The session cookie (``POST /api/session`` with ``{"token": ...}``) holds its expiry and an HMAC of
the token and that expiry, not the token; it is ``HttpOnly; SameSite=Strict; Path=/api`` with a
``Max-Age`` of :data:`SESSION_SECONDS` (the server refuses it after that too), so no script reads
it and no other site's page sends it; it never authorises a POST or DELETE.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import time
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import Field
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assay.server.answer_schemas import Exact
from assay.server.config import ServerConfig
from assay.server.responses import dumps

COOKIE = "assay_session"
OPEN_PATHS = frozenset({"/api/health", "/api/session"})
SAFE_METHODS = frozenset({"GET", "HEAD"})
UPLOAD_PATH = re.compile(r"/api/models/[0-9]{1,19}/predict")  # the one route that takes uploads
SESSION_SECONDS = 12 * 3600  # a session cookie's life
SAME_ORIGIN_SITES = frozenset({"same-origin", "none"})  # Sec-Fetch-Site of the UI's own requests


def session_value(token: str, expires: int) -> str:
    """What the session cookie holds: its expiry (Unix seconds) and an HMAC of the token and that
    expiry (the cookie never holds the token)."""
    mac = hmac.new(token.encode(), f"assay-session-v2:{expires}".encode(), hashlib.sha256)
    return f"{expires}.{mac.hexdigest()}"


def session_valid(cookie: str | None, token: str, now: float | None = None) -> bool:
    """Whether a session cookie was made by this server's token and has not expired."""
    if not cookie:
        return False
    stamp, _, _ = cookie.partition(".")
    if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12:
        return False
    expires = int(stamp)
    if expires <= (time.time() if now is None else now):
        return False
    return hmac.compare_digest(cookie.encode(), session_value(token, expires).encode())


def token_matches(given: str, token: str) -> bool:
    """Constant-time comparison of a presented token with the server's."""
    return hmac.compare_digest(given.encode(), token.encode())


def _host_name(host_header: str) -> str:
    """The name of a Host header without its port (``[::1]:8000`` -> ``::1``)."""
    value = host_header.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def _host_port(host_header: str) -> tuple[str, int | None]:
    """The name and port of a Host header (``[::1]:8000`` -> ``("::1", 8000)``)."""
    value = host_header.strip().lower()
    name = _host_name(value)
    rest = value[value.find("]") + 1 :] if value.startswith("[") else value[len(name) :]
    port = rest[1:] if rest.startswith(":") else ""
    return name, int(port) if port.isascii() and port.isdigit() and len(port) <= 5 else None


def _origin_host_port(origin: str) -> tuple[str, int | None] | None:
    """The host and explicit port of an ``Origin`` (None when it is not an http(s) origin)."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    return parts.hostname.lower(), port


def _shown(value: str) -> str:
    return repr(value if len(value) <= 80 else value[:80] + "...")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


class AccessMiddleware:
    """Host check, size limits and the token (see the module docstring)."""

    def __init__(self, app: ASGIApp, config: ServerConfig) -> None:
        self.app = app
        self.config = config
        self.names = config.served_names()
        self.cors_origins = frozenset(o.strip().rstrip("/").lower() for o in config.cors_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        problem = self._check(scope, headers)
        if problem is not None:
            await _send_problem(send, *problem)
            return
        if scope.get("method") in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        await self._counted(scope, receive, send, self._body_limit(scope))

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Run the app with its body counted as it streams (chunked or not), never buffered here:
        the chunk that passes ``limit`` is not handed on; the client gets a 413 (when the app has
        not answered yet) and the app sees a disconnect, so it stops reading and its own answer
        is dropped. A route that refuses early (a 503) never reads the body at all."""
        received = 0
        refused = False
        started = False

        async def counted() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    if not started:
                        await _send_problem(send, 413, f"request body larger than {limit} bytes")
                    return {"type": "http.disconnect"}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is the answer
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except Exception:
            if not refused:
                raise

    def _check(self, scope: Scope, headers: Headers) -> tuple[int, str, dict[str, str]] | None:
        host = _host_name(headers.get("host", ""))
        if host and host not in self.names and not _is_ip(host):
            return 421, f"Host {host!r} is not served here (add it with --allow-host)", {}
        limits = self.config.limits
        if len(scope.get("query_string", b"")) > limits.max_query_bytes:
            return 414, f"query string longer than {limits.max_query_bytes} bytes", {}
        length = headers.get("content-length")
        body_limit = self._body_limit(scope)
        if length is not None and (not length.isdigit() or int(length) > body_limit):
            return 413, f"request body larger than {body_limit} bytes", {}
        path: str = scope.get("path", "")
        if not (path == "/api" or path.startswith("/api/")):
            return None
        cross_site = self._cross_site(headers)
        if cross_site is not None:
            return 403, cross_site, {}
        if not self.config.require_token or path in OPEN_PATHS:
            return None
        return self._authorise(scope, headers)

    def _cross_site(self, headers: Headers) -> str | None:
        """Why a request comes from another site's page (None when it does not): an ``Origin``
        other than this server's own or a configured CORS origin, or a browser's
        ``Sec-Fetch-Site`` saying the page is on another origin."""
        origin = headers.get("origin")
        site = headers.get("sec-fetch-site", "").strip().lower()
        if origin is not None:
            if origin.strip().rstrip("/").lower() in self.cors_origins:
                return None
            if self._own_origin(origin, headers.get("host", "")) and (
                not site or site in SAME_ORIGIN_SITES
            ):
                return None
            return (
                f"cross-site request refused: Origin {_shown(origin)} is not this server "
                "(open the UI from the server's own address)"
            )
        if site and site not in SAME_ORIGIN_SITES:
            return (
                f"cross-site request refused: Sec-Fetch-Site {_shown(site)} "
                "(open the UI from the server's own address)"
            )
        return None

    @staticmethod
    def _own_origin(origin: str, host_header: str) -> bool:
        """Whether ``origin`` names the host (and port) the request was sent to. The scheme is not
        compared, so a TLS proxy in front keeps working; a Host without a port matches an
        origin without one."""
        parsed = _origin_host_port(origin)
        if parsed is None or not host_header:
            return False
        name, port = _host_port(host_header)
        return parsed[0].strip("[]") == name and parsed[1] == port

    def _body_limit(self, scope: Scope) -> int:
        """The largest body a request may send: uploads to the predict route, else the default."""
        limits = self.config.limits
        if scope.get("method") == "POST" and UPLOAD_PATH.fullmatch(scope.get("path", "")):
            return limits.upload_request_bytes
        return limits.max_body_bytes

    def _authorise(self, scope: Scope, headers: Headers) -> tuple[int, str, dict[str, str]] | None:
        token = self.config.token or ""
        challenge = {"WWW-Authenticate": 'Bearer realm="assay"'}
        authorization = headers.get("authorization")
        if authorization is not None:
            scheme, _, given = authorization.partition(" ")
            if scheme.lower() == "bearer" and token and token_matches(given.strip(), token):
                return None
            return 401, "invalid access token", challenge
        cookie = _cookie(headers, COOKIE)
        if scope.get("method") in SAFE_METHODS and token and session_valid(cookie, token):
            return None
        return 401, "access token required: send Authorization: Bearer <token>", challenge


def _cookie(headers: Headers, name: str) -> str | None:
    for header in headers.getlist("cookie"):
        for part in header.split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value
    return None


async def _send_problem(
    send: Send, status: int, detail: str, extra: dict[str, str] | None = None
) -> None:
    body = dumps({"detail": detail})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += [(k.lower().encode(), v.encode()) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# ---------------------------------------------------------------- the session cookie


class SessionCreate(Exact):
    token: Annotated[str, Field(min_length=1, max_length=512)]


class SessionPublic(Exact):
    required: bool
    authenticated: bool


router = APIRouter(prefix="/session", tags=["session"])


@router.get("")
def get_session(request: Request) -> SessionPublic:
    """Whether this server requires a token and whether this request carries a valid one (the
    UI asks for the token only when ``required`` and not ``authenticated``)."""
    config: ServerConfig = request.app.state.config
    if not config.require_token or not config.token:
        return SessionPublic(required=False, authenticated=True)
    ok = session_valid(_cookie(request.headers, COOKIE), config.token)
    authorization = request.headers.get("authorization", "")
    scheme, _, given = authorization.partition(" ")
    ok = ok or (scheme.lower() == "bearer" and token_matches(given.strip(), config.token))
    return SessionPublic(required=True, authenticated=ok)


@router.post("")
def create_session(body: SessionCreate, request: Request, response: Response) -> SessionPublic:
    """Exchange the token for the session cookie that ``<img>`` requests carry (401 when wrong)."""
    config: ServerConfig = request.app.state.config
    if not config.require_token or not config.token:
        return SessionPublic(required=False, authenticated=True)
    if not token_matches(body.token, config.token):
        raise HTTPException(401, detail="invalid access token")
    expires = int(time.time()) + SESSION_SECONDS
    response.set_cookie(
        COOKIE,
        session_value(config.token, expires),
        max_age=SESSION_SECONDS,
        expires=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
        path="/api",
    )
    return SessionPublic(required=True, authenticated=True)


@router.delete("", status_code=204)
def delete_session() -> Response:
    """Forget the session cookie."""
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/api", httponly=True, samesite="strict")
    return response
