"""POST /api/datasets reads a ground truth as ``assay datasets add`` does (task, media, default
name), GET /api/datasets says each version's media, GET /api/datasets/roots the allowed folders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from assay.server.app import create_app
from tests.server.conftest import BASE_URL, get_json


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "questions").mkdir(parents=True)
    (root / "questions" / "gt.csv").write_text(
        "id,label,text\nq1,LOC,Where is Paris?\nq2,NUM,How many legs has a spider?\n"
    )
    (root / "scores.csv").write_text("id,label\na,cat\nb,dog\n")
    (root / "tags.csv").write_text("id,labels\np1,indoor|person\np2,animal\n")
    images = root / "pets"
    for label in ("cat", "dog"):
        (images / label).mkdir(parents=True)
        for i in range(2):
            pixels = np.full((8, 8, 3), 40 * i + (0 if label == "cat" else 120), np.uint8)
            Image.fromarray(pixels).save(images / label / f"{i}.png")
    shapes = root / "shapes"
    shapes.mkdir()
    Image.fromarray(np.zeros((20, 30, 3), np.uint8)).save(shapes / "a.png")
    coco = {
        "images": [{"id": 1, "file_name": "a.png", "width": 30, "height": 20}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [1, 1, 5, 5],
                "area": 25,
                "iscrowd": 0,
            }  # fmt: skip
        ],
        "categories": [{"id": 1, "name": "square"}],
    }
    (shapes / "instances.json").write_text(json.dumps(coco))
    return root


@pytest.fixture()
def client(tmp_path: Path, data: Path) -> TestClient:
    return TestClient(create_app(tmp_path / "home", data_roots=[data]), base_url=BASE_URL)


def _post(client: TestClient, **body: object) -> dict:
    answer = client.post("/api/datasets", json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()


def test_registers_each_kind_with_its_task_media_and_default_name(
    client: TestClient, data: Path
) -> None:
    text = _post(client, path=str(data / "questions" / "gt.csv"))
    assert (text["dataset_name"], text["task"], text["media"]) == (
        "questions",
        "classification",
        "text",
    )
    assert text["n_samples"] == 2 and text["new"] is True
    images = _post(client, path=str(data / "pets"), name="pets-val")
    assert (images["dataset_name"], images["media"], images["n_samples"]) == (
        "pets-val",
        "image",
        4,
    )
    table = _post(client, path=str(data / "scores.csv"))
    assert (table["dataset_name"], table["media"]) == ("scores", "table")
    tags = _post(client, path=str(data / "tags.csv"))  # inferred from its labels column
    assert tags["task"] == "multilabel"
    boxes = _post(client, path=str(data / "shapes" / "instances.json"))
    assert (boxes["task"], boxes["media"]) == ("detection", "image")
    again = _post(client, path=str(data / "questions" / "gt.csv"))
    assert again["id"] == text["id"] and again["new"] is False
    listed = get_json(client, "/api/datasets")["items"]
    media = {v["dataset_name"]: v["media"] for d in listed for v in d["versions"]}
    assert media == {
        "questions": "text",
        "pets-val": "image",
        "scores": "table",
        "tags": "table",
        "instances": "image",
    }
    versions = get_json(client, f"/api/datasets/{text['dataset_id']}/versions")["items"]
    assert [v["media"] for v in versions] == ["text"]


def test_a_name_of_another_kind_is_refused_in_one_line(client: TestClient, data: Path) -> None:
    _post(client, path=str(data / "questions" / "gt.csv"), name="mine")
    answer = client.post("/api/datasets", json={"path": str(data / "pets"), "name": "mine"})
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert "mine" in detail and "\n" not in detail


def test_paths_outside_the_roots_and_bad_files_are_422(
    client: TestClient, data: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere.csv"
    outside.write_text("id,label\na,b\n")
    for body in (
        {"path": str(outside)},
        {"path": str(data / "missing.csv")},
        {"path": "relative/gt.csv"},
        {"path": str(data / "shapes" / "instances.json"), "images": str(tmp_path)},
    ):
        answer = client.post("/api/datasets", json=body)
        assert answer.status_code == 422, body
        assert "\n" not in answer.json()["detail"]
    (data / "broken.csv").write_text("no,columns,we,know\n1,2,3,4\n")
    answer = client.post("/api/datasets", json={"path": str(data / "broken.csv")})
    assert answer.status_code == 422 and "broken.csv" in answer.json()["detail"]


def test_roots_are_the_workspace_and_the_data_roots(client: TestClient, data: Path) -> None:
    roots = get_json(client, "/api/datasets/roots")["roots"]
    assert str(data.resolve()) in roots and len(roots) == 2
