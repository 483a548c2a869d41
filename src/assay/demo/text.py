"""The text demo: TREC question classification with a real model trained at demo time.

The TREC questions ship in ``assay/data/trec`` (X. Li and D. Roth, COLING 2002; see the README there).
They are split with a fixed seed, a TF-IDF + logistic regression model is trained on 80 % and scores
the held-out 20 %; the ground truth and the predictions are written as ordinary CSV files, so the demo
goes through the same readers a user's files do.
"""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import numpy as np


def load_trec() -> tuple[list[str], list[str], list[str]]:
    """The TREC questions: (coarse labels, fine labels, texts), in file order."""
    raw = resources.files("assay.data").joinpath("trec/train_5500.label").read_bytes()
    coarse, fine, texts = [], [], []
    for line in raw.decode("latin-1").splitlines():
        if not line.strip():
            continue
        tag, text = line.split(" ", 1)
        c, f = tag.split(":", 1)
        coarse.append(c)
        fine.append(f)
        texts.append(text.strip())
    return coarse, fine, texts


def make_trec_files(
    folder: Path, *, seed: int = 0, test_fraction: float = 0.2
) -> tuple[Path, Path]:
    """Train on a seeded split of TREC and write ``trec_test.csv`` and ``trec_predictions.csv``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    coarse, fine, texts = load_trec()
    n = len(texts)
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    test, train = np.sort(order[:n_test]), order[n_test:]
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)
    x_train = vectorizer.fit_transform([texts[i] for i in train])
    model = LogisticRegression(max_iter=200, C=4.0)
    model.fit(x_train, [coarse[i] for i in train])
    proba = model.predict_proba(vectorizer.transform([texts[i] for i in test]))

    folder.mkdir(parents=True, exist_ok=True)
    gt_path, pred_path = folder / "trec_test.csv", folder / "trec_predictions.csv"
    with gt_path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", "label", "text", "fine_label"])
        for i in test:
            w.writerow([f"q{i:05d}", coarse[i], texts[i], fine[i]])
    with pred_path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["id", *model.classes_])
        for row, i in enumerate(test):
            w.writerow([f"q{i:05d}", *(f"{p:.6f}" for p in proba[row])])
    return gt_path, pred_path
