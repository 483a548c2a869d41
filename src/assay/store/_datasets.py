"""The datasets of a :class:`~assay.store.workspace.Workspace`: versions registered from a source
file or folder, their samples tables (cached, re-read when replaced) and their media files,
served only from inside the version's media root."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.errors import InputError, NotFoundError
from assay.formats.remote import fetch, is_url, remote_url
from assay.store._base import WorkspaceBase
from assay.store._register import (
    DatasetContent,
    Staging,
    attach_media,
    dataset_content,
    upsert_dataset_version,
)
from assay.store._util import (
    common_folder,
    file_stamp,
    inside,
    storage_guard,
)
from assay.store.artifacts import TempArtifactDir, hash_path
from assay.store.catalog import (
    DV_COLUMNS,
    DV_FROM,
    dataset_version_from_row,
)
from assay.store.records import (
    DatasetRecord,
    DatasetVersion,
)

if TYPE_CHECKING:  # pyarrow loads where it is used: `assay list` does not use it
    import pyarrow as pa


class DatasetsMixin(WorkspaceBase):
    """Dataset versions, their samples and their media."""

    def _refuse_dataset(self, content: DatasetContent) -> None:
        self.refuse_own(content.source, "dataset")
        if content.samples is not None and "path" in content.samples.column_names:
            for value in content.samples.column("path").to_pylist():
                if value:
                    self.refuse_own(value, "media file")

    @storage_guard
    def add_dataset_version(
        self,
        name: str,
        *,
        task: str,
        source: Path | str | None = None,
        samples: pa.Table | None = None,
        media_root: Path | str | None = None,
    ) -> DatasetVersion:
        """Register a dataset's content on purpose (kept even without evaluations); the same
        bytes give back the same version.

        ``source`` (a file or folder) is hashed (sha256); without one, the samples table is.
        ``samples`` has an ``id`` column and optionally ``text``, ``path`` (absolute media path) and
        metadata columns; row i is sample index i of every evaluation on this version.
        ``media_root`` is the folder every media path lies in (checked; default: the folder
        holding them all); :meth:`media_path` serves only files inside it. A ``source`` URL
        (``s3://``, ``gs://``, ``az://``) is fetched into the cache and recorded by its URL.
        """
        if is_url(source):
            source = fetch(str(source))
        self.refuse_own(source, "dataset")
        content = dataset_content(name, task, source, samples, media_root)
        self._refuse_dataset(content)
        with TempArtifactDir(self.datasets_dir) as tmp:
            self._write_samples(content, tmp.path)
            with self._transaction() as (conn, staging):
                version_id = self._register_dataset(conn, staging, content, tmp.path, kept=True)
        return self.get_dataset_version(version_id)

    def _write_samples(self, content: DatasetContent, folder: Path, *, new: bool = False) -> None:
        """The samples table into ``folder`` (fsynced) when the version is ``new`` or not stored
        yet (so a run over a stored dataset does not write its table again)."""
        if content.samples is None or (folder / "samples.parquet").exists():
            return
        if not new and self._find_dataset_version(content.name, content.digest) is not None:
            return
        import pyarrow.parquet as pq

        pq.write_table(content.samples, folder / "samples.parquet")
        with open(folder / "samples.parquet", "rb") as handle:
            os.fsync(handle.fileno())

    def _register_dataset(
        self, conn: Any, staging: Staging, content: DatasetContent, folder: Path, *, kept: bool
    ) -> int:
        """Inside a transaction: the version's id; a new version's samples folder renamed into
        place, or media attached to a stored one."""
        version_id, new = upsert_dataset_version(conn, content, kept=kept, folder=folder)
        if new:
            self._write_samples(content, folder, new=True)
            staging.move(folder, self.datasets_dir / str(version_id))
        elif attach_media(conn, staging, version_id, self._samples_path(version_id), content):
            staging.replaced_samples.append(version_id)
        return version_id

    def _find_dataset_version(self, name: str, digest: str) -> DatasetVersion | None:
        row = self.catalog.query_one(
            f"SELECT {DV_COLUMNS} FROM {DV_FROM} WHERE d.name = ? AND dv.hash = ?", (name, digest)
        )
        return dataset_version_from_row(row) if row else None

    def list_datasets(self) -> list[DatasetRecord]:
        rows = self.catalog.query(
            "SELECT d.id, d.name, d.task, d.created_at, COUNT(dv.id) FROM datasets d "
            "LEFT JOIN dataset_versions dv ON dv.dataset_id = d.id GROUP BY d.id ORDER BY d.id"
        )
        return [DatasetRecord(*row) for row in rows]

    def get_dataset(self, dataset_id: int) -> DatasetRecord:
        for record in self.list_datasets():
            if record.id == dataset_id:
                return record
        raise NotFoundError(f"dataset {dataset_id} not found")

    def list_dataset_versions(self, dataset_id: int) -> list[DatasetVersion]:
        self.get_dataset(dataset_id)
        rows = self.catalog.query(
            f"SELECT {DV_COLUMNS} FROM {DV_FROM} WHERE dv.dataset_id = ? ORDER BY dv.id",
            (dataset_id,),
        )
        return [dataset_version_from_row(row) for row in rows]

    def get_dataset_version(self, version_id: int) -> DatasetVersion:
        row = self.catalog.query_one(
            f"SELECT {DV_COLUMNS} FROM {DV_FROM} WHERE dv.id = ?", (version_id,)
        )
        if row is None:
            raise NotFoundError(f"dataset version {version_id} not found")
        return dataset_version_from_row(row)

    def samples_table(self, dataset_version_id: int) -> pa.Table:
        """The samples table of a dataset version (an empty one with an ``id`` column if none)."""
        table = self.peek_samples_table(dataset_version_id)
        if table is not None:
            return table
        self.get_dataset_version(dataset_version_id)
        path = self._samples_path(dataset_version_id)
        stamp = file_stamp(path)
        import pyarrow as pa
        import pyarrow.parquet as pq

        if stamp is not None:
            # not read_table: it imports pyarrow.dataset and pandas (~0.25 s CPU)
            table = pq.ParquetFile(path, memory_map=True).read()
        else:
            table = pa.table({"id": pa.array([], pa.string())})
        self._samples[dataset_version_id] = (stamp, table)
        return table

    def peek_samples_table(self, dataset_version_id: int) -> pa.Table | None:
        """The cached samples table if it is still the stored one (one ``stat``), else None.

        A later run may attach media to a stored version (see :meth:`add_dataset_version`); the
        file is then replaced, and the next look-up reads the new one."""
        cached = self._samples.get(dataset_version_id)
        if cached is None:
            return None
        if file_stamp(self._samples_path(dataset_version_id)) != cached[0]:
            return None
        return cached[1]

    def dataset_ground_truth(self, version_id: int) -> Path:
        """The source file or folder a dataset version was registered from, checked to hold the
        same content still (a job re-reads the ground truth from there; detection images come
        from :meth:`media_root`). Gone or changed: :class:`InputError`."""
        dv = self.get_dataset_version(version_id)
        if dv.source is None:
            raise InputError(
                f"dataset version {version_id} was registered without a source file; "
                "it cannot be read again"
            )
        # a URL (object storage) is fetched again, into the cache, read only when it changed
        source = fetch(dv.source) if is_url(dv.source) else Path(dv.source)
        if not source.exists():
            raise InputError(
                f"the ground truth of dataset version {version_id} no longer exists",
                file=str(source),
            )
        try:
            digest = hash_path(source)
        except OSError as exc:
            raise InputError(
                f"cannot read the ground truth of dataset version {version_id} ({exc.strerror})",
                file=str(source),
            ) from None
        if digest != dv.hash:
            raise InputError(
                f"changed since dataset version {version_id} was registered; "
                "register it again as a new version",
                file=str(source),
            )
        return source

    def _samples_path(self, dataset_version_id: int) -> Path:
        return self.datasets_dir / str(dataset_version_id) / "samples.parquet"

    def media_root(self, dataset_version_id: int) -> Path | None:
        """The folder every media file of a dataset version lies in (resolved), as recorded at
        registration; for a version recorded before schema 2, the folder holding its registered
        files. None when it has no media."""
        row = self.catalog.query_one(
            "SELECT media_root FROM dataset_versions WHERE id = ?", (dataset_version_id,)
        )
        if row is None:
            raise NotFoundError(f"dataset version {dataset_version_id} not found")
        if row[0]:
            return Path(row[0])
        table = self.samples_table(dataset_version_id)
        if "path" not in table.column_names:
            return None
        folder = common_folder([p for p in table.column("path").to_pylist() if p])
        return Path(folder).resolve() if folder else None

    def media_path(self, dataset_version_id: int, index: int) -> Path | None:
        """The media file of sample ``index``, only if registered with that dataset version and
        its real path (links followed) still lies inside the version's :meth:`media_root`.

        Raises NotFoundError for an unknown version, an index out of range, or a file whose real
        path has left the root (a link swapped in after registration); None when the sample has
        no file (or the registered file is gone).
        """
        table = self.samples_table(dataset_version_id)
        if not 0 <= index < table.num_rows:
            raise NotFoundError(f"sample {dataset_version_id}:{index} not found")
        if "path" not in table.column_names:
            return None
        value = table.column("path")[index].as_py()
        root = self.media_root(dataset_version_id)
        if not value or root is None:
            return None
        path = Path(value)
        if remote_url(path) is not None:  # an image in object storage, not fetched: its URL
            return path if inside(os.path.normpath(path), root.resolve()) else None
        try:
            real = path.resolve(strict=True)
        except (OSError, RuntimeError):
            return None
        if not inside(real, root.resolve()):
            raise NotFoundError(
                f"sample {dataset_version_id}:{index} has no media file inside its dataset's folder"
            )
        return path if real.is_file() else None

    def media_paths(self, dataset_version_id: int) -> list[Path | None]:
        """:meth:`media_path` of every sample at once, in order (one read of the samples table
        and the root, one real-path lookup per folder): None where the sample has no file, the
        registered file is gone, or its real path (links followed) has left the version's
        :meth:`media_root` (a link swapped in after registration).

        Raises NotFoundError for an unknown version.
        """
        table = self.samples_table(dataset_version_id)
        n = table.num_rows
        if "path" not in table.column_names:
            return [None] * n
        values = table.column("path").to_pylist()
        root = self.media_root(dataset_version_id)
        if root is None:
            return [None] * n
        real_root = root.resolve()
        folders: dict[str, tuple[str, bool] | None] = {}  # -> (real path, inside root)
        out: list[Path | None] = []
        for value in values:
            out.append(_media_file(value, real_root, folders) if value else None)
        return out

    def dataset_evaluation_counts(self) -> dict[int, int]:
        """The number of evaluations of each dataset version that has any."""
        rows = self.catalog.query(
            "SELECT dataset_version_id, COUNT(*) FROM evaluations GROUP BY dataset_version_id"
        )
        return {int(v): int(n) for v, n in rows}


def _media_file(
    value: str, real_root: Path, folders: dict[str, tuple[str, bool] | None]
) -> Path | None:
    """One registered media path, if its real path lies inside ``real_root`` and is a file.
    A file that is not itself a link is checked through its folder's real path (looked up, and
    checked against the root, once per folder in ``folders``); a link, a missing file (perhaps
    an object-storage URL) or an odd name as :meth:`DatasetsMixin.media_path` checks it."""
    folder, name = os.path.split(value)
    if name in ("", ".", ".."):
        return _resolved_file(Path(value), real_root)
    if folder not in folders:
        try:
            real = os.path.realpath(folder or ".", strict=True)
            folders[folder] = (real, inside(real, real_root))
        except (OSError, RuntimeError, ValueError):
            folders[folder] = None
    known = folders[folder]
    if known is None:
        return _resolved_file(Path(value), real_root)
    real_folder, folder_inside = known
    real = os.path.join(real_folder, name)
    try:
        st = os.lstat(real)
    except (OSError, ValueError):
        return _resolved_file(Path(value), real_root)
    if stat.S_ISLNK(st.st_mode):
        return _resolved_file(Path(value), real_root)
    if not (folder_inside or inside(real, real_root)):
        return None
    return Path(value) if stat.S_ISREG(st.st_mode) else None


def _resolved_file(path: Path, real_root: Path) -> Path | None:
    """:meth:`DatasetsMixin.media_path`'s check of one path, None where it raises."""
    if remote_url(path) is not None:  # an image in object storage, not fetched: its URL
        return path if inside(os.path.normpath(path), real_root) else None
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    return path if inside(real, real_root) and real.is_file() else None
