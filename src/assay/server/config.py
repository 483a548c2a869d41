"""What a server is allowed to do, given once to :func:`~assay.server.app.create_app`.

Access: a token is required whenever the server listens on anything but loopback (``--host
0.0.0.0``); on loopback it is optional (required when one is given). :func:`access_for` is what the
CLI calls: it decides, generates a token when one is needed and none was given, and says what to
print.

>>> plan = access_for("0.0.0.0", token=None, no_auth=False)
>>> plan.require_token and len(plan.token) > 30
True
>>> access_for("127.0.0.1", token=None, no_auth=False).require_token
False
"""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assay.runners.sandbox import SandboxLimits

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
WILDCARDS = ("0.0.0.0", "::", "")
MAX_ID = 2**63 - 1  # SQLite's INTEGER
MAX_OFFSET = 2**53 - 1  # the largest integer a JSON client (JavaScript) holds exactly
MAX_NAME = 200
MAX_PATH = 4096
MIN_TOKEN_CHARS = 16  # a shorter access token is refused (a guessable one protects nothing)


@dataclass(frozen=True)
class Limits:
    """Resource limits of one server (the defaults suit a team's shared box)."""

    max_body_bytes: int = 1 << 20  # request bodies (413 beyond)
    max_query_bytes: int = 8192  # the query string (414 beyond)
    max_read_bytes: int = 4 << 30  # the files a POST names, all together
    max_files: int = 500_000  # files in a folder a POST names
    scan_seconds: float = 30.0  # walking such a folder
    job_workers: int = 1  # evaluation jobs running at once (each in its own process)
    job_queue: int = 16  # jobs waiting (429 beyond)
    job_seconds: float = 3600.0  # a job running longer is stopped and fails
    max_image_pixels: int = 64_000_000  # thumbnails of larger images are refused (422)
    cached_evaluations: int = 16  # per-evaluation memos kept (curves, optima, report)
    cached_sample_tables: int = 16  # sample look-ups kept
    cached_media_roots: int = 256  # dataset versions' media roots kept
    cached_optima: int = 64  # detection optimal points kept per evaluation
    # what-if (POST /api/models/{version_id}/predict)
    upload_request_bytes: int = 40 << 20  # a predict request's body (413 beyond)
    upload_file_bytes: int = 10 << 20  # one uploaded image (that item refused beyond)
    upload_files: int = 16  # images in one request (422 beyond)
    predict_text_lines: int = 256  # texts (one per line) in one request (422 beyond)
    predict_text_chars: int = 10_000  # one text (that item refused beyond)
    cached_runners: int = 2  # loaded models kept (least recently used dropped)
    predict_workers: int = 2  # predictions running at once
    predict_queue: int = 4  # predictions waiting for a worker (503 with Retry-After beyond)
    # the costly routes: at most N running, M waiting, identical requests sharing one computation
    # (503 with Retry-After beyond); see assay.server.gates
    compare_workers: int = 2  # compare and leaderboard computations running at once
    compare_queue: int = 8  # ... waiting
    thumbnail_workers: int = 2  # thumbnails being made at once (one decodes up to max_image_pixels)
    thumbnail_queue: int = 96  # ... waiting (the sample grid asks for 50 at once)
    # decoded pixels of all thumbnails being made, together (assay.server.thumbnails): a decode
    # waits for room, one that alone needs more is refused (422)
    thumbnail_decode_bytes: int = 512 << 20
    register_workers: int = 1  # model registrations (loading and checking a model) at once
    register_queue: int = 4  # ... waiting
    max_input_values: int = 1 << 25  # a model's input tensor, batch x C x H x W (422 beyond)
    # model workers (assay.runners.sandbox): every model is loaded and run in one, confined
    model_memory_bytes: int = 4 << 30  # a worker's address space (past it: stopped, 503)
    model_call_seconds: float = 60.0  # one what-if prediction, wall clock (past it: stopped, 503)
    model_load_seconds: float = 120.0  # loading a model in a new worker (registration, what-if)
    model_cpu_seconds: float = 120.0  # CPU time of one call
    job_call_seconds: float = 600.0  # one batch of a model job
    cached_runner_bytes: int = 8 << 30  # resident memory of the what-if workers kept, together


@dataclass(frozen=True)
class AccessPlan:
    """The access settings of a server, decided from the CLI's flags."""

    host: str
    token: str | None
    require_token: bool
    generated: bool = False

    def banner(self, url: str) -> str | None:
        """The line the CLI prints at start (None when there is nothing to say)."""
        if not self.require_token:
            if not is_loopback(self.host):
                return (
                    "Warning: --no-auth on a non-loopback address: anyone who reaches it may use it"
                )
            return None
        if self.generated:
            return f"Access token (generated, give it to the UI once): {self.token}\n{url}"
        return "Access token required (the one given with --token / ASSAY_TOKEN)"


@dataclass(frozen=True)
class ServerConfig:
    """Everything a server takes from its command line; see :func:`access_for`."""

    host: str = "127.0.0.1"
    token: str | None = None
    require_token: bool = False
    allowed_hosts: tuple[str, ...] = ()
    data_roots: tuple[Path, ...] = ()
    cors_origins: tuple[str, ...] = ()
    limits: Limits = field(default_factory=Limits)
    allow_code_models: bool = False  # run code-carrying models even without Landlock

    def served_names(self) -> frozenset[str]:
        """Host names (without port) the Host header may carry; IP literals are always fine."""
        names = {*LOOPBACK_NAMES, *(h.lower().strip("[]") for h in self.allowed_hosts)}
        if self.host not in WILDCARDS:
            names.add(self.host.lower().strip("[]"))
        return frozenset(names)


def sandbox_limits(config: ServerConfig, *, job: bool = False) -> SandboxLimits:
    """The bounds of this server's model workers (a job's batch may take longer than a what-if)."""
    from assay.runners.sandbox import SandboxLimits

    lim = config.limits
    return SandboxLimits(
        memory_bytes=lim.model_memory_bytes,
        call_seconds=lim.job_call_seconds if job else lim.model_call_seconds,
        load_seconds=lim.model_load_seconds,
        cpu_seconds=lim.job_call_seconds * 4 if job else lim.model_cpu_seconds,
        allow_code_models=config.allow_code_models,
    )


def is_loopback(host: str) -> bool:
    """Whether listening on ``host`` is reachable from this machine only."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def generate_token() -> str:
    """A new random access token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def check_token(token: str) -> None:
    """A ValueError when ``token`` is too short to protect anything.

    >>> check_token("abc")
    Traceback (most recent call last):
    ...
    ValueError: the access token has 3 characters; give one of at least 16 ...
    """
    if len(token) < MIN_TOKEN_CHARS:
        raise ValueError(
            f"the access token has {len(token)} characters; give one of at least "
            f"{MIN_TOKEN_CHARS} (e.g. from: python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')"
        )


def access_for(host: str, *, token: str | None, no_auth: bool) -> AccessPlan:
    """The access plan for ``assay serve --host HOST [--token T] [--no-auth]``.

    A token given is always required; ``--no-auth`` (said explicitly) turns access control off;
    otherwise a non-loopback host gets a generated token and loopback stays open.
    """
    if no_auth:
        if token:
            raise ValueError("--token and --no-auth contradict each other")
        return AccessPlan(host=host, token=None, require_token=False)
    if token:
        check_token(token)
        return AccessPlan(host=host, token=token, require_token=True)
    if is_loopback(host):
        return AccessPlan(host=host, token=None, require_token=False)
    return AccessPlan(host=host, token=generate_token(), require_token=True, generated=True)
