"""The answers and requests of the embedding routes (``/api/evaluations/{id}/embeddings/...``):
the 2-D map (points as columns, one entry per sample), the status of a map being laid out, the
nearest neighbours of a sample and a page of a selection."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from assay.evaluation.embeddings import MAX_SEED
from assay.server.answer_schemas import Exact, Task

# the most sample indices a selection names: 100k indices of up to 6 digits fit the server's
# 1 MiB request body
MAX_SELECTION = 100_000
MAX_K = 100
Method = Literal["pca", "umap"]
RunStatus = Literal["missing", "running", "ready", "failed"]


class MapStatus(Exact):
    """A map not cached yet: whether it is being laid out, and how far it got."""

    evaluation_id: int
    method: Method
    params: dict[str, float]
    status: RunStatus
    stage: str | None = Field(None, description="queued, embedding, reducing, laying out...")
    done: int | None = None
    total: int | None = None
    error: str | None = None


class MapPublic(Exact):
    """The map, one entry per sample in every column (index = the sample's index)."""

    evaluation_id: int
    status: Literal["ready"]
    task: Task
    method: Method
    params: dict[str, float]
    source: Literal["model", "scores"] = Field(
        description="model: the model's embedding output; scores: its prediction vectors"
    )
    source_text: str
    dims: int = Field(description="the width of the embedding laid out")
    n: int
    classes: list[str]
    outcome_names: list[str] = Field(description="the names of the outcome codes")
    x: list[float]
    y: list[float]
    outcome: list[int]
    actual: list[int] = Field(description="index into classes; -1 none")
    predicted: list[int] = Field(description="index into classes; -1 none (below threshold)")
    confidence: list[float] = Field(description="the top score (detection: highest box score)")
    label_error: list[bool] | None = Field(
        description="likely label error (single-label); None where it cannot be told"
    )
    properties: list[str] = Field(description="data-quality properties that can colour the map")
    property: str | None
    property_values: list[float | None] | None


class MapRequest(BaseModel):
    """Start laying out a map."""

    model_config = ConfigDict(extra="forbid")
    method: Method = "umap"
    n_neighbors: int | None = Field(None, ge=2, le=200, description="UMAP only (default 15)")
    min_dist: float | None = Field(
        None, ge=0.0, le=1.0, allow_inf_nan=False, description="UMAP only (default 0.1)"
    )
    seed: int = Field(0, ge=0, le=MAX_SEED)
    retry: bool = Field(False, description="start a failed map again")

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"seed": self.seed}
        if self.method == "umap":
            for name in ("n_neighbors", "min_dist"):
                value = getattr(self, name)
                if value is not None:
                    out[name] = value
        return out


class Neighbour(BaseModel):
    """A neighbour: its cosine distance and the sample (as ``/samples/{index}`` gives it)."""

    index: int
    distance: float
    sample: dict[str, Any]


class NeighboursPublic(Exact):
    evaluation_id: int
    index: int
    k: int
    items: list[Neighbour]


class SelectionRequest(BaseModel):
    """A page of the samples a lasso or box selected on the map."""

    model_config = ConfigDict(extra="forbid")
    indices: list[int] = Field(max_length=MAX_SELECTION)
    offset: int = Field(0, ge=0, le=MAX_SELECTION)
    limit: int = Field(50, ge=1, le=200)


class SelectionPublic(Exact):
    evaluation_id: int
    total: int
    offset: int
    limit: int
    items: list[dict[str, Any]]
