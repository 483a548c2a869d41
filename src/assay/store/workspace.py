"""The workspace: a SQLite catalog plus per-evaluation artifacts under ``$ASSAY_HOME``.

Split by entity, each part a mixin over :class:`~assay.store._base.WorkspaceBase`: datasets
(:mod:`assay.store._datasets`), models (:mod:`assay.store._models`), evaluations
(:mod:`assay.store._evaluations`) and jobs (:mod:`assay.store._jobs`); this module puts them
together.

>>> ws = Workspace(tmp_path)  # doctest: +SKIP
>>> dv = ws.add_dataset_version("pets", task="classification", source=Path("gt.csv"))  # doctest: +SKIP
>>> rec = ws.save_evaluation(results, task="classification", name="r50", dataset_version_id=dv.id)  # doctest: +SKIP
>>> ws.load_results(rec.id).summary()["accuracy"]  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from assay.caches import LRU
from assay.evaluation.results import Results
from assay.settings import assay_home
from assay.store._base import OWNED_NAMES, Loader
from assay.store._evaluations import PREDICTIONS_STEM, EvaluationsMixin
from assay.store._jobs import JobsMixin
from assay.store._util import Stamp, storage_error
from assay.store.catalog import Catalog

if TYPE_CHECKING:  # pyarrow loads where it is used: `assay list` does not use it
    import pyarrow as pa

__all__ = ["OWNED_NAMES", "PREDICTIONS_STEM", "Loader", "Workspace"]


def results_from_arrays(arrays: dict[str, Any], meta: dict[str, Any]) -> Results:
    """:func:`assay.evaluation.dispatch.results_from_arrays`, imported at the first load: the
    evaluation code (numba and its kernels) stays out of ``assay list`` and the other commands
    that only read the catalog."""
    from assay.evaluation.dispatch import results_from_arrays as load

    return load(arrays, meta)


class Workspace(JobsMixin, EvaluationsMixin):
    """A catalog of datasets, models, evaluations and jobs, with the evaluations' artifacts.

    Safe to share between threads (each thread gets its own SQLite connection) and between processes
    (SQLite WAL with a busy timeout; artifacts are renamed into place before the row is committed).
    """

    def __init__(
        self,
        home: Path | str | None = None,
        *,
        cache_size: int = 4,
        loader: Loader = results_from_arrays,
    ) -> None:
        self.home = Path(home).expanduser() if home is not None else assay_home()
        self.evaluations_dir = self.home / "evaluations"
        self.datasets_dir = self.home / "datasets"
        self.thumbnails_dir = self.home / "thumbnails"
        self.models_dir = self.home / "models"
        for folder in (
            self.home,
            self.evaluations_dir,
            self.datasets_dir,
            self.thumbnails_dir,
            self.models_dir,
        ):
            try:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # private
            except OSError as exc:  # a full disk: one line; anything else as it is
                raise (storage_error(exc, self.home) or exc) from None
        self.catalog = Catalog(self.home / "catalog.sqlite")
        self._loader = loader
        self._results: LRU[int, Results] = LRU(max(cache_size, 1))
        self._samples: LRU[int, tuple[Stamp, pa.Table]] = LRU(max(cache_size, 1) * 2)
        self.collect_garbage()
