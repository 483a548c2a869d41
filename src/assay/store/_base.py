"""What every part of a :class:`~assay.store.workspace.Workspace` shares: its folders, its
catalog, its caches and lock, the workspace's own files, write transactions and housekeeping.

The workspace is split by entity: datasets (:mod:`assay.store._datasets`), models
(:mod:`assay.store._models`), evaluations (:mod:`assay.store._evaluations`) and jobs
(:mod:`assay.store._jobs`), each a mixin over this base, put together by ``Workspace``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.caches import LRU
from assay.errors import InputError
from assay.evaluation.results import Results
from assay.store import artifacts
from assay.store._register import (
    BACKUP_PREFIX,
    Staging,
    collect_orphans,
)
from assay.store._util import (
    Stamp,
    storage_guard,
)
from assay.store.artifacts import remove_tree
from assay.store.catalog import (
    Catalog,
)

if TYPE_CHECKING:  # numpy and pyarrow load where they are used: `assay list` uses neither
    import numpy as np
    import pyarrow as pa

# rebuilds a results object from its stored arrays and meta (``meta["task"]`` picks the class)
Loader = Callable[[dict[str, "np.ndarray"], dict[str, Any]], Results]

# what Assay keeps in a workspace home: nothing in there (nor the home, nor a folder holding it) is
# ever registered, read as a ground truth or copied, because a process that opens and closes the
# catalog's files drops SQLite's locks on them (and may unlink its live WAL). Other folders a
# person keeps in the home (the demo's ``demo-data``) may be registered.
OWNED_NAMES = ("evaluations", "datasets", "thumbnails", "models", "work")


class WorkspaceBase:
    """The state a workspace's parts share (set up by ``Workspace.__init__``)."""

    home: Path
    evaluations_dir: Path
    datasets_dir: Path
    thumbnails_dir: Path
    models_dir: Path
    catalog: Catalog
    _loader: Loader
    _results: LRU[int, Results]  # loaded results, the last few
    _samples: LRU[int, tuple[Stamp, pa.Table]]  # samples tables with the stamp of their file

    # ------------------------------------------------------------------ own files

    def owns(self, path: Path | str) -> bool:
        """Whether ``path`` (links followed) is the workspace's own: the home or a folder holding
        it, the catalog and its journal files, a hidden entry of the home (a lock), or anything
        under the folders Assay keeps there (:data:`OWNED_NAMES`)."""
        try:
            real = Path(path).expanduser().resolve()
            home = self.home.resolve()
        except (OSError, RuntimeError, ValueError):
            return True  # a link loop or an odd name: not something to open anyway
        if real == home or home.is_relative_to(real):
            return True
        if not real.is_relative_to(home):
            return False
        first = real.relative_to(home).parts[0]
        return first in OWNED_NAMES or first.startswith(("catalog.sqlite", "."))

    def refuse_own(self, path: Path | str | None, what: str = "path") -> None:
        """One-line :class:`InputError` (nothing read, nothing stored) when ``path`` is the
        workspace's own (see :meth:`owns`)."""
        if path is not None and self.owns(path):
            raise InputError(
                f"{what}: lies in the workspace's own files ({self.home}); "
                "register a file or folder outside them (nothing stored)"
            )

    @contextmanager
    def _transaction(self) -> Iterator[tuple[Any, Staging]]:
        """A catalog write transaction with its renames: both happen, or neither."""
        staging = Staging()
        try:
            with self.catalog.write() as conn:
                yield conn, staging
        except BaseException:
            staging.undo()
            raise
        finally:
            for version_id in staging.replaced_samples:  # replaced (or put back): read again
                self._samples.pop(version_id, None)
        staging.finish()

    # ------------------------------------------------------------------ housekeeping

    @storage_guard
    def collect_garbage(self) -> int:
        """Remove what failed or interrupted writes left: artifact folders without a catalog row,
        temporary folders whose writer died, stray temporary files in dataset folders, and
        dataset / model versions registered by a run that no evaluation refers to (versions
        registered on purpose are kept). The number of folders and versions removed."""
        removed = 0
        with self.catalog.write() as conn:
            datasets, models = collect_orphans(conn)
            removed += len(datasets) + len(models)
            evaluation_ids = {r[0] for r in conn.execute("SELECT id FROM evaluations")}
            version_ids = {r[0] for r in conn.execute("SELECT id FROM dataset_versions")}
            model_ids = {
                r[0]
                for r in conn.execute("SELECT id FROM model_versions WHERE artifact IS NOT NULL")
            }
            for folder, known in (
                (self.evaluations_dir, evaluation_ids),
                (self.datasets_dir, version_ids),
                (self.models_dir, model_ids),
            ):
                for child in list(folder.iterdir()):
                    name = child.name
                    stale = (
                        name.startswith(artifacts.TRASH_PREFIX)
                        or (
                            name.startswith(artifacts.TMP_PREFIX) and artifacts.is_stale_temp(child)
                        )
                        or (name.isdigit() and int(name) not in known)
                    )
                    if stale and child.is_dir():
                        remove_tree(child)
                        removed += 1
                    elif folder is self.datasets_dir and name.isdigit() and child.is_dir():
                        # a media attach died between writing its table and the swap: under
                        # the write lock no attach is under way
                        for stray in child.iterdir():
                            if stray.name.startswith((artifacts.TMP_PREFIX, BACKUP_PREFIX)):
                                stray.unlink(missing_ok=True)
        for version_id in datasets:
            self._samples.pop(version_id, None)
        return removed

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check`` answer (``"ok"`` when sound)."""
        row = self.catalog.query_one("PRAGMA integrity_check")
        return str(row[0]) if row else "no answer"

    def close(self) -> None:
        self.catalog.close()
