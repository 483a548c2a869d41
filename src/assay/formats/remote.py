"""Files in object storage: ``s3://``, ``gs://`` and ``az://`` URLs read through fsspec.

Credentials come from the environment only (``AWS_*``, ``GOOGLE_APPLICATION_CREDENTIALS``,
``AZURE_STORAGE_*``), as each provider's own client reads them; they are never stored, logged or
quoted. A URL that carries them inline (``s3://key:secret@bucket/...``) is refused. Every failure is
one :class:`~assay.errors.InputError` line naming the URL (scheme, bucket and key only): the endpoint
cannot be reached, the bucket or the key does not exist, access is denied, the scheme is unknown or
its extra (``assay[cloud]``) is not installed, the object is over the size cap, the read timed out.

Small files (ground truth, predictions, a model) are fetched into a cache under the workspace home
(``$ASSAY_HOME/remote-cache``) and then read by the local readers:

- ``blobs/<sha256>``: each object's bytes once, named by their content hash;
- ``files/<scheme>/<bucket>/<key>``: a hard link to the blob, so a file keeps its name and its
  neighbours (a CSV's relative image paths resolve next to it; a model's spec, labels and
  external data named after it, ``model.onnx.data``, lie beside it: :func:`fetch_model`), and a
  cached path maps back to its URL (:func:`url_of`);
- ``index/<sha256 of the URL>.json``: the URL's ETag, size and content hash: an object unchanged
  since it was fetched is not read again.

The blobs together stay under ``$ASSAY_REMOTE_CACHE_BYTES`` (20 GiB by default): the least
recently used are dropped first (never those of the fetch under way, so one fetch larger than the
cache is kept whole until the next). A folder URL (a prefix) is fetched whole, 8 objects at once.
Images a table names are not fetched with it: the server reads them from the bucket when they
are shown (:func:`iter_url`, bounded).

>>> parse_url("s3://bucket/gt/labels.csv")
Url(scheme='s3', bucket='bucket', key='gt/labels.csv')
>>> parse_url("s3://key:secret@bucket/gt.csv")
Traceback (most recent call last):
...
assay.errors.InputError: s3://bucket/gt.csv: credentials in a URL are refused; set them in the environment
>>> is_url("s3://bucket/a.csv"), is_url("/data/a.csv")
(True, False)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.errors import InputError
from assay.formats.files import max_input_bytes

__all__ = [
    "CACHE_BYTES_ENV",
    "SCHEMES",
    "RemoteError",
    "TIMEOUT_ENV",
    "Url",
    "cache_folder",
    "fetch",
    "fetch_model",
    "is_url",
    "iter_url",
    "list_url",
    "localize",
    "parse_url",
    "read_url",
    "remote_url",
    "stat_url",
    "url_of",
]

# scheme -> (the fsspec package that serves it, its provider's name in messages)
SCHEMES: dict[str, tuple[str, str]] = {
    "s3": ("s3fs", "S3"),
    "gs": ("gcsfs", "Google Cloud Storage"),
    "gcs": ("gcsfs", "Google Cloud Storage"),
    "az": ("adlfs", "Azure Blob Storage"),
    "abfs": ("adlfs", "Azure Blob Storage"),
}
TIMEOUT_ENV = "ASSAY_REMOTE_TIMEOUT"
DEFAULT_TIMEOUT_SECONDS = 30.0  # connect and read, each
CACHE_BYTES_ENV = "ASSAY_REMOTE_CACHE_BYTES"
DEFAULT_CACHE_BYTES = 20 << 30  # the blobs of the cache together
MAX_PREFIX_FILES = 100_000  # the most objects a prefix (a folder URL) may hold
CHUNK_BYTES = 1 << 20
FETCH_WORKERS = 8  # objects of a prefix read at once (each a HEAD-free GET: listed already)
CACHE_NAME = "remote-cache"


def _size(n: int) -> str:
    """``n`` bytes in words (``1.5 MiB``)."""
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://(.*)$", re.DOTALL)


def is_url(value: object) -> bool:
    """Whether ``value`` is a string of the form ``scheme://...`` (any scheme: an unknown one is
    refused by :func:`parse_url` with one line, never read as a local path)."""
    return isinstance(value, str) and _URL.match(value) is not None


@dataclass(frozen=True)
class Url:
    """An object (or a prefix, when ``key`` is empty or ends with ``/``) in a bucket."""

    scheme: str
    bucket: str
    key: str

    def __str__(self) -> str:
        return f"{self.scheme}://{self.bucket}/{self.key}"

    @property
    def path(self) -> str:
        """The path fsspec takes: ``bucket/key`` (no trailing slash)."""
        return f"{self.bucket}/{self.key}".rstrip("/")

    @property
    def is_prefix(self) -> bool:
        return self.key == "" or self.key.endswith("/")

    def child(self, key: str) -> Url:
        return Url(self.scheme, self.bucket, key)


def parse_url(text: str) -> Url:
    """``text`` as a :class:`Url`; one-line :class:`InputError` for an unknown scheme, inline
    credentials (never quoted back), a query or fragment, or no bucket."""
    match = _URL.match(text)
    if match is None:
        raise InputError("not a URL (expected s3://, gs:// or az://bucket/key)", file=text[:200])
    scheme, rest = match.group(1).lower(), match.group(2)
    netloc, _, key = rest.partition("/")
    if "@" in netloc:  # user:secret@bucket: never echoed
        shown = f"{scheme}://{netloc.rpartition('@')[2]}/{key}"
        raise InputError(
            "credentials in a URL are refused; set them in the environment", file=shown[:200]
        )
    shown = f"{scheme}://{rest}"[:200]
    if scheme not in SCHEMES:
        raise InputError(
            f"unsupported URL scheme '{scheme}://' (use s3://, gs:// or az://)", file=shown
        )
    if any(c in rest for c in "?#\0"):
        raise InputError("a URL with a query, a fragment or a NUL is not read", file=shown)
    if not netloc:
        raise InputError("the URL names no bucket", file=shown)
    parts = key.split("/")[:-1] if key.endswith("/") else key.split("/")
    if key and any(p in ("", ".", "..") for p in parts):  # its cached copy would climb out
        raise InputError("a key with an empty, '.' or '..' part is not read", file=shown)
    return Url(scheme, netloc, key)


def timeout_seconds() -> float:
    """Seconds a connection or a read may take: ``$ASSAY_REMOTE_TIMEOUT`` or 30."""
    given = os.environ.get(TIMEOUT_ENV, "").strip()
    if not given:
        return DEFAULT_TIMEOUT_SECONDS
    try:
        value = float(given)
    except ValueError:
        raise InputError(f"${TIMEOUT_ENV} must be a number of seconds") from None
    if not value > 0:
        raise InputError(f"${TIMEOUT_ENV} must be a positive number of seconds")
    return value


def cache_bytes() -> int:
    """The most bytes the cache's blobs hold together: ``$ASSAY_REMOTE_CACHE_BYTES`` or 20 GiB."""
    given = os.environ.get(CACHE_BYTES_ENV, "").strip()
    if not given:
        return DEFAULT_CACHE_BYTES
    if not given.isdigit() or int(given) < 1:
        raise InputError(f"${CACHE_BYTES_ENV} must be a positive number of bytes")
    return int(given)


# ------------------------------------------------------------------------------- filesystems

_ENV_KEYS = (
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_DEFAULT_REGION",
    "STORAGE_EMULATOR_HOST",
    "GOOGLE_APPLICATION_CREDENTIALS",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_ACCOUNT_NAME",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
    TIMEOUT_ENV,
)
_filesystems: dict[tuple[str, int], Any] = {}
_lock = threading.Lock()


def _env_key() -> int:
    """A hash of the environment the clients read (never kept as text)."""
    joined = "\0".join(os.environ.get(k, "") for k in _ENV_KEYS)
    return hash(hashlib.sha256(joined.encode()).digest())


def filesystem(url: Url) -> Any:
    """The fsspec filesystem for ``url``'s scheme, credentials from the environment (one per
    scheme and environment, kept); a missing package is one line naming ``assay[cloud]``."""
    package, provider = SCHEMES[url.scheme]
    key = (package, _env_key())
    with _lock:
        if key in _filesystems:
            return _filesystems[key]
    try:
        module = __import__(package)
    except ImportError:
        raise InputError(
            f"{url.scheme}:// URLs need {package}: install assay[cloud]", file=str(url)
        ) from None
    for name in (package, "azure", "google"):
        # their retries log tracebacks to stderr when logging is not set up: one line is ours
        logger = logging.getLogger(name)
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())
    timeout = timeout_seconds()
    opts: dict[str, Any] = {"skip_instance_cache": True, "use_listings_cache": False}
    if package == "s3fs":
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        opts["config_kwargs"] = {
            "connect_timeout": timeout,
            "read_timeout": timeout,
            "retries": {"max_attempts": 2, "mode": "standard"},
        }
        if endpoint:
            opts["client_kwargs"] = {"endpoint_url": endpoint}
        fs = module.S3FileSystem(**opts)
    elif package == "gcsfs":
        emulator = os.environ.get("STORAGE_EMULATOR_HOST")
        if emulator and not os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
            opts["token"] = "anon"  # an emulator takes no credentials
        fs = module.GCSFileSystem(requests_timeout=timeout, **opts)
    else:
        try:
            fs = module.AzureBlobFileSystem(
                connection_timeout=max(1, int(timeout)), read_timeout=max(1, int(timeout)), **opts
            )
        except ValueError:  # no account, no connection string
            raise InputError(
                f"no {provider} account: set AZURE_STORAGE_CONNECTION_STRING or "
                "AZURE_STORAGE_ACCOUNT_NAME in the environment",
                file=str(url),
            ) from None
    with _lock:
        if len(_filesystems) >= 16:  # the environment changed many times (tests): start again
            _filesystems.clear()
        _filesystems[key] = fs
    return fs


class RemoteError(InputError):
    """An object store could not be read: ``kind`` says why (``missing``: no bucket or no
    object; ``denied``, ``unreachable``, ``timeout``, ``unknown``), for a server to choose its
    answer (404 for missing, 502 otherwise)."""

    def __init__(self, message: str, *, file: str | None = None, kind: str = "unknown") -> None:
        super().__init__(message, file=file)
        self.kind = kind


def _reason(exc: BaseException) -> str:
    """Which of the known failures ``exc`` is (never its text, which may name an endpoint's
    credentials or a presigned URL): denied, missing, unreachable, timeout or unknown."""
    names = {type(e).__name__ for e in _chain(exc)}
    texts = " ".join(str(getattr(e, "args", ("",))[:1]).lower() for e in _chain(exc))
    if (
        isinstance(exc, PermissionError)
        or "accessdenied" in texts.replace(" ", "")
        or any(n in names for n in ("ClientAuthenticationError", "HttpError403"))
    ):
        return "denied"
    if "403" in texts and "forbidden" in texts:
        return "denied"
    if any(n in names for n in ("NoCredentialsError", "PartialCredentialsError")):
        return "credentials"
    if any("timeout" in n.lower() for n in names) or isinstance(exc, TimeoutError):
        return "timeout"
    if any(
        n in names
        for n in (
            "EndpointConnectionError",
            "ConnectionClosedError",
            "ClientConnectorError",
            "ServerDisconnectedError",
            "ConnectionRefusedError",
            "ConnectionError",
            "ServiceRequestError",
            "ClientOSError",
            "gaierror",
        )
    ):
        return "unreachable"
    if isinstance(exc, FileNotFoundError) or any(
        n in names for n in ("ResourceNotFoundError", "NoSuchKey", "NoSuchBucket")
    ):
        return "missing"
    if isinstance(exc, OSError) and "connect" in texts:
        return "unreachable"
    return "unknown"


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _failure(exc: BaseException, url: Url, fs: Any) -> InputError:
    """The one line for a failed call on ``url`` (the bucket probed when the key is missing)."""
    if isinstance(exc, InputError):
        return exc
    reason = _reason(exc)
    provider = SCHEMES[url.scheme][1]
    if reason == "denied":
        return RemoteError(
            f"access denied by {provider} (check the credentials in the environment)",
            file=str(url),
            kind=reason,
        )
    if reason == "credentials":
        return RemoteError(
            f"no credentials for {provider} in the environment (AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)",
            file=str(url),
            kind=reason,
        )
    if reason == "timeout":
        return RemoteError(
            f"{provider} did not answer within {timeout_seconds():g} s (${TIMEOUT_ENV})",
            file=str(url),
            kind=reason,
        )
    if reason == "unreachable":
        return RemoteError(
            f"cannot reach the {provider} endpoint (check the network and the endpoint setting)",
            file=str(url),
            kind=reason,
        )
    if reason == "missing":
        if not _bucket_exists(fs, url):
            return RemoteError(f"no such bucket '{url.bucket}'", file=str(url), kind="missing")
        return RemoteError("no such object", file=str(url), kind="missing")
    return RemoteError(
        f"cannot read from {provider} ({type(exc).__name__})", file=str(url), kind=reason
    )


def _bucket_exists(fs: Any, url: Url) -> bool:
    try:
        fs.info(url.bucket, timeout=timeout_seconds())
    except Exception as exc:
        return _reason(exc) != "missing"
    return True


def _call(url: Url, method: str, *args: Any, **kwargs: Any) -> Any:
    """``fs.method(*args)`` within the timeout in all (retries included: fsspec's own deadline)."""
    fs = filesystem(url)
    try:
        return getattr(fs, method)(*args, timeout=timeout_seconds(), **kwargs)
    except Exception as exc:
        raise _failure(exc, url, fs) from None


# ------------------------------------------------------------------------------------ reading


@dataclass(frozen=True)
class Entry:
    """What a URL names: a file (``size`` bytes, ``etag`` its version) or a folder (a prefix)."""

    url: Url
    kind: str
    size: int
    etag: str


def stat_url(url: Url | str) -> Entry:
    """What ``url`` names; one line when it cannot be read (see the module docstring)."""
    url = parse_url(url) if isinstance(url, str) else url
    info = _call(url, "info", url.path)
    kind = "folder" if info.get("type") == "directory" else "file"
    etag = str(info.get("ETag") or info.get("etag") or info.get("md5Hash") or "")
    stamp = info.get("LastModified") or info.get("updated") or info.get("last_modified") or ""
    return Entry(url, kind, int(info.get("size") or 0), f"{etag}|{stamp}")


def list_url(url: Url | str, *, max_files: int = MAX_PREFIX_FILES) -> list[Entry]:
    """The objects under the prefix ``url`` (recursively), sorted by key; over ``max_files`` or
    over the input cap in total is one line."""
    url = parse_url(url) if isinstance(url, str) else url
    found: dict[str, Any] = _call(url, "find", url.path, detail=True)
    if len(found) > max_files:
        raise InputError(f"holds more than {max_files} objects", file=str(url))
    out: list[Entry] = []
    total = 0
    for path in sorted(found):
        info = found[path]
        if info.get("type") == "directory":
            continue
        bucket, _, key = path.partition("/")
        if url.is_prefix and not key.startswith(url.key):  # "a/" never holds "ab/..."
            continue
        etag = str(info.get("ETag") or info.get("etag") or info.get("md5Hash") or "")
        stamp = info.get("LastModified") or info.get("updated") or info.get("last_modified") or ""
        entry = Entry(url.child(key), "file", int(info.get("size") or 0), f"{etag}|{stamp}")
        total += entry.size
        out.append(entry)
    cap = max_input_bytes()
    if total > cap:
        raise InputError(
            f"holds {_size(total)}, larger than the {_size(cap)} limit on input files",
            file=str(url),
        )
    return out


def iter_url(
    url: Url | str, *, cap: int, chunk: int = CHUNK_BYTES, entry: Entry | None = None
) -> Iterator[bytes]:
    """The bytes of the object ``url`` in chunks, at most ``cap`` of them: one line when it is
    larger (checked before the first byte is read, from ``entry`` when the caller has listed it
    already, and again while reading)."""
    url = parse_url(url) if isinstance(url, str) else url
    entry = entry or stat_url(url)
    if entry.kind != "file":
        raise InputError("is a folder (a prefix), expected an object", file=str(url))
    if entry.size > cap:
        raise RemoteError(
            f"is {_size(entry.size)}, larger than the {_size(cap)} limit",
            file=str(url),
            kind="too_large",
        )
    fs = filesystem(url)
    if entry.size <= chunk:  # small (most images): one GET, no HEAD before it
        # s3fs asks for the size first (a HEAD) unless told to read in one piece
        extra = {"max_concurrency": 1} if SCHEMES[url.scheme][0] == "s3fs" else {}
        data = _call(url, "cat_file", url.path, **extra)
        if len(data) > cap:
            raise RemoteError(f"grew past the {_size(cap)} limit", file=str(url), kind="too_large")
        if data:
            yield data
        return
    try:
        handle = fs.open(url.path, "rb", block_size=chunk, cache_type="none")
    except Exception as exc:
        raise _failure(exc, url, fs) from None
    read = 0
    with handle:
        while True:
            try:
                data = handle.read(chunk)
            except Exception as exc:
                raise _failure(exc, url, fs) from None
            if not data:
                return
            read += len(data)
            if read > cap:
                raise RemoteError(
                    f"grew past the {_size(cap)} limit", file=str(url), kind="too_large"
                )
            yield data


def read_url(url: Url | str, *, cap: int | None = None) -> bytes:
    """The whole object ``url``, at most ``cap`` bytes (the input cap by default)."""
    return b"".join(iter_url(url, cap=max_input_bytes() if cap is None else cap))


# -------------------------------------------------------------------------------------- cache


def cache_folder(home: Path | None = None) -> Path:
    """The cache's folder under the workspace home (``$ASSAY_HOME/remote-cache``)."""
    from assay.settings import assay_home

    return (home or assay_home()) / CACHE_NAME


def _mirror(url: Url, home: Path | None) -> Path:
    """The cached file (or folder) of ``url``: ``files/<scheme>/<bucket>/<key>``."""
    parts = url.key.split("/")[:-1] if url.is_prefix else url.key.split("/")
    if any(p in ("", ".", "..") for p in parts if url.key) or url.bucket in (".", ".."):
        raise InputError("a key with an empty, '.' or '..' part is not read", file=str(url))
    scheme = "gs" if url.scheme == "gcs" else "az" if url.scheme == "abfs" else url.scheme
    return cache_folder(home).joinpath("files", scheme, url.bucket, *parts)


def url_of(path: str | Path, home: Path | None = None) -> str | None:
    """The URL a cached file or folder was fetched from (None for any other path).

    >>> url_of(cache_folder(Path("/h")) / "files" / "s3" / "b" / "gt.csv", Path("/h"))
    's3://b/gt.csv'
    """
    files = cache_folder(home) / "files"
    try:
        rel = Path(os.path.abspath(path)).relative_to(os.path.abspath(files))
    except ValueError:
        return None
    if len(rel.parts) < 2 or rel.parts[0] not in SCHEMES:
        return None
    return f"{rel.parts[0]}://{rel.parts[1]}/" + "/".join(rel.parts[2:])


def remote_url(path: str | Path, home: Path | None = None) -> str | None:
    """The URL of ``path`` when it is a cached path whose object is not here (an image read from
    its bucket when shown), else None."""
    if os.path.lexists(path):
        return None
    return url_of(path, home)


def _index_file(url: Url, home: Path | None) -> Path:
    return cache_folder(home) / "index" / (hashlib.sha256(str(url).encode()).hexdigest() + ".json")


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _place(blob: Path, target: Path, url: Url) -> None:
    """``target`` made a hard link to ``blob`` (a copy where links are not possible). An object
    whose name is also a prefix of others (``a/b`` beside ``a/b/c``) cannot be both a file and a
    folder here: one line."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir():
            raise NotADirectoryError
    except OSError:
        raise InputError(
            "cannot be cached: its name is both an object and a prefix of others", file=str(url)
        ) from None
    tmp = target.with_name(f".tmp-{uuid.uuid4().hex}")
    try:
        try:
            os.link(blob, tmp)
        except OSError:
            import shutil

            shutil.copyfile(blob, tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _fetch_file(entry: Entry, home: Path | None, cap: int | None = None) -> tuple[Path, str]:
    """(the cached file of ``entry``, its sha256): read again only when its ETag, time or size
    changed since the last fetch or its blob is gone."""
    url = entry.url
    target = _mirror(url, home)
    cache = cache_folder(home)
    index = _index_file(url, home)
    try:
        known = json.loads(index.read_text())
    except (OSError, ValueError):
        known = None
    if (
        isinstance(known, dict)
        and known.get("etag") == entry.etag
        and known.get("size") == entry.size
        and (cache / "blobs" / str(known.get("sha256"))).is_file()
    ):
        blob = cache / "blobs" / str(known["sha256"])
        if not (target.is_file() and os.path.samefile(target, blob)):
            _place(blob, target, url)
        os.utime(blob)  # recently used
        return target, str(known["sha256"])
    given, cap = cap, max_input_bytes() if cap is None else cap
    if entry.size > cap:
        raise RemoteError(
            f"is {_size(entry.size)}, larger than the {_size(cap)} limit on "
            + ("input files ($ASSAY_MAX_INPUT_BYTES raises it)" if given is None else "this read"),
            file=str(url),
            kind="too_large",
        )
    blobs = cache / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    tmp = blobs / f".tmp-{uuid.uuid4().hex}"
    digest = hashlib.sha256()
    try:
        with open(tmp, "wb") as out:
            for data in iter_url(url, cap=cap, entry=entry):
                digest.update(data)
                out.write(data)
        sha = digest.hexdigest()
        blob = blobs / sha
        os.replace(tmp, blob)
    finally:
        tmp.unlink(missing_ok=True)
    _place(blob, target, url)
    record = {"url": str(url), "etag": entry.etag, "size": entry.size, "sha256": sha}
    _atomic_write(index, json.dumps(record).encode())
    return target, sha


def _evict(home: Path | None, keep: set[str]) -> None:
    """Drop the least recently used blobs (never those in ``keep``) while the cache is over its
    size, with their cached files and index records."""
    cache = cache_folder(home)
    blobs = [(p.stat().st_mtime, p.stat().st_size, p) for p in (cache / "blobs").glob("[0-9a-f]*")]
    total = sum(size for _, size, _ in blobs)
    limit = cache_bytes()
    if total <= limit:
        return
    gone: set[str] = set()
    for _, size, path in sorted(blobs):
        if total <= limit:
            break
        if path.name in keep:
            continue
        path.unlink(missing_ok=True)
        gone.add(path.name)
        total -= size
    for record in (cache / "index").glob("*.json"):
        try:
            known = json.loads(record.read_text())
        except (OSError, ValueError):
            continue
        if known.get("sha256") in gone:
            with contextlib.suppress(InputError):
                _mirror(parse_url(known["url"]), home).unlink(missing_ok=True)
            record.unlink(missing_ok=True)


def fetch(
    url: Url | str, *, home: Path | None = None, folder_ok: bool = True, cap: int | None = None
) -> Path:
    """The local cached copy of ``url``: a file, or (a prefix, when ``folder_ok``) a folder of
    every object under it, kept in step with the bucket (an object gone there is gone here).
    Read again only when an object changed. One line on any failure (module docstring); an
    object over ``cap`` bytes (the input cap by default) is one of them.

    >>> fetch("s3://bucket/gt.csv")  # doctest: +SKIP
    PosixPath('/home/me/.assay/remote-cache/files/s3/bucket/gt.csv')
    """
    url = parse_url(url) if isinstance(url, str) else url
    entry = None if url.is_prefix else stat_url(url)
    if entry is not None and entry.kind == "file":
        target, sha = _fetch_file(entry, home, cap)
        _evict(home, {sha})
        return target
    if not folder_ok:
        raise InputError("is a folder (a prefix), expected an object", file=str(url))
    prefix = url if url.is_prefix else url.child(url.key + "/")
    entries = list_url(prefix)
    if not entries:
        raise InputError("no such object or prefix", file=str(url))
    folder = _mirror(prefix, home)
    keep: dict[Path, str] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(FETCH_WORKERS, len(entries)))) as pool:
        for target, sha in pool.map(lambda item: _fetch_file(item, home, cap), entries):
            keep[target] = sha
    for path in list(folder.rglob("*")):  # objects deleted from the bucket since
        if path.is_file() and path not in keep and not path.name.startswith(".tmp-"):
            path.unlink(missing_ok=True)
    _evict(home, set(keep.values()))
    return folder


def fetch_model(url: Url | str, *, home: Path | None = None) -> Path:
    """The local cached copy of a model at ``url``: a model folder (a prefix) whole, or a model
    file with the neighbours it reads beside it: those whose names begin with its stem and a dot
    (``model.preprocess.json``, ``model.labels.txt``, an OpenVINO ``model.bin``) and
    ``labels.txt``. Other files next to it are not read."""
    url = parse_url(url) if isinstance(url, str) else url
    entry = None if url.is_prefix else stat_url(url)
    if entry is None or entry.kind != "file":
        return fetch(url, home=home)
    folder, _, name = url.key.rpartition("/")
    stem = name.split(".", 1)[0]
    prefix = url.child(f"{folder}/" if folder else "")
    shas = []
    for item in list_url(prefix, max_files=MAX_PREFIX_FILES):
        rest = item.url.key[len(prefix.key) :]
        if "/" not in rest and (rest.startswith(f"{stem}.") or rest == "labels.txt"):
            shas.append(_fetch_file(item, home)[1])
    target, sha = _fetch_file(entry, home)
    _evict(home, {sha, *shas})
    return target


def localize(value: str | Path | None, *, home: Path | None = None) -> Path | None:
    """``value`` as a local path: a URL fetched into the cache (:func:`fetch`), a path as it is."""
    if value is None:
        return None
    if isinstance(value, str) and is_url(value):
        return fetch(value, home=home)
    return Path(value)
