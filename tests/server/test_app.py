"""The app shell: health, OpenAPI and operation ids, error format, the built UI and its fallback."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from assay.server.app import create_app
from tests.server.conftest import BASE_URL, Seeded

EXPECTED = {
    ("get", "/api/health"): "health-health",
    ("get", "/api/evaluations"): "evaluations-list_evaluations",
    ("post", "/api/evaluations"): "evaluations-create_evaluation",
    ("get", "/api/evaluations/{evaluation_id}"): "evaluations-get_evaluation",
    ("delete", "/api/evaluations/{evaluation_id}"): "evaluations-delete_evaluation",
    ("get", "/api/evaluations/{evaluation_id}/labels"): "evaluations-list_labels",
    ("get", "/api/evaluations/{evaluation_id}/labels/{label}"): "evaluations-get_label",
    ("get", "/api/evaluations/{evaluation_id}/confusion"): "evaluations-get_confusion",
    ("get", "/api/evaluations/{evaluation_id}/curves/{kind}"): "evaluations-get_curve",
    ("get", "/api/evaluations/{evaluation_id}/summary"): "evaluations-get_summary",
    ("get", "/api/evaluations/{evaluation_id}/optimal"): "evaluations-get_optimal",
    ("get", "/api/evaluations/{evaluation_id}/samples"): "evaluations-list_samples",
    ("get", "/api/evaluations/{evaluation_id}/samples/{index}"): "evaluations-get_sample",
    ("get", "/api/samples/{sample_id}/media"): "samples-get_media",
    ("get", "/api/samples/{sample_id}/thumbnail"): "samples-get_thumbnail",
    ("get", "/api/datasets"): "datasets-list_datasets",
    ("post", "/api/datasets"): "datasets-create_dataset",
    ("get", "/api/datasets/roots"): "datasets-data_roots",
    ("get", "/api/datasets/{dataset_id}/versions"): "datasets-list_dataset_versions",
    ("get", "/api/models"): "models-list_models",
    ("post", "/api/models"): "models-create_model",
    ("get", "/api/models/{model_id}/versions"): "models-list_model_versions",
    ("get", "/api/models/{version_id}/predict"): "models-predict_info",
    ("post", "/api/models/{version_id}/predict"): "models-predict",
    ("post", "/api/models/versions/{version_id}/optimize"): "models-optimize_version",
    ("post", "/api/models/versions/{version_id}/profile"): "models-profile_version",
    ("get", "/api/models/versions/{version_id}/against-parent"): "models-against_parent",
    ("get", "/api/jobs"): "jobs-list_jobs",
    ("get", "/api/jobs/{job_id}"): "jobs-get_job",
    ("delete", "/api/jobs/{job_id}"): "jobs-cancel_job",
    ("get", "/api/compare"): "compare-compare",
    ("get", "/api/leaderboard"): "compare-leaderboard",
    ("get", "/api/agreement"): "agreement-get_agreement",
    ("get", "/api/agreement/samples"): "agreement-list_agreement_samples",
    ("get", "/api/agreement/samples/{index}"): "agreement-get_agreement_sample",
    ("get", "/api/agreement/images/{index}"): "agreement-get_agreement_image",
    ("get", "/api/evaluations/{evaluation_id}/samples.csv"): "evaluations-export_samples",
    ("get", "/api/metrics"): "metrics-list_metrics",
    ("get", "/api/evaluations/{evaluation_id}/quality"): "quality-quality",
    ("get", "/api/evaluations/{evaluation_id}/quality/bins"): "quality-quality_bins",
    ("get", "/api/evaluations/{evaluation_id}/quality/explore"): "quality-quality_explore",
    (
        "get",
        "/api/evaluations/{evaluation_id}/quality/label-issues",
    ): "quality-quality_label_issues",
    ("get", "/api/evaluations/{evaluation_id}/report"): "reports-download_report",
    ("get", "/api/evaluations/{evaluation_id}/quality/slices"): "quality-quality_slices",
    (
        "get",
        "/api/evaluations/{evaluation_id}/quality/slices/{index}/samples",
    ): "quality-quality_slice_samples",
    ("get", "/api/evaluations/{evaluation_id}/error-types"): "evaluations-get_error_types",
    (
        "get",
        "/api/evaluations/{evaluation_id}/error-types/{error_type}/images",
    ): "evaluations-get_error_images",
    ("get", "/api/evaluations/{evaluation_id}/embeddings/map"): "embeddings-get_map",
    ("post", "/api/evaluations/{evaluation_id}/embeddings/maps"): "embeddings-start_map",
    ("get", "/api/evaluations/{evaluation_id}/embeddings/neighbours"): "embeddings-get_neighbours",
    ("post", "/api/evaluations/{evaluation_id}/embeddings/selection"): "embeddings-selection",
    ("get", "/api/session"): "session-get_session",
    ("post", "/api/session"): "session-create_session",
    ("delete", "/api/session"): "session-delete_session",
}


def test_health(client: TestClient) -> None:
    answer = client.get("/api/health")
    assert answer.status_code == 200
    assert answer.json()["status"] == "ok" and answer.json()["version"]


def test_openapi_has_every_endpoint_with_clean_ids(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    found = {
        (method, path): op["operationId"]
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    }
    assert found == EXPECTED
    assert "EvaluationDetail" in spec["components"]["schemas"]


def test_openapi_module_writes_the_schema(tmp_path: Path) -> None:
    out = tmp_path / "openapi.json"
    proc = subprocess.run(
        [sys.executable, "-m", "assay.server.openapi", str(out)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(out.read_text())["paths"]["/api/health"]


def test_unknown_api_path_is_a_json_404(client: TestClient) -> None:
    answer = client.get("/api/nothing/here")
    assert answer.status_code == 404
    assert answer.json() == {"detail": "no API endpoint /api/nothing/here"}


def test_validation_errors_are_one_line(client: TestClient, seeded: Seeded) -> None:
    answer = client.get(f"/api/evaluations/{seeded.image}/labels?threshold=abc")
    assert answer.status_code == 422
    detail = answer.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and detail.startswith("threshold:")


def test_built_ui_with_fallback(tmp_path: Path, seeded: Seeded) -> None:
    static = tmp_path / "static"
    (static / "assets").mkdir(parents=True)
    (static / "index.html").write_text("<html>assay</html>")
    (static / "assets" / "app.js").write_text("console.log(1)")
    (tmp_path / "secret.txt").write_text("secret")
    with TestClient(create_app(seeded.home, static_dir=static), base_url=BASE_URL) as client:
        assert client.get("/").text == "<html>assay</html>"
        assert client.get("/evaluations/3/confusion").text == "<html>assay</html>"
        asset = client.get("/assets/app.js")
        assert asset.text == "console.log(1)" and "immutable" in asset.headers["cache-control"]
        assert "secret" not in client.get("/..%2Fsecret.txt").text
        assert client.get("/api/evaluations").status_code == 200
        assert client.get("/api/missing").status_code == 404


def test_missing_ui_warns_once_and_api_still_works(tmp_path: Path, seeded: Seeded, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="assay.server"):
        app = create_app(seeded.home, static_dir=tmp_path / "nothing")
    warnings = [r for r in caplog.records if "UI assets missing" in r.getMessage()]
    assert len(warnings) == 1
    with TestClient(app, base_url=BASE_URL) as client:
        answer = client.get("/evaluations")
        assert answer.status_code == 404 and "not built" in answer.json()["detail"]
        assert client.get("/api/health").status_code == 200
