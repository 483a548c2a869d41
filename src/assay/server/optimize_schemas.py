"""Request and answer shapes of a model version's INT8 optimisation, its profile and its
comparison with its parent (``POST /api/models/versions/{id}/optimize`` / ``profile``,
``GET /api/models/versions/{id}/against-parent``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from assay.server.answer_schemas import Exact
from assay.server.config import MAX_ID, MAX_NAME
from assay.service.optimize import DEFAULT_SAMPLES, MAX_SAMPLES
from assay.service.profile import DEFAULT_RUNS, MAX_BATCH


class OptimizeCreate(Exact):
    """Quantize the version to INT8, calibrated on a dataset version's images, in a job; the
    child is registered as a new version of the same model with this one as its parent."""

    dataset_version_id: int = Field(ge=0, le=MAX_ID, description="the calibration images")
    samples: int = Field(DEFAULT_SAMPLES, ge=1, le=MAX_SAMPLES, description="images calibrated on")
    version: str | None = Field(
        None, min_length=1, max_length=MAX_NAME, description="the child's label (default int8)"
    )
    exclude_head: bool = Field(
        False,
        description="keep the output head in float (ONNX: the nodes after the last Conv / Gemm / "
        "MatMul; a detector whose output joins boxes and scores needs it)",
    )
    exclude: list[Annotated[str, Field(min_length=1, max_length=256)]] = Field(
        default_factory=list,
        max_length=100,
        description="node names or operator types kept in float",
    )


class ProfileCreate(Exact):
    """Profile the version in a job (latency per batch size, throughput, size, peak memory)."""

    batches: list[int] = Field(
        default_factory=lambda: [1, 8, 32], min_length=1, max_length=8, description="batch sizes"
    )
    runs: int = Field(DEFAULT_RUNS, ge=1, le=1000, description="timed calls per batch size")
    device: str = Field("cpu", min_length=1, max_length=40)


class AgainstParent(Exact):
    """A child version beside its parent: ``speedup`` = the child's throughput / the parent's at
    ``batch`` (the largest batch size both were profiled at on ``device``); ``latency_ratio`` =
    the parent's median latency / the child's there; ``accuracy_delta`` (child minus parent, in
    percentage points) with its ``level`` interval [``accuracy_low``, ``accuracy_high``] from the
    paired comparison of their newest evaluations on one dataset version. None: not measured."""

    parent_version_id: int
    child_version_id: int
    parent_version: str
    child_version: str
    device: str
    batch: int | None = Field(None, le=MAX_BATCH)
    speedup: float | None
    latency_ratio: float | None
    dataset_version_id: int | None
    dataset: str | None
    evaluations: list[int] | None = Field(None, description="[parent's, child's] evaluation ids")
    accuracy_delta: float | None
    accuracy_low: float | None
    accuracy_high: float | None
    level: float
