"""What-if predictions: uploaded images or pasted texts through a registered model version.

Every upload is hostile until checked, one at a time, in a worker thread:

- its name is the upload's file name made safe to show (the last path part, no control or
  direction characters, at most ``MAX_NAME_CHARS``);
- its size is at most ``Limits.upload_file_bytes``;
- its type is read from its bytes, never from its name: only Pillow's PNG, JPEG, WebP, GIF, BMP
  and TIFF readers may open it (no other decoder is ever tried);
- its pixel count, read from the header before anything is decoded, is at most
  ``Limits.max_image_pixels`` (a decompression bomb never reaches memory), and it must decode
  whole (a truncated file is refused).

A bad item gets one line in its ``error``; the others are still predicted. Every model is loaded
and run in a sandboxed worker process (:mod:`assay.runners.sandbox`): confined to its stored copy,
with a memory, CPU and wall-clock limit per call; a worker past a limit is stopped and the request
answered 503 in one line (:class:`ModelUnavailable`), and the next request starts a new worker.
Loaded runners (their warm workers) are kept in an LRU of ``Limits.cached_runners`` and at most
``Limits.cached_runner_bytes`` of their workers' resident memory, called from worker threads (one
prediction at a time per runner); at most ``Limits.predict_workers`` predictions run at once and ``predict_queue`` wait,
beyond which a request is told to come back (:class:`Busy`, a 503 with ``Retry-After``).

>>> safe_name("../../etc/\\u202epasswd.png", 0)
'passwd.png'
>>> safe_name(None, 2)
'file 3'
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from assay.caches import LRU
from assay.errors import AssayError, InputError, one_line
from assay.runners import MissingExtraError, Runner, preprocess_image
from assay.runners.sandbox import ModelUnavailable, SandboxLimits
from assay.server.config import Limits
from assay.store import Workspace

logger = logging.getLogger("assay.server")

# Pillow's format ids allowed to open an upload (a JPEG holding several pictures, MPO, opens as JPEG)
IMAGE_FORMATS = ("PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF")
IMAGE_TYPES_TEXT = "PNG, JPEG, WebP, GIF, BMP or TIFF"
MAX_NAME_CHARS = 120
MAX_ERROR_CHARS = 200
TEXT_BATCH = 32
RETRY_AFTER_SECONDS = 2


class Busy(Exception):
    """Too many predictions running and waiting (a 503 with ``Retry-After``)."""


class UploadRefused(Exception):
    """An uploaded file that is not an image Assay reads: one line, never its contents."""


def safe_name(raw: str | None, index: int) -> str:
    """An upload's name fit to show and to put in a message: the last path part, without control,
    format (bidirectional) or line-separator characters, at most ``MAX_NAME_CHARS``; ``file N``
    (1-based) when nothing is left."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    kept = []
    for ch in name:
        category = unicodedata.category(ch)
        if ch.isspace() or category in ("Zl", "Zp"):
            kept.append(" ")
        elif category[0] != "C":  # control, format (bidi overrides), private, unassigned
            kept.append(ch)
    name = " ".join("".join(kept).split())
    if len(name) > MAX_NAME_CHARS:
        keep = MAX_NAME_CHARS - 1
        name = name[: keep - 24] + "…" + name[-24:]
    return name or f"file {index + 1}"


def _readers() -> tuple[str, ...]:
    """The allowed formats this Pillow build reads (one built without WebP skips it)."""
    Image.init()
    return tuple(f for f in IMAGE_FORMATS if f in Image.OPEN)


def open_image(data: bytes, *, max_pixels: int, mode: str = "RGB") -> Image.Image:
    """Decode an uploaded image from its bytes (checked as the module docstring says), upright
    (EXIF orientation applied, as browsers show it) and in ``mode``; ``UploadRefused`` otherwise."""
    if not data:
        raise UploadRefused("empty file")
    try:
        with Image.open(io.BytesIO(data), formats=_readers()) as opened:
            width, height = opened.size
            if width < 1 or height < 1:
                raise UploadRefused(f"an image of {width} x {height} pixels")
            if width * height > max_pixels:
                raise UploadRefused(
                    f"{width} x {height} pixels, more than the {max_pixels:,} pixels allowed"
                )
            opened.load()
            image: Image.Image = opened
            # a broken orientation tag: the picture as stored
            with contextlib.suppress(OSError, ValueError, SyntaxError, KeyError, TypeError):
                image = ImageOps.exif_transpose(opened)
            if image.mode != mode:
                if mode == "RGB" and image.mode in ("RGBA", "LA", "P", "PA"):
                    rgba = image.convert("RGBA")
                    image = Image.new("RGB", rgba.size, (255, 255, 255))
                    image.paste(rgba, mask=rgba.getchannel("A"))
                else:
                    image = image.convert(mode)
            return image
    except UploadRefused:
        raise
    except UnidentifiedImageError:
        raise UploadRefused(f"not a {IMAGE_TYPES_TEXT} image") from None
    except Image.DecompressionBombError:
        raise UploadRefused(f"more than the {max_pixels:,} pixels allowed") from None
    except (OSError, SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise UploadRefused(f"truncated or corrupt image ({one_line(exc, 80)})") from None


@dataclass
class Upload:
    """One uploaded file: its safe name and its (spooled) content, or why it was refused early."""

    name: str
    file: IO[bytes] | None = None
    size: int | None = None
    error: str | None = None


@dataclass
class LoadedRunner:
    """A runner and the lock that keeps its predictions one at a time."""

    runner: Runner
    task: str
    media: str
    classes: tuple[str, ...] | None
    lock: threading.Lock = field(default_factory=threading.Lock)


class Predictor:
    """The runner cache and the bounds of the what-if route (see the module docstring)."""

    def __init__(
        self, workspace: Workspace, limits: Limits, sandbox: SandboxLimits | None = None
    ) -> None:
        self.workspace = workspace
        self.limits = limits
        self.sandbox = sandbox or SandboxLimits(
            memory_bytes=limits.model_memory_bytes,
            call_seconds=limits.model_call_seconds,
            load_seconds=limits.model_load_seconds,
            cpu_seconds=limits.model_cpu_seconds,
        )
        # an evicted runner's worker stops when the runner is dropped (its finalizer)
        self.runners: LRU[tuple[Any, ...], LoadedRunner] = LRU(
            max(1, limits.cached_runners),
            weigh=_resident_bytes,
            max_weight=max(1, limits.cached_runner_bytes),
        )
        self._load_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, limits.predict_workers))
        self.in_flight = 0  # changed on the event loop only

    # ------------------------------------------------------------ admission (event loop)

    @contextmanager
    def admitted(self) -> Iterator[None]:
        """Hold a place among the running and waiting predictions; ``Busy`` when none is left."""
        if self.in_flight >= max(1, self.limits.predict_workers) + max(
            0, self.limits.predict_queue
        ):
            raise Busy("the server is busy with other predictions; try again in a moment")
        self.in_flight += 1
        try:
            yield
        finally:
            self.in_flight -= 1

    # ------------------------------------------------------------ worker thread

    def runner_for(self, version_id: int) -> LoadedRunner:
        """The loaded runner of a model version (from the cache, else loaded and kept)."""
        version = self.workspace.get_model_version(version_id)
        key = (version.id, version.hash, version.artifact)
        cached = self.runners.get(key)
        if cached is not None:
            return cached
        with self._load_lock:
            cached = self.runners.get(key)
            if cached is not None:
                return cached
            try:
                runner = self.workspace.load_model_runner(version_id, sandbox=self.sandbox)
            except MissingExtraError as exc:  # the backend's extra is not installed here
                raise InputError(str(exc)) from None
            except AssayError:
                raise
            except Exception as exc:  # noqa: BLE001 - a backend's own error: one line, logged
                logger.warning("model version %s could not be loaded", version_id, exc_info=exc)
                raise InputError(
                    f"model version {version_id} could not be loaded ({one_line(exc, MAX_ERROR_CHARS)})"
                ) from None
            info = runner.describe()
            loaded = LoadedRunner(
                runner=runner,
                task=runner.spec.task,
                media=info.media,
                classes=tuple(info.classes) if info.classes else None,
            )
            self.runners[key] = loaded
            return loaded

    def predict_images(
        self, version_id: int, uploads: Sequence[Upload], check: Callable[[LoadedRunner], None]
    ) -> tuple[LoadedRunner, list[dict[str, Any]]]:
        """Each upload checked, decoded and predicted, one at a time (at most one decoded image in
        memory); ``check`` refuses a runner that does not take images (raising)."""
        with self._slots:
            loaded = self.runner_for(version_id)
            check(loaded)
            items = []
            for index, upload in enumerate(uploads):
                item: dict[str, Any] = {"index": index, "name": upload.name, "kind": "image"}
                try:
                    item.update(self._predict_image(loaded, upload))
                except UploadRefused as exc:
                    item["error"] = str(exc)
                items.append(item)
            return loaded, items

    def _predict_image(self, loaded: LoadedRunner, upload: Upload) -> dict[str, Any]:
        if upload.error is not None:
            raise UploadRefused(upload.error)
        limit = self.limits.upload_file_bytes
        if upload.file is None:
            raise UploadRefused("not a file upload")
        if upload.size is not None and upload.size > limit:
            raise UploadRefused(f"larger than {_size_text(limit)}")
        upload.file.seek(0)
        data = upload.file.read(limit + 1)
        if len(data) > limit:
            raise UploadRefused(f"larger than {_size_text(limit)}")
        spec = loaded.runner.spec
        image = open_image(
            data,
            max_pixels=self.limits.max_image_pixels,
            mode="L" if spec.channels == "L" else "RGB",
        )
        del data
        width, height = image.size
        try:
            sample, geometry = preprocess_image(image, spec)
        except (InputError, ValueError, OSError) as exc:
            raise UploadRefused(
                f"cannot be prepared for this model ({one_line(exc, MAX_ERROR_CHARS)})"
            ) from None
        del image
        batch = sample[None]
        with loaded.lock:
            try:
                out = loaded.runner.predict(batch, [geometry])
            except ModelUnavailable:  # past a limit: the whole request is a 503
                raise
            except Exception as exc:  # noqa: BLE001 - a backend's own error: one line, logged
                logger.info("what-if prediction failed", exc_info=exc)
                raise UploadRefused(
                    f"the model could not run on it ({one_line(exc, MAX_ERROR_CHARS)})"
                ) from None
        answer: dict[str, Any] = {"width": width, "height": height}
        if loaded.task == "detection":
            assert isinstance(out, list)
            answer["boxes"] = _boxes(out[0], loaded.classes)
        else:
            answer["classes"] = _ranked(np.asarray(out)[0], loaded.classes)
        return answer

    def predict_texts(
        self,
        version_id: int,
        lines: Sequence[tuple[str, str]],
        check: Callable[[LoadedRunner], None],
    ) -> tuple[LoadedRunner, list[dict[str, Any]]]:
        """``lines`` are (name, text) pairs; texts over the length limit are refused item by item,
        the others predicted ``TEXT_BATCH`` at a time."""
        with self._slots:
            loaded = self.runner_for(version_id)
            check(loaded)
            limit = self.limits.predict_text_chars
            items: list[dict[str, Any]] = []
            todo: list[int] = []
            for index, (name, text) in enumerate(lines):
                item: dict[str, Any] = {"index": index, "name": name, "kind": "text"}
                if not text.strip():
                    item["text"] = text
                    item["error"] = "empty text"
                elif len(text) > limit:
                    item["text"] = text[:200] + "…"
                    item["error"] = f"longer than {limit:,} characters ({len(text):,})"
                else:
                    item["text"] = text
                    todo.append(index)
                items.append(item)
            for start in range(0, len(todo), TEXT_BATCH):
                chunk = todo[start : start + TEXT_BATCH]
                with loaded.lock:
                    try:
                        scores = np.asarray(loaded.runner.predict([lines[i][1] for i in chunk]))
                    except ModelUnavailable:  # past a limit: the whole request is a 503
                        raise
                    except Exception as exc:  # noqa: BLE001 - a backend's own error, logged
                        logger.info("what-if prediction failed", exc_info=exc)
                        for i in chunk:
                            items[i]["error"] = (
                                f"the model could not run on it ({one_line(exc, MAX_ERROR_CHARS)})"
                            )
                        continue
                for row, i in enumerate(chunk):
                    try:
                        items[i]["classes"] = _ranked(scores[row], loaded.classes)
                    except UploadRefused as exc:
                        items[i]["error"] = str(exc)
            return loaded, items


def _resident_bytes(loaded: LoadedRunner) -> int:
    """The resident memory of a loaded runner's worker (0 for one run in this process)."""
    rss = getattr(loaded.runner, "rss_bytes", None)
    return int(rss()) if callable(rss) else 0


def _size_text(n: int) -> str:
    return f"{n / (1 << 20):g} MB" if n >= 1 << 20 else f"{n:,} bytes"


def _class_names(classes: tuple[str, ...] | None, n: int) -> list[str]:
    if classes is None:
        return [str(i) for i in range(n)]
    if len(classes) != n:
        raise UploadRefused(f"the model gave {n} scores for {len(classes)} classes")
    return list(classes)


def _ranked(scores: np.ndarray, classes: tuple[str, ...] | None) -> list[dict[str, Any]]:
    """Every class with its score, highest first (ties in class order)."""
    row = np.asarray(scores, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(row)):
        raise UploadRefused("the model's scores hold NaN or infinite values")
    names = _class_names(classes, len(row))
    order = np.argsort(-row, kind="stable")
    return [{"label": names[i], "score": float(row[i])} for i in order]


def _boxes(detections: Any, classes: tuple[str, ...] | None) -> list[dict[str, Any]]:
    """Detections (xyxy, original pixels) as x, y, w, h boxes, highest score first."""
    boxes = np.asarray(detections.boxes, dtype=np.float64).reshape(-1, 4)
    scores = np.asarray(detections.scores, dtype=np.float64).reshape(-1)
    labels = np.asarray(detections.labels).reshape(-1)
    if not (np.all(np.isfinite(boxes)) and np.all(np.isfinite(scores))):
        raise UploadRefused("the model's boxes or scores hold NaN or infinite values")
    names = list(classes or ())
    out = []
    for i in np.argsort(-scores, kind="stable"):
        x0, y0, x1, y1 = (float(v) for v in boxes[i])
        label = int(labels[i])
        out.append(
            {
                "x": x0,
                "y": y0,
                "w": max(0.0, x1 - x0),
                "h": max(0.0, y1 - y0),
                "label": names[label] if 0 <= label < len(names) else str(label),
                "score": float(scores[i]),
            }
        )
    return out
