"""The image demo: small generated pictures of shapes and a real classifier trained on them.

Each picture is a 48 x 48 PNG of one shape drawn with Pillow at a random place, size, colour and
rotation, with noise and clutter, so the task is learnable but not trivial. A logistic regression on
downsampled pixels is trained on a training split at demo time and scores a held-out ImageFolder.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SHAPES = ("circle", "square", "triangle", "cross", "ring", "star")
SIZE = 48


def _draw(shape: str, rng: np.random.Generator) -> Image.Image:
    bg = tuple(int(v) for v in rng.integers(0, 90, 3))
    img = Image.new("RGB", (SIZE, SIZE), bg)
    d = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(0, 4))):  # clutter
        x, y = rng.integers(0, SIZE, 2)
        d.line(
            (int(x), int(y), int(x + rng.integers(-12, 12)), int(y + rng.integers(-12, 12))),
            fill=tuple(int(v) for v in rng.integers(60, 200, 3)),
            width=1,
        )
    colour = tuple(int(v) for v in rng.integers(120, 256, 3))
    r = float(rng.uniform(7, 16))
    cx, cy = (float(v) for v in rng.uniform(r + 2, SIZE - r - 2, 2))
    angle = float(rng.uniform(0, 2 * math.pi))

    def poly(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        c, s = math.cos(angle), math.sin(angle)
        return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in points]

    if shape == "circle":
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
    elif shape == "ring":
        d.ellipse((cx - r, cy - r, cx + r, cy + r), outline=colour, width=max(2, int(r / 3)))
    elif shape == "square":
        d.polygon(poly([(-r, -r), (r, -r), (r, r), (-r, r)]), fill=colour)
    elif shape == "triangle":
        d.polygon(poly([(0, -r), (r * 0.87, r * 0.5), (-r * 0.87, r * 0.5)]), fill=colour)
    elif shape == "cross":
        w = r / 3
        d.polygon(poly([(-w, -r), (w, -r), (w, r), (-w, r)]), fill=colour)
        d.polygon(poly([(-r, -w), (r, -w), (r, w), (-r, w)]), fill=colour)
    else:  # star
        pts = [
            (
                math.cos(k * math.pi / 5 - math.pi / 2) * (r if k % 2 == 0 else r * 0.45),
                math.sin(k * math.pi / 5 - math.pi / 2) * (r if k % 2 == 0 else r * 0.45),
            )
            for k in range(10)
        ]
        d.polygon(poly(pts), fill=colour)
    img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 1.2))))
    arr = np.asarray(img, dtype=np.int16) + rng.integers(-25, 26, (SIZE, SIZE, 3))
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _features(img: Image.Image) -> np.ndarray:
    g = (
        np.asarray(img.convert("L").resize((24, 24), Image.Resampling.BILINEAR), dtype=np.float32)
        / 255.0
    )
    gx, gy = np.gradient(g)
    return np.concatenate([g.ravel(), np.hypot(gx, gy).ravel()])


def make_shape_images(
    folder: Path, *, n_train: int = 2000, n_test: int = 300, seed: int = 0
) -> tuple[Path, Path]:
    """Draw a train and a test set, train a classifier, write the test set as an ImageFolder tree
    (``folder/images/<class>/...png``) and the classifier's scores as ``folder/image_predictions.csv``.

    Returns (ImageFolder root, predictions CSV).
    """
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    train_y = rng.integers(0, len(SHAPES), n_train)
    x_train = np.stack([_features(_draw(SHAPES[k], rng)) for k in train_y])
    model = LogisticRegression(max_iter=300, C=0.5)
    model.fit(x_train, train_y)

    root = folder / "images"
    test_y = rng.integers(0, len(SHAPES), n_test)
    ids, feats = [], []
    for i, k in enumerate(test_y):
        img = _draw(SHAPES[k], rng)
        rel = f"{SHAPES[k]}/{i:05d}.png"
        (root / SHAPES[k]).mkdir(parents=True, exist_ok=True)
        img.save(root / rel)
        ids.append(rel)
        feats.append(_features(img))
    proba = model.predict_proba(np.stack(feats))
    pred_path = folder / "image_predictions.csv"
    with pred_path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", *(SHAPES[c] for c in model.classes_)])
        for rel, p in zip(ids, proba, strict=True):
            w.writerow([rel, *(f"{v:.6f}" for v in p)])
    return root, pred_path
