"""One server per workspace: an exclusive ``flock`` on ``<home>/.server.lock``, held for the life
of the process that serves it.

A second server on the same home (another process) is refused in one line
(:class:`WorkspaceBusy`) before it touches a job. Commands that only read or write the catalog
briefly (``assay evaluate``, ``assay list``...) never take the lock: SQLite orders their writes.
Within one process the lock is taken once per home (an app made twice in tests shares it); it is
dropped when the process ends, however it ends (``kill -9`` included), so a restarted server finds
it free.

>>> hold_server_lock(Path("/tmp/ws"))  # doctest: +SKIP
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from assay.errors import AssayError

try:  # POSIX advisory locks; elsewhere there is no lock (one server per workspace is on you)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["SERVER_LOCK", "WorkspaceBusy", "hold_server_lock"]

SERVER_LOCK = ".server.lock"

_held: dict[Path, int] = {}
_guard = threading.Lock()


class WorkspaceBusy(AssayError):
    """Another server holds the workspace."""


def hold_server_lock(home: Path) -> None:
    """Take the workspace's server lock for the rest of this process (a no-op when this process
    holds it already); :class:`WorkspaceBusy` when another process does."""
    if fcntl is None:  # pragma: no cover
        return
    home = Path(home).resolve()
    with _guard:
        if home in _held:
            return
        path = home / SERVER_LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)  # not inherited by job processes
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip()
            os.close(fd)
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise WorkspaceBusy(
                f"another Assay server holds the workspace {home}{who}; stop it first, or "
                "serve another workspace (ASSAY_HOME)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        _held[home] = fd
