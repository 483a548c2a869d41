"""Random COCO cases and a silenced pycocotools oracle, shared by the detection tests."""

from __future__ import annotations

import contextlib
import copy
import io

import numpy as np


def random_case(
    seed: int,
    *,
    n_images: int = 12,
    n_classes: int = 4,
    max_gt: int = 8,
    crowd: float = 0.08,
    extra_dets: int = 0,
    tie_decimals: int | None = 1,
    empty_results: bool = False,
) -> tuple[dict, list]:
    """A COCO gt dict and results list with crowd, ties, tiny boxes, empty images and classes."""
    rng = np.random.default_rng(seed)
    img_ids = rng.permutation(np.arange(1, 10 * n_images, 7))[:n_images]
    cat_ids = rng.permutation(np.arange(2, 2 + 3 * (n_classes + 1), 3))[: n_classes + 1]
    images = [{"id": int(i), "file_name": f"{i}.jpg", "width": 640, "height": 480} for i in img_ids]
    cats = [{"id": int(c), "name": f"c{c}"} for c in cat_ids]
    used_cats = cat_ids[:-1]  # the last category never has ground truth
    anns, dets = [], []
    aid = 1
    for k, im in enumerate(img_ids):
        ngt = 0 if k % 5 == 4 else int(rng.integers(0, max_gt + 1))
        for _ in range(ngt):
            scale = rng.choice([4.0, 20.0, 60.0, 150.0])
            w, h = rng.uniform(0.3, 1.0, 2) * scale
            x, y = rng.uniform(0, 400, 2)
            c = int(rng.choice(used_cats))
            is_crowd = int(rng.random() < crowd)
            area = float(w * h * rng.uniform(0.5, 1.0))
            anns.append(
                {
                    "id": aid,
                    "image_id": int(im),
                    "category_id": c,
                    "bbox": [float(x), float(y), float(w), float(h)],
                    "area": area,
                    "iscrowd": is_crowd,
                }
            )
            aid += 1
            for _ in range(int(rng.integers(0, 3))):
                j = rng.normal(0, 0.15, 4) * [w, h, w, h]
                cc = c if rng.random() < 0.8 else int(rng.choice(cat_ids))
                dets.append(
                    [
                        int(im),
                        cc,
                        [
                            float(x + j[0]),
                            float(y + j[1]),
                            float(max(w + j[2], 0.5)),
                            float(max(h + j[3], 0.5)),
                        ],
                    ]
                )
        nfp = int(rng.integers(0, 4)) + (extra_dets if k % 3 == 0 else 0)
        for _ in range(nfp):
            w, h = rng.uniform(1, 120, 2)
            x, y = rng.uniform(0, 400, 2)
            dets.append(
                [int(im), int(rng.choice(cat_ids)), [float(x), float(y), float(w), float(h)]]
            )
    order = rng.permutation(len(dets))
    results = []
    for i in order:
        s = float(rng.random())
        if tie_decimals is not None:
            s = round(s, tie_decimals)
        im, c, b = dets[i]
        results.append({"image_id": im, "category_id": c, "bbox": b, "score": s})
    if empty_results:
        results = []
    return {"images": images, "annotations": anns, "categories": cats}, results


def pycoco(gt: dict, results: list):
    """Run pycocotools COCOeval silently; returns the COCOeval object."""
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        cg = COCO()
        cg.dataset = copy.deepcopy(gt)
        cg.createIndex()
        cd = cg.loadRes(copy.deepcopy(results)) if results else COCO()
        if not results:
            cd.dataset = {"images": gt["images"], "categories": gt["categories"], "annotations": []}
            cd.createIndex()
        ev = COCOeval(cg, cd, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return ev


def test_random_case_is_deterministic() -> None:
    assert random_case(1) == random_case(1)
