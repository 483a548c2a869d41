"""The embedding map through the API: a PCA map laid out in the background on the first GET (202
with its progress, then 200 with every point), a UMAP job started by POST, nearest neighbours, a
page of a lasso selection, and hostile requests (a huge k, an unknown evaluation, a selection of
10M ids, bad parameters) answered 4xx with nothing stored."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from assay.server.app import create_app
from tests.server.conftest import BASE_URL
from tests.service.embedding_setup import build


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("embeddings-api")
    built = build(root)
    built["ws"].close()  # type: ignore[attr-defined]
    app = create_app(root / "home", data_roots=[root])
    with TestClient(app, base_url=BASE_URL) as client:
        yield {**built, "client": client, "home": root / "home"}


def _wait_map(client: TestClient, url: str, timeout: float = 120.0) -> tuple[dict, list[dict]]:
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        answer = client.get(url)
        assert answer.status_code in (200, 202), answer.text
        body = answer.json()
        if answer.status_code == 200:
            return body, seen
        assert body["status"] in ("running", "missing"), body
        seen.append(body)
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_pca_map_in_the_background_then_cached(setup: dict[str, Any]) -> None:
    client, eid = setup["client"], setup["model_eval"]
    url = f"/api/evaluations/{eid}/embeddings/map?method=pca"
    first = client.get(url)
    assert first.status_code == 202 and first.json()["status"] == "running"
    body, seen = _wait_map(client, url)
    assert body["status"] == "ready" and body["source"] == "model" and body["dims"] == 6
    assert body["n"] == 30 and all(len(body[c]) == 30 for c in ("x", "y", "outcome", "actual"))
    assert {s["stage"] for s in seen} <= {"queued", "embedding", "projecting"}
    # cached: the next answer is at once, and the same
    again = client.get(url)
    assert again.status_code == 200 and again.json()["x"] == body["x"]
    # an operating point changes the outcomes, not the layout
    high = client.get(url + "&threshold=0.99").json()
    assert high["x"] == body["x"] and 2 in high["outcome"]
    assert body["label_error"] is None  # not asked
    marked = client.get(url + "&label_errors=true").json()["label_error"]
    assert marked is None or (len(marked) == 30 and all(isinstance(v, bool) for v in marked))


def test_a_job_started_by_post(setup: dict[str, Any]) -> None:
    # a PCA map with another seed: the same job machinery as a UMAP one (UMAP itself is tested in
    # tests/service: its numba kernels compile for tens of seconds in each process)
    client, eid = setup["client"], setup["scores_eval"]
    request = {"method": "pca", "seed": 1}
    started = client.post(f"/api/evaluations/{eid}/embeddings/maps", json=request)
    assert started.status_code in (200, 202), started.text
    url = f"/api/evaluations/{eid}/embeddings/map?method=pca&seed=1"
    body, _ = _wait_map(client, url)
    assert body["method"] == "pca" and body["source"] == "scores" and body["n"] == 40
    assert body["params"] == {"seed": 1}
    again = client.post(f"/api/evaluations/{eid}/embeddings/maps", json=request)
    assert again.status_code == 200 and again.json()["status"] == "ready"
    umap = client.get(f"/api/evaluations/{eid}/embeddings/map?method=umap&n_neighbors=7")
    assert umap.status_code == 202 and umap.json()["status"] == "missing"  # never started by a GET


def test_neighbours_and_a_selection(setup: dict[str, Any]) -> None:
    client, eid = setup["client"], setup["model_eval"]
    _wait_map(client, f"/api/evaluations/{eid}/embeddings/map")
    near = client.get(f"/api/evaluations/{eid}/embeddings/neighbours?index=3&k=4").json()
    assert [n["index"] for n in near["items"]] and len(near["items"]) == 4
    assert 3 not in [n["index"] for n in near["items"]]
    distances = [n["distance"] for n in near["items"]]
    assert distances == sorted(distances)
    assert near["items"][0]["sample"]["index"] == near["items"][0]["index"]
    assert near["items"][0]["sample"]["media_url"]
    page = client.post(
        f"/api/evaluations/{eid}/embeddings/selection",
        json={"indices": [5, 1, 7], "limit": 2},
    ).json()
    assert page["total"] == 3 and [s["index"] for s in page["items"]] == [5, 1]


def test_hostile_requests_are_4xx(setup: dict[str, Any]) -> None:
    client, eid = setup["client"], setup["model_eval"]
    base = f"/api/evaluations/{eid}/embeddings"
    assert client.get(f"{base}/neighbours?index=0&k=100000000").status_code == 422
    assert client.get(f"{base}/neighbours?index=999999&k=3").status_code == 422
    assert client.get("/api/evaluations/999999/embeddings/map").status_code == 404
    unknown = client.post("/api/evaluations/999999/embeddings/maps", json={"method": "umap"})
    assert unknown.status_code == 404
    assert client.get(f"{base}/map?method=tsne").status_code == 422
    assert client.get(f"{base}/map?method=umap&n_neighbors=100000").status_code == 422
    assert client.get(f"{base}/map?method=pca&min_dist=0.5").status_code == 422
    assert client.get(f"{base}/map?property=../../etc/passwd").status_code in (202, 422)
    bad = client.post(f"{base}/maps", json={"method": "umap", "n_neighbors": 10**9})
    assert bad.status_code == 422
    body = b'{"indices": [' + b"1234567," * 9_999_999 + b"0]}"  # 10M ids
    huge = client.post(
        f"{base}/selection", content=body, headers={"content-type": "application/json"}
    )
    assert huge.status_code in (413, 422)
    over = client.post(f"{base}/selection", json={"indices": [0, 10**6]})
    assert over.status_code == 422 and "not a sample index" in over.text
    # nothing stored for the refused requests: only the maps asked for properly
    folder = setup["home"] / "evaluations" / str(eid)
    assert not [p for p in folder.iterdir() if p.name.startswith(".tmp-")]
