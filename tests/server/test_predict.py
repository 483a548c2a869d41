"""What-if through the API: POST /api/models/{version_id}/predict with good uploads (an image
classifier, a detector, a text model) and hostile ones (a text file named .png, a truncated PNG, a
PNG bomb, too many files, too large a body, unknown and non-runnable versions, empty requests)."""

from __future__ import annotations

import io
import json
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io as sio
from fastapi.testclient import TestClient
from PIL import Image
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from assay.evaluation.classification import evaluate_classification
from assay.evaluation.detection import evaluate_detections
from assay.evaluation.results import OperatingPoint
from assay.runners import MissingExtraError, PreprocessSpec, load_runner, preprocess_image
from assay.server.app import create_app
from assay.server.config import Limits
from assay.server.routers.predict import predictor_of
from assay.store import Workspace
from tests.runners.models import constant_outputs, linear_softmax
from tests.server.conftest import BASE_URL, validate_answer

CLASSES = ("cat", "dog", "bird")
SHAPES = ("circle", "square")
TEXT_CLASSES = ("what", "where", "who")
DET_BOXES = np.array([[2.0, 2.0, 10.0, 6.0], [0.0, 8.0, 4.0, 16.0], [8.0, 8.0, 16.0, 16.0]])
DET_SCORES = np.array([0.9, 0.55, 0.2])
DET_LABELS = np.array([1, 0, 1])
LIMITS = Limits(
    upload_files=6,
    upload_file_bytes=300_000,
    upload_request_bytes=1_500_000,
    max_image_pixels=4_000_000,
    predict_text_lines=8,
    predict_text_chars=200,
    cached_runners=2,
)
TEXTS = [
    "what is the capital of france",
    "who wrote hamlet",
    "where is the nile",
    "who painted the mona lisa",
    "where is mount everest",
    "what is the speed of light",
]


@dataclass
class Models:
    home: Path
    image: int
    detection: int
    text: int
    multilabel: int
    nan: int
    table: int
    predictions_only: int
    image_path: Path
    text_pipe: Any
    image_eval_threshold: float
    detection_eval_score: float


def _png(size: tuple[int, int] = (40, 30), seed: int = 0, fmt: str = "PNG") -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, fmt)
    return buf.getvalue()


def _bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (the data would inflate to GBs)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * (width + 1) * 16, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def _register(tmp: Path) -> Models:
    home = tmp / "home"
    ws = Workspace(home)
    models = tmp / "models"
    models.mkdir()

    image_path, _, _ = linear_softmax(
        models / "pets.onnx", shape=(3, 8, 8), n_classes=3, metadata={"classes": ",".join(CLASSES)}
    )
    image = ws.add_model(image_path, name="pets", version="fp32")

    det_path = constant_outputs(
        models / "shapes.onnx",
        {"boxes": DET_BOXES, "scores": DET_SCORES, "labels": DET_LABELS},
        shape=(3, 16, 16),
    )
    detection = ws.add_model(
        det_path, name="shapes", spec=PreprocessSpec(task="detection", classes=SHAPES)
    )

    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(
        TEXTS, ["what", "who", "where", "who", "where", "what"]
    )
    sio.dump(pipe, models / "trec.skops")
    text = ws.add_model(models / "trec.skops", name="trec")

    ml_path, _, _ = linear_softmax(
        models / "tags.onnx", shape=(3, 8, 8), n_classes=3, softmax=False
    )
    multilabel = ws.add_model(
        ml_path,
        name="tags",
        spec=PreprocessSpec(task="multilabel", activation="sigmoid", classes=CLASSES),
    )

    nan_path = constant_outputs(
        models / "nan.onnx", {"probs": np.array([np.nan, 0.5, 0.5])}, shape=(3, 8, 8)
    )
    nan = ws.add_model(nan_path, name="broken", spec=PreprocessSpec(classes=CLASSES))

    rng = np.random.default_rng(0)
    features = rng.normal(size=(40, 4))
    tab = LogisticRegression().fit(features, np.arange(40) % 2)
    sio.dump(tab, models / "tab.skops")
    table = ws.add_model(models / "tab.skops", name="tabular")

    predictions_only = ws.add_model_version("from-a-file", version="v1")

    # evaluations of the image classifier and the detector: the slider starts at their optimum
    n = 60
    y = rng.integers(0, 3, n)
    scores = rng.dirichlet(np.ones(3), n)
    scores[np.arange(n), y] += rng.uniform(0, 1, n)
    scores /= scores.sum(axis=1, keepdims=True)
    res = evaluate_classification(y, scores, classes=list(CLASSES))
    dv = ws.add_dataset_version("pets-set", task="classification", samples=_ids(n))
    ws.save_evaluation(
        res,
        task="classification",
        name="pets on set",
        dataset_version_id=dv.id,
        model_version_id=image.id,
    )
    det = evaluate_detections(*_detection_case(rng))
    ddv = ws.add_dataset_version("shape-set", task="detection", samples=_ids(6))
    ws.save_evaluation(
        det,
        task="detection",
        name="shapes on set",
        dataset_version_id=ddv.id,
        model_version_id=detection.id,
    )
    threshold = res.optimal("f1", OperatingPoint())["threshold"]
    score = det.optimal("f1", OperatingPoint())["score"]
    ws.close()
    return Models(
        home=home,
        image=image.id,
        detection=detection.id,
        text=text.id,
        multilabel=multilabel.id,
        nan=nan.id,
        table=table.id,
        predictions_only=predictions_only.id,
        image_path=image_path,
        text_pipe=pipe,
        image_eval_threshold=float(threshold),
        detection_eval_score=float(score),
    )


def _ids(n: int) -> Any:
    import pyarrow as pa

    return pa.table({"id": [str(i) for i in range(n)]})


def _detection_case(rng: np.random.Generator) -> tuple[dict, list[dict]]:
    images, annotations, detections = [], [], []
    for i in range(6):
        images.append({"id": i + 1, "file_name": f"{i}.png", "width": 64, "height": 64})
        for k in range(2):
            bbox = [float(10 + 20 * k), 10.0, 15.0, 15.0]
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": i + 1,
                    "category_id": k + 1,
                    "bbox": bbox,
                    "area": 225.0,
                    "iscrowd": 0,
                }
            )
            detections.append(
                {
                    "image_id": i + 1,
                    "category_id": k + 1,
                    "bbox": bbox,
                    "score": 0.5 + 0.4 * rng.random(),
                }
            )
        detections.append(
            {
                "image_id": i + 1,
                "category_id": 1,
                "bbox": [40.0, 40.0, 9.0, 9.0],
                "score": 0.3 * rng.random(),
            }
        )
    categories = [{"id": k + 1, "name": name} for k, name in enumerate(SHAPES)]
    return {"images": images, "annotations": annotations, "categories": categories}, detections


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Models:
    return _register(tmp_path_factory.mktemp("what-if"))


@pytest.fixture(scope="module")
def api(models: Models) -> Iterator[TestClient]:
    app = create_app(models.home, limits=LIMITS)
    with TestClient(app, base_url=BASE_URL) as client:
        yield client


def _files(*named: tuple[str, bytes]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, data, "application/octet-stream")) for name, data in named]


def _ok(api: TestClient, version: int, **kwargs: Any) -> dict[str, Any]:
    url = f"/api/models/{version}/predict"
    answer = api.post(url, **kwargs)
    assert answer.status_code == 200, answer.text
    assert "NaN" not in answer.text and "Infinity" not in answer.text
    data = answer.json()
    validate_answer(api.app, url, data, method="POST")  # type: ignore[arg-type]
    return data


def _error(api: TestClient, version: int, status: int, **kwargs: Any) -> str:
    answer = api.post(f"/api/models/{version}/predict", **kwargs)
    assert answer.status_code == status, answer.text
    detail = answer.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and "Traceback" not in detail
    return detail


# ---------------------------------------------------------------- good uploads


def test_info_says_what_the_page_needs(api: TestClient, models: Models) -> None:
    url = f"/api/models/{models.image}/predict"
    answer = api.get(url)
    assert answer.status_code == 200, answer.text
    info = answer.json()
    validate_answer(api.app, url, info)  # type: ignore[arg-type]
    assert info["runnable"] and info["reason"] is None
    assert (info["task"], info["media"], info["classes"]) == (
        "classification",
        "image",
        list(CLASSES),
    )
    # the slider opens at the evaluation's stored point (the argmax), its F1-optimal one a click away
    assert info["threshold_default"] == 0.0
    source = info["threshold_source"]
    assert source["evaluation_name"] == "pets on set" and source["rule"] == "argmax"
    assert source["optimal"] == pytest.approx(models.image_eval_threshold)
    assert info["limits"]["files"] == LIMITS.upload_files
    # no evaluation: the defaults
    text = api.get(f"/api/models/{models.text}/predict").json()
    assert (text["media"], text["threshold_default"], text["threshold_source"]) == (
        "text",
        0.0,
        None,
    )


def test_image_classification_gives_every_class_by_probability(
    api: TestClient, models: Models
) -> None:
    images = {
        "a.png": _png((40, 30), 1),
        "b.jpg": _png((17, 50), 2, "JPEG"),
        "c.webp": _png((9, 9), 3, "WEBP"),
    }
    data = _ok(api, models.image, files=_files(*images.items()))
    assert (data["task"], data["media"], data["classes"]) == (
        "classification",
        "image",
        list(CLASSES),
    )
    assert data["threshold_default"] == 0.0
    assert data["threshold_source"]["optimal"] == pytest.approx(models.image_eval_threshold)
    runner = load_runner(models.image_path)
    for item, (name, raw) in zip(data["items"], images.items(), strict=True):
        assert item["error"] is None and item["name"] == name and item["kind"] == "image"
        image = Image.open(io.BytesIO(raw)).convert("RGB")
        assert (item["width"], item["height"]) == image.size
        x, _ = preprocess_image(image, runner.spec)
        expected = np.asarray(runner.predict(x[None]))[0]
        got = {c["label"]: c["score"] for c in item["classes"]}
        assert [c["label"] for c in item["classes"]] == [
            CLASSES[i] for i in np.argsort(-expected, kind="stable")
        ]
        np.testing.assert_allclose([got[c] for c in CLASSES], expected, rtol=1e-6)
        assert sum(got.values()) == pytest.approx(1.0)


def test_detection_boxes_in_original_pixels(api: TestClient, models: Models) -> None:
    data = _ok(api, models.detection, files=_files(("wide.png", _png((64, 32), 4))))
    assert data["task"] == "detection" and data["classes"] == list(SHAPES)
    assert data["threshold_default"] == pytest.approx(models.detection_eval_score)
    (item,) = data["items"]
    assert (item["width"], item["height"]) == (64, 32)
    # the model's 16 x 16 input stretched from 64 x 32: x times 4, y times 2
    expected = [
        {"x": 8.0, "y": 4.0, "w": 32.0, "h": 8.0, "label": "square", "score": 0.9},
        {"x": 0.0, "y": 16.0, "w": 16.0, "h": 16.0, "label": "circle", "score": 0.55},
        {"x": 32.0, "y": 16.0, "w": 32.0, "h": 16.0, "label": "square", "score": 0.2},
    ]
    assert len(item["boxes"]) == 3
    for got, want in zip(item["boxes"], expected, strict=True):
        assert got["label"] == want["label"]
        for key in ("x", "y", "w", "h", "score"):
            assert got[key] == pytest.approx(want[key], rel=1e-5), key


def test_exif_orientation_is_applied(api: TestClient, models: Models) -> None:
    """A phone photo stored sideways: the answer's size is the upright picture's, as browsers show it."""
    image = Image.fromarray(np.zeros((32, 64, 3), np.uint8))  # 64 wide, 32 high as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees to show
    buf = io.BytesIO()
    image.save(buf, "JPEG", exif=exif)
    data = _ok(api, models.detection, files=_files(("phone.jpg", buf.getvalue())))
    assert (data["items"][0]["width"], data["items"][0]["height"]) == (32, 64)


def test_text_model_from_form_lines_and_json(api: TestClient, models: Models) -> None:
    lines = ["who discovered penicillin", "", "  where is timbuktu  ", "what is dna"]
    data = _ok(api, models.text, data={"text": "\n".join(lines)})
    texts = ["who discovered penicillin", "where is timbuktu", "what is dna"]
    assert [i["text"] for i in data["items"]] == texts
    assert [i["name"] for i in data["items"]] == ["line 1", "line 3", "line 4"]
    expected = models.text_pipe.predict_proba(texts)
    for item, row in zip(data["items"], expected, strict=True):
        got = {c["label"]: c["score"] for c in item["classes"]}
        np.testing.assert_allclose([got[c] for c in TEXT_CLASSES], row, rtol=1e-9)
    via_json = _ok(api, models.text, json={"texts": texts})
    assert [i["classes"] for i in via_json["items"]] == [i["classes"] for i in data["items"]]


def test_multilabel_scores_are_independent(api: TestClient, models: Models) -> None:
    data = _ok(api, models.multilabel, files=_files(("x.png", _png((8, 8), 5))))
    assert data["task"] == "multilabel" and data["threshold_default"] == 0.5
    scores = [c["score"] for c in data["items"][0]["classes"]]
    assert scores == sorted(scores, reverse=True) and all(0 < s < 1 for s in scores)
    assert sum(scores) != pytest.approx(1.0)


# ---------------------------------------------------------------- bad uploads, item by item


def test_bad_files_among_good_ones_get_their_own_error(api: TestClient, models: Models) -> None:
    good = _png((20, 20), 6)
    secret = b"password=hunter2\nline two\n"
    truncated = _png((200, 200), 7)[:-2000]
    data = _ok(
        api,
        models.image,
        files=_files(
            ("../../etc/\u202eevil.png", good),
            ("notes.png", secret),
            ("cut.png", truncated),
            ("bomb.png", _bomb_png(5_000, 5_000)),
            ("huge.png", _bomb_png(100_000, 100_000)),
        ),
    )
    items = {i["name"]: i for i in data["items"]}
    assert list(items) == ["evil.png", "notes.png", "cut.png", "bomb.png", "huge.png"]
    assert items["evil.png"]["error"] is None and items["evil.png"]["classes"]
    assert items["notes.png"]["error"] == "not a PNG, JPEG, WebP, GIF, BMP or TIFF image"
    assert items["cut.png"]["error"].startswith("truncated or corrupt image")
    assert (
        items["bomb.png"]["error"] == "5000 x 5000 pixels, more than the 4,000,000 pixels allowed"
    )
    # beyond Pillow's own bomb limit, refused as it opens
    assert items["huge.png"]["error"].endswith("more than the 4,000,000 pixels allowed")
    text = json.dumps(data)
    assert "hunter2" not in text and "password" not in text


def test_an_oversized_file_and_an_empty_one_among_good_ones(
    api: TestClient, models: Models
) -> None:
    big = _png((400, 400), 8)  # random pixels: about 480 kB, over the 300 kB per file
    assert len(big) > LIMITS.upload_file_bytes
    data = _ok(
        api,
        models.image,
        files=_files(("big.png", big), ("empty.png", b""), ("ok.gif", _png((5, 5), 9, "GIF"))),
    )
    errors = [i["error"] for i in data["items"]]
    assert errors == ["larger than 300,000 bytes", "empty file", None]


def test_non_finite_model_outputs_are_an_item_error(api: TestClient, models: Models) -> None:
    detail = _error(api, models.nan, 422, files=_files(("a.png", _png())))
    assert detail == "nothing to predict: a.png: the model's scores hold NaN or infinite values"


def test_long_and_empty_texts(api: TestClient, models: Models) -> None:
    data = _ok(api, models.text, json={"texts": ["who is it", "x" * 500, "   "]})
    assert [i["error"] for i in data["items"]] == [
        None,
        "longer than 200 characters (500)",
        "empty text",
    ]
    assert len(data["items"][1]["text"]) <= 201


# ---------------------------------------------------------------- bad requests


def test_a_text_file_named_png_alone_is_a_422_naming_it(api: TestClient, models: Models) -> None:
    detail = _error(api, models.image, 422, files=_files(("report.png", b"%PDF-1.4 secret")))
    assert detail == "nothing to predict: report.png: not a PNG, JPEG, WebP, GIF, BMP or TIFF image"


def test_too_many_files(api: TestClient, models: Models) -> None:
    files = _files(*((f"{i}.png", _png((4, 4), i)) for i in range(LIMITS.upload_files + 1)))
    assert _error(api, models.image, 422, files=files) == "too many files: at most 6 in one request"


def test_too_large_a_request_is_a_413(api: TestClient, models: Models) -> None:
    files = _files(*((f"{i}.png", b"\0" * 290_000) for i in range(6)))  # 6 x 290 kB > 1.5 MB
    detail = _error(api, models.image, 413, files=files)
    assert detail == f"request body larger than {LIMITS.upload_request_bytes} bytes"

    # streamed without a Content-Length: counted as it comes
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"\0" * 100_000

    answer = api.post(
        f"/api/models/{models.image}/predict",
        content=chunks(),
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert answer.status_code == 413


def test_other_routes_keep_their_small_body_limit(api: TestClient, models: Models) -> None:
    body = b"{" + b" " * (LIMITS.max_body_bytes + 10) + b"}"
    answer = api.post(
        "/api/evaluations", content=body, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 413
    # the same size is fine for the upload route (and read as a bad multipart body, not a 413)
    assert LIMITS.max_body_bytes + 12 < LIMITS.upload_request_bytes
    answer = api.post(
        f"/api/models/{models.image}/predict",
        content=body,
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert answer.status_code == 422


def test_unknown_and_non_runnable_versions(api: TestClient, models: Models) -> None:
    assert _error(api, 999_999, 404, files=_files(("a.png", _png()))).startswith("model version")
    assert api.get("/api/models/999999/predict").status_code == 404
    detail = _error(api, models.predictions_only, 422, files=_files(("a.png", _png())))
    assert "registered from a predictions file" in detail
    info = api.get(f"/api/models/{models.predictions_only}/predict").json()
    assert info["runnable"] is False and "predictions file" in info["reason"]
    detail = _error(api, models.table, 422, files=_files(("a.png", _png())))
    assert "takes table inputs" in detail
    assert _error(api, 2**63, 422, files=_files(("a.png", _png()))).startswith("version_id")


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({}, "send multipart/form-data"),
        ({"files": {"other": ("a.txt", b"x")}}, "unknown field 'other'"),
        ({"data": {"text": "   \n  "}}, "nothing to predict: send image files"),
        (
            {"data": {"text": "hello"}, "files": _files(("a.png", _png()))},
            "files or text, not both",
        ),
        ({"json": {"texts": []}}, "'texts' is empty"),
        ({"json": {"texts": "one"}}, "texts: Input should be a valid array"),
        ({"json": {"text": ["a"]}}, 'expected {"texts": [...]}'),
        ({"content": b"\xff{", "headers": {"content-type": "application/json"}}, "expected"),
        ({"data": {"text": "\n".join(["w"] * 9)}}, "too many texts: at most 8"),
        (
            {
                "content": b"--x\r\nbroken",
                "headers": {"content-type": "multipart/form-data; boundary=x"},
            },
            "",
        ),
    ],
)
def test_empty_and_malformed_requests(
    api: TestClient, models: Models, kwargs: dict, words: str
) -> None:
    detail = _error(api, models.text, 422, **kwargs)
    assert words in detail


def test_media_must_fit_the_model(api: TestClient, models: Models) -> None:
    assert _error(api, models.text, 422, files=_files(("a.png", _png()))) == (
        f"model version {models.text} takes texts, not images"
    )
    assert _error(api, models.image, 422, data={"text": "hello"}) == (
        f"model version {models.image} takes image files, not texts"
    )
    # a plain form field under 'files' is not a file
    detail = _error(api, models.image, 422, data={"files": "not a file"})
    assert detail == "nothing to predict: file 1: not a file upload"


# ---------------------------------------------------------------- bounds


def test_busy_server_answers_503_with_retry_after(api: TestClient, models: Models) -> None:
    predictor = predictor_of(api.app.state)  # type: ignore[attr-defined]
    full = LIMITS.predict_workers + LIMITS.predict_queue
    predictor.in_flight += full
    try:
        answer = api.post(f"/api/models/{models.image}/predict", files=_files(("a.png", _png())))
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "2"
        assert "busy" in answer.json()["detail"]
    finally:
        predictor.in_flight -= full
    _ok(api, models.image, files=_files(("a.png", _png())))


def test_loaded_runners_are_bounded(api: TestClient, models: Models) -> None:
    predictor = predictor_of(api.app.state)  # type: ignore[attr-defined]
    for version in (models.image, models.detection, models.multilabel, models.image):
        _ok(api, version, files=_files(("a.png", _png())))
        assert len(predictor.runners) <= LIMITS.cached_runners
    keys = [key[0] for key in predictor.runners]
    assert keys == [models.multilabel, models.image]


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (
            MissingExtraError("m.xml: OpenVINO models need the 'openvino' extra"),
            "m.xml: OpenVINO models need the 'openvino' extra",
        ),
        (RuntimeError("[ONNXRuntimeError] : 1 : FAIL : bad graph\nmore"), "could not be loaded"),
    ],
)
def test_a_model_that_cannot_load_is_a_422(
    models: Models, monkeypatch: pytest.MonkeyPatch, error: Exception, expected: str
) -> None:
    app = create_app(models.home, limits=LIMITS)

    def fail(version_id: int, **_: object) -> None:
        raise error

    monkeypatch.setattr(app.state.workspace, "load_model_runner", fail)
    with TestClient(app, base_url=BASE_URL) as client:
        answer = client.post(f"/api/models/{models.image}/predict", files=_files(("a.png", _png())))
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert expected in detail and "\n" not in detail
