"""A tiny deterministic detection set: coloured shapes on PNG images plus a noisy detector's output.

Used by the demo and the browser tests. The detector misses some objects, jitters boxes, confuses
classes now and then, fires on background and on the crowd regions, with a realistic score spread.

>>> import tempfile, pathlib
>>> gt, dt = make_shapes_dataset(pathlib.Path(tempfile.mkdtemp()), n_images=4)
>>> gt.name, dt.name
('instances.json', 'detections.json')
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import orjson
from PIL import Image, ImageDraw

__all__ = ["make_shapes_dataset"]

_COLOURS = [(220, 60, 60), (60, 160, 70), (60, 90, 220), (230, 170, 40), (160, 70, 200)]


def _draw(draw: ImageDraw.ImageDraw, kind: int, box: list[float], colour: tuple[int, ...]) -> None:
    x, y, w, h = box
    if kind % 3 == 0:
        draw.ellipse([x, y, x + w, y + h], fill=colour)
    elif kind % 3 == 1:
        draw.rectangle([x, y, x + w, y + h], fill=colour)
    else:
        draw.polygon([(x + w / 2, y), (x + w, y + h), (x, y + h)], fill=colour)


def make_shapes_dataset(
    root: Path,
    n_images: int = 60,
    seed: int = 0,
    classes: tuple[str, ...] = ("circle", "square", "triangle"),
) -> tuple[Path, Path]:
    """Write ``root/images/*.png``, ``root/instances.json`` (COCO) and ``root/detections.json``.

    Returns ``(gt_path, results_path)``. Same arguments, same bytes.
    """
    root = Path(root)
    (root / "images").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    width, height = 160, 120
    k = len(classes)
    images: list[dict[str, Any]] = []
    anns: list[dict[str, Any]] = []
    dets: list[tuple[int, int, list[Any], float]] = []
    for i in range(n_images):
        img = Image.new("RGB", (width, height), tuple(int(v) for v in rng.integers(200, 250, 3)))
        draw = ImageDraw.Draw(img)
        name = f"images/shape_{i:04d}.png"
        images.append({"id": i + 1, "file_name": name, "width": width, "height": height})
        objs = []
        if i % 12 == 5:  # a crowd region: a cluster of small shapes annotated once
            cx, cy = rng.uniform(10, 80), rng.uniform(10, 50)
            c = int(rng.integers(k))
            for _ in range(6):
                bx = [cx + rng.uniform(0, 50), cy + rng.uniform(0, 40), 8.0, 8.0]
                _draw(draw, c, bx, _COLOURS[c % len(_COLOURS)])
            objs.append((c, [float(cx), float(cy), 58.0, 48.0], 1))
        for _ in range(int(rng.integers(1, 5))):
            c = int(rng.integers(k))
            s = float(rng.uniform(12, 48))
            w, h = s * rng.uniform(0.8, 1.2), s * rng.uniform(0.8, 1.2)
            x, y = rng.uniform(0, width - w), rng.uniform(0, height - h)
            box = [round(float(x), 1), round(float(y), 1), round(float(w), 1), round(float(h), 1)]
            _draw(draw, c, box, _COLOURS[c % len(_COLOURS)])
            objs.append((c, box, 0))
        img.save(root / name, optimize=False, compress_level=1)
        for c, box, crowd in objs:
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i + 1,
                    "category_id": c + 1,
                    "bbox": box,
                    "area": round(box[2] * box[3], 2),
                    "iscrowd": crowd,
                }
            )
            if crowd:
                for _ in range(int(rng.integers(1, 3))):
                    sub = [box[0] + rng.uniform(0, 40), box[1] + rng.uniform(0, 30), 10.0, 10.0]
                    dets.append((i + 1, c, sub, float(rng.uniform(0.2, 0.7))))
                continue
            if rng.random() < 0.12:  # missed
                continue
            j = rng.normal(0, 0.07, 4) * [box[2], box[3], box[2], box[3]]
            jb = [box[0] + j[0], box[1] + j[1], max(box[2] + j[2], 2.0), max(box[3] + j[3], 2.0)]
            confused = rng.random() < 0.12
            pc = int((c + rng.integers(1, k)) % k) if confused and k > 1 else c
            score = rng.beta(2, 4) if confused else rng.beta(5, 1.6)
            dets.append((i + 1, pc, jb, float(score)))
            if rng.random() < 0.08:  # a duplicate, lower score
                dets.append((i + 1, pc, [v + 1.5 for v in jb], float(score * 0.6)))
        for _ in range(int(rng.poisson(0.8))):  # background false positives
            w, h = rng.uniform(8, 40, 2)
            fb = [rng.uniform(0, width - w), rng.uniform(0, height - h), w, h]
            dets.append((i + 1, int(rng.integers(k)), fb, float(rng.beta(1.5, 5))))
    gt = {
        "info": {"description": "Assay shapes demo"},
        "images": images,
        "annotations": anns,
        "categories": [{"id": c + 1, "name": n} for c, n in enumerate(classes)],
    }
    results = [
        {
            "image_id": im,
            "category_id": c + 1,
            "bbox": [round(float(v), 2) for v in b],
            "score": round(s, 4),
        }
        for im, c, b, s in dets
    ]
    gt_path, dt_path = root / "instances.json", root / "detections.json"
    gt_path.write_bytes(orjson.dumps(gt, option=orjson.OPT_INDENT_2))
    dt_path.write_bytes(orjson.dumps(results))
    return gt_path, dt_path
