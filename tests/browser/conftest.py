"""Browser tests: a seeded workspace, `assay serve` on a free port, and Debian's chromium.

The workspace is seeded once per session with ``assay.demo.seed.seed_workspace`` (an image
classification, a text classification and a detection evaluation) plus what a first user brings
(:func:`seed_first_user`): a plain score table (no text, no image; long class names, metadata
columns), a multi-label table and a detection set evaluated with ``images_root`` (``--images``).
Each test saves a full-page screenshot under ``test-artifacts/screens/``.
"""

from __future__ import annotations

import csv
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STATIC_INDEX = REPO / "src" / "assay" / "server" / "static" / "index.html"
SCREENS = REPO / "test-artifacts" / "screens"
CHROMIUM = Path(os.environ.get("ASSAY_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    message = f"chromium not found at {CHROMIUM} (install Debian's chromium package, or set ASSAY_CHROMIUM)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


# Long names that share their start: the matrix, the table and the feed must keep them apart.
TABLE_CLASSES = (
    "vehicle/automobile/sedan_compact",
    "vehicle/automobile/sedan_midsize",
    "vehicle/automobile/suv_fullsize",
    "vehicle/two_wheeler/motorcycle",
    "vehicle/two_wheeler/bicycle_electric",
)
MULTILABEL_CLASSES = ("indoor", "person", "animal", "vehicle")
DETECTION_CLASSES = (
    "geometric-primitive/round/circle",
    "geometric-primitive/polygon/square",
    "geometric-primitive/polygon/triangle",
)


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def make_score_table(root: Path) -> tuple[Path, Path]:
    """A plain score table: ``id, label`` + metadata columns, and a wide score file.

    Class 0 has 250 samples, one of them predicted as class 2 (a Row % of 0.4 %, shown "<1%") and
    two below the 0.5 threshold; the last class is never predicted (macro precision over 4 of 5).
    """
    import numpy as np

    rng = np.random.default_rng(7)
    root.mkdir(parents=True, exist_ok=True)
    k = len(TABLE_CLASSES)
    plan: list[tuple[int, int, float]] = []  # (actual, predicted, confidence)
    plan += [(0, 0, 0.0)] * 247 + [(0, 2, 0.0)] + [(0, 0, 0.3)] * 2
    plan += [(1, 1, 0.0)] * 45 + [(1, 0, 0.0)] * 15
    plan += [(2, 2, 0.0)] * 40 + [(2, 1, 0.0)] * 10
    plan += [(3, 3, 0.0)] * 25 + [(3, 2, 0.0)] * 5
    plan += [(4, 3, 0.0)] * 10
    order = rng.permutation(len(plan))
    gt_rows, pred_rows = [], []
    for n, i in enumerate(order):
        actual, predicted, conf = plan[i]
        c = conf or float(rng.uniform(0.55, 0.98))
        rest = rng.dirichlet(np.ones(k - 1)) * (1 - c) * 0.95
        scores = np.insert(rest, predicted, 0.0)
        scores[predicted] = c
        if predicted != 4:
            scores[4] = min(scores[4], 0.02)
        sid = f"rec-{n:04d}"
        gt_rows.append(
            [
                sid,
                TABLE_CLASSES[actual],
                ["north", "south", "east"][n % 3],
                round(float(rng.uniform(1, 4)), 2),
            ]
        )
        pred_rows.append([sid, *(round(float(x), 5) for x in scores)])
    gt = _write_csv(root / "vehicles_gt.csv", ["id", "label", "site", "camera_height_m"], gt_rows)
    pred = _write_csv(root / "vehicles_scores.csv", ["id", *TABLE_CLASSES], pred_rows)
    return gt, pred


def make_multilabel_table(root: Path) -> tuple[Path, Path]:
    """``id, labels`` (``|``-separated) and a wide score file for four tags."""
    import numpy as np

    rng = np.random.default_rng(11)
    root.mkdir(parents=True, exist_ok=True)
    gt_rows, pred_rows = [], []
    for n in range(200):
        tags = [c for c in MULTILABEL_CLASSES if rng.random() < 0.35] or [MULTILABEL_CLASSES[n % 4]]
        scores = [
            float(rng.uniform(0.35, 1.0)) if c in tags else float(rng.uniform(0.0, 0.6))
            for c in MULTILABEL_CLASSES
        ]
        gt_rows.append([f"photo-{n:03d}", "|".join(tags)])
        pred_rows.append([f"photo-{n:03d}", *(round(x, 4) for x in scores)])
    gt = _write_csv(root / "tags_gt.csv", ["id", "labels"], gt_rows)
    pred = _write_csv(root / "tags_scores.csv", ["id", *MULTILABEL_CLASSES], pred_rows)
    return gt, pred


def seed_first_user(home: Path) -> dict[str, int]:
    """What a first user brings, evaluated and stored as ``assay evaluate`` would:
    {"table", "multilabel", "multilabel_b", "detection_images", "detection_fewer",
    "folds"} -> evaluation id."""
    from assay.demo.shapes import make_shapes_dataset
    from assay.evaluation.run import evaluate_files
    from assay.service.runs import save_run
    from assay.store import Workspace

    data = home / "first-user"
    ws = Workspace(home)
    ids: dict[str, int] = {}
    gt, pred = make_score_table(data / "table")
    run = evaluate_files(gt, pred, threshold=0.5)
    ids["table"] = save_run(
        ws,
        run,
        dataset="vehicles",
        model="tabular-gbm",
        name="Vehicle types (score table)",
        params={"threshold": 0.5},
    ).id
    gt, pred = make_multilabel_table(data / "multilabel")
    run = evaluate_files(gt, pred, threshold=0.5)
    ids["multilabel"] = save_run(
        ws,
        run,
        dataset="photo-tags",
        model="tagger",
        name="Photo tags (multi-label)",
        params={"threshold": 0.5},
    ).id
    # a second tagger on the same photos (its scores blurred): a multi-label pair to compare
    rows = list(csv.reader(pred.open()))
    blurred = [[r[0], *(round(0.5 + (float(v) - 0.5) * 0.6, 4) for v in r[1:])] for r in rows[1:]]
    pred_b = _write_csv(data / "multilabel" / "tags_scores_b.csv", rows[0], blurred)
    run = evaluate_files(gt, pred_b, threshold=0.5)
    ids["multilabel_b"] = save_run(
        ws,
        run,
        dataset="photo-tags",
        model="tagger-blurred",
        name="Photo tags, blurred tagger",
        params={"threshold": 0.5},
    ).id
    # COCO file_name values hold a subfolder ("images/shape_0000.png"); --images names that folder.
    root = data / "detection"
    gt, pred = make_shapes_dataset(root, n_images=24, seed=3, classes=DETECTION_CLASSES)
    run = evaluate_files(gt, pred, task="detection", images_root=root / "images")
    ids["detection_images"] = save_run(
        ws,
        run,
        dataset="long-shapes",
        model="noisy-detector-long",
        name="Long-named shapes (--images)",
        params={"iou": 0.5, "score": 0.0},
    ).id
    # the same images under a weaker detector (half the first class's boxes dropped): a pair to
    # compare, and a dataset version with two evaluations to rank
    import json

    fewer = root / "fewer.json"
    boxes = json.loads(Path(pred).read_text())
    first = min(d["category_id"] for d in boxes)
    fewer.write_text(
        json.dumps([d for i, d in enumerate(boxes) if not (d["category_id"] == first and i % 2)])
    )
    run = evaluate_files(gt, fewer, task="detection", images_root=root / "images")
    ids["detection_fewer"] = save_run(
        ws,
        run,
        dataset="long-shapes",
        model="noisy-detector-fewer",
        name="Long-named shapes, fewer boxes",
        params={"iou": 0.5, "score": 0.0},
    ).id
    # five-fold cross-validation of the score table: a `fold` column in the ground truth
    gt, pred = make_score_table(data / "folds")
    rows = list(csv.reader(gt.open()))
    _write_csv(gt, [*rows[0], "fold"], [[*r, f"fold-{n % 5 + 1}"] for n, r in enumerate(rows[1:])])
    run = evaluate_files(gt, pred, threshold=0.5)
    ids["folds"] = save_run(
        ws,
        run,
        dataset="vehicles-cv",
        model="tabular-gbm-cv",
        name="Vehicle types, 5-fold CV",
        params={"threshold": 0.5},
    ).id
    return ids


@pytest.fixture(scope="session")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    """A temporary ASSAY_HOME filled by the demo seed and :func:`seed_first_user`: key -> id."""
    _require_chromium()
    if not STATIC_INDEX.exists():
        pytest.fail(
            f"{STATIC_INDEX.relative_to(REPO)} is missing: build the web UI first "
            "(`make web`, or `cd frontend && npm ci && npm run build`)."
        )
    from assay.demo.seed import seed_workspace

    home = tmp_path_factory.mktemp("assay-home")
    ids = seed_workspace(home)
    assert {"image", "text", "detection"} <= set(ids), ids
    ids.update(seed_first_user(home))
    return home, ids


@pytest.fixture(scope="session")
def ids(seeded: tuple[Path, dict[str, int]]) -> dict[str, int]:
    return seeded[1]


@contextmanager
def serve(
    home: Path, host: str = "127.0.0.1", log_name: str = "server.log"
) -> Iterator[tuple[str, Path]]:
    """`assay serve --host HOST` on a free port with ASSAY_HOME=home, once /api/health answers:
    (the http://127.0.0.1:<port> URL, the file holding its stdout and stderr)."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "ASSAY_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("ASSAY_TOKEN", None)
    log = home / log_name
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "assay.cli", "serve", "--host", host, "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"assay serve exited with {proc.returncode}:\n{log.read_text()}")
            try:
                with urllib.request.urlopen(f"{url}/api/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"assay serve did not answer /api/health in 60 s:\n{log.read_text()}")
            time.sleep(0.2)
        yield url, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def server_url(seeded: tuple[Path, dict[str, int]]) -> Iterator[str]:
    """`assay serve` on a free 127.0.0.1 port, with ASSAY_HOME pointing at the seeded workspace."""
    home, _ = seeded
    with serve(home) as (url, _log):
        yield url


@pytest.fixture(scope="session")
def browser(seeded: tuple[Path, dict[str, int]]) -> Iterator[object]:
    from playwright.sync_api import expect, sync_playwright

    # The first answer of an evaluation loads its results from disk (and compiles kernels); an
    # expectation waits until it holds, 30 s at most (a loaded machine is slow, never wrong).
    expect.set_options(timeout=30_000)
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def settle(page) -> None:  # type: ignore[no-untyped-def]
    """Before a screenshot: answers in flight landed, thumbnails loaded, page scrolled to the top."""
    try:
        page.wait_for_load_state("networkidle", timeout=5_000)
        page.wait_for_function(
            "!document.querySelector('[data-busy=true]') && "
            "[...document.images].every(i => i.complete)",
            timeout=5_000,
        )
    except Exception:  # noqa: BLE001 - a screenshot of a busy page is still worth having
        pass
    # A smooth scroll started by a click may still run: stop it, then scroll to the top again.
    for _ in range(2):
        page.evaluate(
            "document.documentElement.style.scrollBehavior = 'auto'; window.scrollTo(0, 0)"
        )
        page.wait_for_timeout(150)


@pytest.fixture()
def page(browser, server_url: str, request: pytest.FixtureRequest) -> Iterator[object]:  # type: ignore[no-untyped-def]
    """A fresh page at 1440x900; a full-page screenshot named after the test is saved at the end."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, base_url=server_url)
    context.set_default_timeout(30_000)
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield p
        assert not errors, f"JavaScript errors on the page: {errors}"
    finally:
        SCREENS.mkdir(parents=True, exist_ok=True)
        name = request.node.name.removeprefix("test_")
        try:
            settle(p)
            p.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)
        except Exception:  # noqa: BLE001 - a failed screenshot must not hide the test's own error
            pass
        context.close()
