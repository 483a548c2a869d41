"""Answers of the what-if routes (``GET`` / ``POST /api/models/{version_id}/predict``).

Exact models (``extra="forbid"``) like every other answer, so the server tests validate them and
the web client's types come from the OpenAPI document.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from assay.server.answer_schemas import Exact

PredictTask = Literal["classification", "multilabel", "detection"]
PredictMedia = Literal["image", "text"]


class PredictedClass(Exact):
    """One class of an item and the model's score for it."""

    label: str
    score: float


class PredictedBox(Exact):
    """One detection, in pixels of the uploaded image (as the browser shows it: EXIF orientation
    applied)."""

    x: float
    y: float
    w: float
    h: float
    label: str
    score: float


class PredictionItem(Exact):
    """One uploaded image or one line of text: its predictions, or ``error`` (one line) when it
    could not be read or run. ``index`` is its position in the request."""

    index: int
    name: str
    kind: PredictMedia
    width: int | None = None
    height: int | None = None
    text: str | None = None
    classes: Annotated[
        list[PredictedClass] | None,
        Field(description="classification: every class, highest score first"),
    ] = None
    boxes: Annotated[
        list[PredictedBox] | None,
        Field(description="detection: every box the model gives, highest score first"),
    ] = None
    error: str | None = None


class ThresholdSource(Exact):
    """Where ``threshold_default`` comes from: the stored operating point of the model version's
    latest evaluation (``rule``: how it was chosen), with that evaluation's ``metric``-optimal
    point (``optimal``, where ``value`` is reached) one click away."""

    evaluation_id: int
    evaluation_name: str
    rule: Literal["argmax", "threshold", "given", "f1_optimal"]
    metric: str
    optimal: float | None
    value: float | None


class PredictLimits(Exact):
    """What one predict request may hold."""

    files: int
    file_bytes: int
    request_bytes: int
    text_lines: int
    text_chars: int
    max_image_pixels: int
    image_types: list[str]


class PredictModel(Exact):
    """The model version a what-if answer is about."""

    id: int
    version_id: int
    name: str
    version: str


class PredictInfo(Exact):
    """What the what-if page opens on: the model version, whether it can run, its task, media and
    classes, the threshold the slider starts at, and the upload limits."""

    model: PredictModel
    runnable: bool
    reason: str | None
    task: PredictTask | None
    media: PredictMedia | None
    classes: list[str]
    threshold_default: float
    threshold_source: ThresholdSource | None
    limits: PredictLimits


class PredictAnswer(Exact):
    """The predictions of one request, item by item (a bad item carries its ``error``)."""

    model: PredictModel
    task: PredictTask
    media: PredictMedia
    classes: list[str]
    threshold_default: float
    threshold_source: ThresholdSource | None
    items: list[PredictionItem]


class PredictTexts(Exact):
    """The JSON body of a text prediction: one text per entry."""

    texts: list[str]
