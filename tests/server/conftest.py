"""A small real workspace for the API tests: image, text and multi-label classification and a
detection evaluation, each built by the evaluation layer on random data and saved through the store,
with real image files and texts in the dataset versions' sample tables."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from PIL import Image
from pydantic import TypeAdapter
from starlette.routing import compile_path

from assay.evaluation.classification import evaluate_classification
from assay.evaluation.detection import evaluate_detections
from assay.server.app import create_app
from assay.store import Workspace

CLASSES = ["cat", "dog", "bird"]


@dataclass
class Seeded:
    home: Path
    image: int  # image classification, 40 samples, sample 5 has no file
    text: int  # text classification, 1,500 samples (curves longer than 1,000 points)
    multilabel: int
    detection: int
    image_dv: int
    detection_dv: int
    image_paths: list[Path | None]
    fp32_version: int
    int8_version: int


def _png(path: Path, seed: int, size: tuple[int, int] = (320, 240)) -> Path:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def _scores(rng: np.random.Generator, n: int, c: int) -> np.ndarray:
    raw = rng.random((n, c)) ** 3
    return raw / raw.sum(axis=1, keepdims=True)


def _detection(root: Path, rng: np.random.Generator) -> tuple[dict, list[dict]]:
    images, annotations, detections = [], [], []
    for i in range(12):
        _png(root / f"img{i}.png", 100 + i, (96, 64))
        images.append({"id": i + 1, "file_name": f"img{i}.png", "width": 96, "height": 64})
        for _ in range(3):
            x, y = float(rng.uniform(0, 60)), float(rng.uniform(0, 30))
            w, h = float(rng.uniform(8, 30)), float(rng.uniform(8, 30))
            category = int(rng.integers(1, 4))
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i + 1,
                    "category_id": category,
                    "bbox": [x, y, w, h],
                    "area": w * h,
                    "iscrowd": 0,
                }
            )
            if rng.random() < 0.8:  # found, sometimes with the wrong class
                jitter = rng.normal(0, 1.5, 4).tolist()
                detections.append(
                    {
                        "image_id": i + 1,
                        "category_id": category if rng.random() < 0.8 else 1 + category % 3,
                        "bbox": [x + jitter[0], y + jitter[1], w + jitter[2], h + jitter[3]],
                        "score": float(rng.uniform(0.3, 1.0)),
                    }
                )
        detections.append(  # a spurious box
            {"image_id": i + 1, "category_id": 2, "bbox": [1, 1, 10, 10], "score": 0.2}
        )
    categories = [{"id": k + 1, "name": name} for k, name in enumerate(CLASSES)]
    gt = {"images": images, "annotations": annotations, "categories": categories}
    return gt, detections


def build_workspace(home: Path, data: Path) -> Seeded:
    rng = np.random.default_rng(0)
    ws = Workspace(home)

    # image classification with files (sample 5 has none)
    n = 40
    y = rng.integers(0, 3, n)
    paths: list[Path | None] = [_png(data / "images" / f"{i}.png", i) for i in range(n)]
    paths[5] = None
    samples = pa.table(
        {
            "id": [f"img{i}" for i in range(n)],
            "path": [None if p is None else str(p) for p in paths],
        }
    )
    dv = ws.add_dataset_version(
        "pets", task="classification", source=data / "images", samples=samples
    )
    fp32 = ws.add_model_version("resnet", version="fp32")
    int8 = ws.add_model_version("resnet", version="int8", parent_version_id=fp32.id)
    res = evaluate_classification(
        y, _scores(rng, n, 3), classes=CLASSES, sample_ids=[f"img{i}" for i in range(n)]
    )
    image = ws.save_evaluation(
        res,
        task="classification",
        name="pets int8",
        dataset_version_id=dv.id,
        model_version_id=int8.id,
        params={"threshold": 0.5},
    )

    # text classification, long enough for down-sampled curves
    n = 1500
    texts = [f"question number {i}" for i in range(n)]
    tdv = ws.add_dataset_version(
        "questions",
        task="classification",
        samples=pa.table({"id": [str(i) for i in range(n)], "text": texts}),
    )
    res = evaluate_classification(rng.integers(0, 3, n), _scores(rng, n, 3), classes=CLASSES)
    text = ws.save_evaluation(
        res, task="classification", name="questions", dataset_version_id=tdv.id, params={}
    )

    # multi-label, a plain score table: no media, metadata columns
    n = 30
    tags = pa.table(
        {
            "id": [f"t{i}" for i in range(n)],
            "split": ["train" if i % 3 else "val" for i in range(n)],
            "weight": [float(i) / 2 for i in range(n)],
            "reviewed": [i % 2 == 0 for i in range(n)],
        }
    )
    mdv = ws.add_dataset_version("tags", task="multilabel", samples=tags)
    res = evaluate_classification(
        rng.random((n, 3)) < 0.4,
        rng.random((n, 3)),
        classes=CLASSES,
        multilabel=True,
        sample_ids=[f"t{i}" for i in range(n)],
    )
    multilabel = ws.save_evaluation(
        res, task="classification", name="tags", dataset_version_id=mdv.id, params={}
    )

    # detection with image files
    gt, dt = _detection(data / "det", rng)
    det = evaluate_detections(gt, dt)
    det_samples = pa.table(
        {
            "id": [str(im["id"]) for im in gt["images"]],
            "path": [str(data / "det" / im["file_name"]) for im in gt["images"]],
        }
    )
    ddv = ws.add_dataset_version("boxes", task="detection", samples=det_samples)
    detection = ws.save_evaluation(
        det, task="detection", name="boxes", dataset_version_id=ddv.id, params={"iou": 0.5}
    )
    ws.close()
    return Seeded(
        home=home,
        image=image.id,
        text=text.id,
        multilabel=multilabel.id,
        detection=detection.id,
        image_dv=dv.id,
        detection_dv=ddv.id,
        image_paths=paths,
        fp32_version=fp32.id,
        int8_version=int8.id,
    )


BASE_URL = "http://localhost"  # a served name (the Host check refuses "testserver")


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    root = tmp_path_factory.mktemp("assay-server")
    return build_workspace(root / "home", root / "data")


@pytest.fixture(scope="session")
def client(seeded: Seeded, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    # the tests' files live under pytest's temporary folder: an allowed data root
    app = create_app(seeded.home, data_roots=[tmp_path_factory.getbasetemp()])
    with TestClient(app, base_url=BASE_URL) as test_client:
        yield test_client


API_PREFIX = "/api"  # every router is included under it (server/app.py)


def _api_routes(app: FastAPI) -> list[APIRoute]:
    """Every APIRoute of the app, with its path under the API prefix (FastAPI wraps included
    routers in route objects of its own, which keep the router they include)."""
    routes: list[APIRoute] = []
    for route in app.routes:
        if isinstance(route, APIRoute):
            routes.append(route)
        included = getattr(route, "original_router", None)
        if included is not None:
            routes += [r for r in included.routes if isinstance(r, APIRoute)]
    return routes


@functools.cache
def _adapters(app: FastAPI) -> list[tuple[re.Pattern[str], set[str], TypeAdapter[Any]]]:
    table = []
    for route in _api_routes(app):
        if route.response_model is None:
            continue
        path = route.path if route.path.startswith(API_PREFIX) else API_PREFIX + route.path
        regex, _, _ = compile_path(path)
        table.append((regex, set(route.methods), TypeAdapter(route.response_model)))
    return table


def response_adapter(app: FastAPI, method: str, url: str) -> TypeAdapter[Any]:
    """The TypeAdapter of the ``response_model`` of the route that answers ``method url`` (the
    first match, as the router's order)."""
    path = urlsplit(url).path
    for regex, methods, adapter in _adapters(app):
        if method in methods and regex.match(path):
            return adapter
    raise AssertionError(f"no route with a response_model answers {method} {path}")


def validate_answer(app: FastAPI, url: str, data: Any, method: str = "GET") -> Any:
    """``data`` checked against its route's response model in strict JSON mode: a field the
    model lacks (``extra="forbid"``), a missing one, or a wrong type fails."""
    return response_adapter(app, method, url).validate_python(data)


def get_json(client: TestClient, url: str) -> Any:
    """A 200 answer's JSON, valid against the route's response model, without NaN or Infinity."""
    answer = client.get(url)
    assert answer.status_code == 200, answer.text
    assert "NaN" not in answer.text and "Infinity" not in answer.text
    data = answer.json()
    validate_answer(client.app, url, data)  # type: ignore[arg-type]
    return data


def get_error(client: TestClient, url: str, status: int = 422) -> str:
    """The one-line ``detail`` of an error answer with ``status``."""
    answer = client.get(url)
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail
    return detail
