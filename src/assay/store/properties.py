"""The data-quality properties cache of a dataset version: ``datasets/<version>/properties.parquet``
(written to a temporary file and renamed; NaN stored as null), stamped with the samples table it
was computed from and a format number, so a replaced samples table (media attached later) or a
new format makes it stale. What the properties are and how they are computed:
:mod:`assay.evaluation.quality`; when they are computed: :mod:`assay.service.quality`.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from assay.store._util import file_stamp
from assay.store.artifacts import TMP_PREFIX
from assay.store.workspace import Workspace

PROPERTIES_FILE = "properties.parquet"
FORMAT = 2  # 2: grayscale images have no redness / greenness / blueness


@dataclass
class DatasetProperties:
    """The properties of a dataset version: ``values[name]`` float64 per sample (NaN missing;
    category codes for a categorical one), ``kinds`` / ``descriptions`` per name,
    ``categories[name]`` for categorical ones, ``extra`` the hashes, ``computed`` whether this
    call computed them (False: read from the cache)."""

    values: dict[str, np.ndarray]
    kinds: dict[str, str]
    descriptions: dict[str, str]
    categories: dict[str, list[str]] = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    computed: bool = False


def _cache_path(ws: Workspace, dataset_version_id: int) -> Any:
    return ws.datasets_dir / str(dataset_version_id) / PROPERTIES_FILE


def _stamp(ws: Workspace, dataset_version_id: int) -> list[int] | None:
    st = file_stamp(ws.datasets_dir / str(dataset_version_id) / "samples.parquet")
    return None if st is None else list(st)


def read_properties(ws: Workspace, dataset_version_id: int) -> DatasetProperties | None:
    """The cached properties of a dataset version, or None when there are none or they are stale
    (the samples table replaced since, or an older format)."""
    path = _cache_path(ws, dataset_version_id)
    try:
        table = pq.ParquetFile(path).read()  # read_table would import pyarrow.dataset (pandas)
    except (OSError, pa.ArrowInvalid):
        return None
    raw = (table.schema.metadata or {}).get(b"assay")
    if raw is None:
        return None
    meta = json.loads(raw)
    if meta.get("format") != FORMAT or meta.get("samples") != _stamp(ws, dataset_version_id):
        return None
    values, extra = {}, {}
    for name in table.column_names:
        col = table.column(name)
        if name.startswith("_"):
            if name == "_minhash":
                flat = pc.list_flatten(col).to_numpy(zero_copy_only=False)
                extra["minhash"] = flat.astype(np.uint64).reshape(table.num_rows, -1)
            else:
                extra[name[1:]] = col.to_numpy(zero_copy_only=False)
        else:
            values[name] = col.to_numpy(zero_copy_only=False).astype(np.float64)
    return DatasetProperties(
        values=values,
        kinds=meta["kinds"],
        descriptions=meta["descriptions"],
        extra=extra,
        notes=meta.get("notes", []),
    )


def write_properties(ws: Workspace, dataset_version_id: int, props: DatasetProperties) -> None:
    """Write the cache to a temporary file and rename it into place; a folder removed meanwhile
    (the version collected) only skips the cache."""
    cols: dict[str, pa.Array] = {}
    for name, v in props.values.items():
        cols[name] = pa.array(v, pa.float64(), mask=~np.isfinite(v))
    for name, v in props.extra.items():
        if name == "minhash":
            cols["_minhash"] = pa.FixedSizeListArray.from_arrays(
                pa.array(v.ravel(), pa.uint64()), v.shape[1]
            )
        else:
            cols[f"_{name}"] = pa.array(v)
    meta = {
        "format": FORMAT,
        "samples": _stamp(ws, dataset_version_id),
        "kinds": props.kinds,
        "descriptions": props.descriptions,
        "notes": props.notes,
    }
    table = pa.table(cols).replace_schema_metadata({"assay": json.dumps(meta)})
    target = _cache_path(ws, dataset_version_id)
    tmp = target.with_name(f"{TMP_PREFIX}{uuid.uuid4().hex}-{PROPERTIES_FILE}")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, target)
    except FileNotFoundError:
        tmp.unlink(missing_ok=True)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
