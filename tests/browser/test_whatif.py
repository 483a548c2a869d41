"""What-if in the browser: a detector registered with its model, an image dropped on its page, boxes
drawn and listed, the confidence slider moved until a box disappears and then none is left; a text
file named .png refused on its own card; the evaluation page links to the what-if page."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from tests.runners.models import constant_outputs

from .conftest import SCREENS, settle

pytestmark = pytest.mark.browser

CLASSES = ("car", "person", "traffic light")
# the detector's boxes in its 16 x 16 input, and their scores: always the same for every image
BOXES = np.array([[1.0, 2.0, 8.0, 9.0], [8.0, 5.0, 15.0, 15.0], [2.0, 10.0, 6.0, 15.0]])
SCORES = np.array([0.92, 0.64, 0.31])
LABELS = np.array([0, 1, 2])


@pytest.fixture(scope="module")
def detector(seeded: tuple[Path, dict[str, int]]) -> dict[str, int]:
    """A runnable detector version in the served workspace, and one evaluation of it whose
    F1-optimal confidence is 0.7 (two true boxes at 0.8 and 0.7, a false one at 0.2)."""
    from assay.evaluation.detection import evaluate_detections
    from assay.runners import PreprocessSpec
    from assay.store import Workspace

    home, _ = seeded
    folder = home / "what-if-models"
    folder.mkdir(exist_ok=True)
    path = constant_outputs(
        folder / "street.onnx",
        {"boxes": BOXES, "scores": SCORES, "labels": LABELS},
        shape=(3, 16, 16),
    )
    ws = Workspace(home)
    version = ws.add_model(
        path, name="street-detector", spec=PreprocessSpec(task="detection", classes=CLASSES)
    )
    gt = {
        "images": [{"id": 1, "file_name": "a.png", "width": 100, "height": 100}],
        "annotations": [
            {"id": k + 1, "image_id": 1, "category_id": 1, "bbox": box, "area": 400.0, "iscrowd": 0}
            for k, box in enumerate([[10.0, 10.0, 20.0, 20.0], [60.0, 60.0, 20.0, 20.0]])
        ],
        "categories": [{"id": k + 1, "name": name} for k, name in enumerate(CLASSES)],
    }
    dt = [
        {"image_id": 1, "category_id": 1, "bbox": [10.0, 10.0, 20.0, 20.0], "score": 0.8},
        {"image_id": 1, "category_id": 1, "bbox": [60.0, 60.0, 20.0, 20.0], "score": 0.7},
        {"image_id": 1, "category_id": 1, "bbox": [30.0, 80.0, 10.0, 10.0], "score": 0.2},
    ]
    import pyarrow as pa

    dv = ws.add_dataset_version("street-set", task="detection", samples=pa.table({"id": ["1"]}))
    evaluation = ws.save_evaluation(
        evaluate_detections(gt, dt),
        task="detection",
        name="Street detector on street-set",
        dataset_version_id=dv.id,
        model_version_id=version.id,
    )
    ws.close()
    return {"version": version.id, "evaluation": evaluation.id}


def _street_png() -> str:
    """A 480 x 320 picture, base64."""
    y, x = np.mgrid[0:320, 0:480]
    pixels = np.stack([x * 255 // 480, y * 255 // 320, np.full_like(x, 150)], -1).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return base64.b64encode(buf.getvalue()).decode()


def _drop(page: Page, name: str, b64: str) -> None:
    """Drop a file on the drop zone, as a drag from the desktop does (a DataTransfer drop)."""
    data = page.evaluate_handle(
        """([name, b64]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, { type: "image/png" }));
            return dt;
        }""",
        [name, b64],
    )
    page.get_by_test_id("whatif-drop").dispatch_event("drop", {"dataTransfer": data})


def _shot(page: Page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    settle(page)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)


def _set_confidence(page: Page, value: float) -> None:
    page.get_by_test_id("whatif-threshold-value").fill(str(value))


def test_whatif_drop_an_image_and_move_the_slider(page: Page, detector: dict[str, int]) -> None:
    page.goto(f"/#/models/{detector['version']}/what-if")
    expect(page.get_by_test_id("whatif-title")).to_have_text("What if…")
    expect(page.get_by_test_id("whatif-source")).to_contain_text("Street detector on street-set")
    # the slider starts at the evaluation's F1-optimal confidence
    expect(page.get_by_test_id("whatif-threshold-value")).to_have_value("0.7")

    _drop(page, "street.png", _street_png())
    card = page.get_by_test_id("whatif-card").filter(has_text="street.png")
    expect(card).to_have_attribute("data-state", "done")
    expect(card).to_contain_text("480 × 320")
    boxes = card.get_by_test_id("whatif-box")
    expect(boxes).to_have_count(1)  # only 0.92 reaches 0.70
    expect(boxes.first).to_have_attribute("data-label", "car")

    _set_confidence(page, 0.3)
    expect(boxes).to_have_count(3)
    expect(card.get_by_test_id("whatif-det-item")).to_have_count(3)
    # hovering a detection in the list highlights its box
    card.get_by_test_id("whatif-det-item").nth(1).hover()
    expect(card.locator("[data-testid=whatif-box][data-hover=true]")).to_have_attribute(
        "data-label", "person"
    )
    _shot(page, "whatif_boxes")

    # a text file named .png: refused by content, on its own card; the image's card is untouched
    page.get_by_test_id("whatif-input").set_input_files(
        [
            {
                "name": "notes.png",
                "mimeType": "image/png",
                "buffer": b"meeting notes, not a picture\n",
            }
        ]
    )
    bad = page.get_by_test_id("whatif-card").filter(has_text="notes.png")
    expect(bad.get_by_test_id("whatif-error")).to_have_text(
        "Not a PNG, JPEG, WebP, GIF, BMP or TIFF image"
    )
    expect(boxes).to_have_count(3)

    page.mouse.move(0, 0)
    _set_confidence(page, 0.5)
    expect(boxes).to_have_count(2)  # the 0.31 box disappears
    expect(card.locator("[data-testid=whatif-box][data-label='traffic light']")).to_have_count(0)
    expect(card.get_by_test_id("whatif-no-detections")).to_have_count(0)

    _set_confidence(page, 0.95)
    expect(boxes).to_have_count(0)
    none = card.get_by_test_id("whatif-no-detections")
    expect(none).to_contain_text("Model did not detect any objects for this image")
    # the message is the first thing in the card's body, above the image
    assert none.bounding_box()["y"] < card.get_by_test_id("whatif-image").bounding_box()["y"]  # type: ignore[index]
    assert "conf=0.95" in page.url
    _shot(page, "whatif_none")

    page.get_by_test_id("whatif-reset").click()
    expect(page.get_by_test_id("whatif-threshold-value")).to_have_value("0.7")
    expect(boxes).to_have_count(1)


def test_evaluation_page_links_to_whatif(
    page: Page, detector: dict[str, int], ids: dict[str, int]
) -> None:
    page.goto(f"/#/evaluations/{detector['evaluation']}")
    link = page.get_by_test_id("whatif-link")
    expect(link).to_be_visible()
    expect(link).to_have_text("What if…")
    _shot(page, "whatif_link")
    link.click()
    expect(page).to_have_url(f"{page.url.split('#')[0]}#/models/{detector['version']}/what-if")
    expect(page.get_by_test_id("whatif-drop")).to_be_visible()
    # an evaluation of uploaded predictions has no model to run: no link
    page.goto(f"/#/evaluations/{ids['table']}")
    expect(page.get_by_test_id("eval-title")).to_be_visible()
    expect(page.get_by_test_id("whatif-link")).to_have_count(0)
