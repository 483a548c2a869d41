"""scikit-learn pipelines saved with skops: tables, texts, images; the trusted-types check."""

from __future__ import annotations

import numpy as np
import pytest
import skops.io as sio
from PIL import Image
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from assay.errors import InputError
from assay.runners import load_batch, load_runner, run_images, run_texts


def test_table_pipeline_matches_predict_proba(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 5))
    y = np.array(["low", "mid", "high"])[rng.integers(0, 3, size=60)]
    pipe = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    sio.dump(pipe, tmp_path / "tab.skops")
    runner = load_runner(tmp_path / "tab.skops")
    info = runner.describe()
    assert info.backend == "skops" and info.media == "table" and info.input_shape == (5,)
    assert info.classes == ("high", "low", "mid")  # the estimator's classes_
    np.testing.assert_allclose(runner.predict(x[:7]), pipe.predict_proba(x[:7]))


def test_text_pipeline(tmp_path):
    texts = [
        "what is the capital of france",
        "who wrote hamlet",
        "where is the nile",
        "who painted the mona lisa",
        "where is mount everest",
        "what is the speed of light",
    ]
    y = ["what", "who", "where", "who", "where", "what"]
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(texts, y)
    sio.dump(pipe, tmp_path / "trec.skops")
    runner = load_runner(tmp_path / "trec.skops")
    assert runner.describe().media == "text"
    res = run_texts(runner, texts, batch_size=4)
    np.testing.assert_allclose(res.scores, pipe.predict_proba(texts))
    assert res.classes == ("what", "where", "who")


def test_image_pipeline_flattens_pixels(tmp_path):
    rng = np.random.default_rng(1)
    imgs = rng.integers(0, 256, size=(12, 6, 6), dtype=np.uint8)
    paths = []
    for i, im in enumerate(imgs):
        Image.fromarray(im, mode="L").save(tmp_path / f"{i}.png")
        paths.append(tmp_path / f"{i}.png")
    x = imgs.reshape(12, -1) / 255.0
    pipe = LogisticRegression().fit(x, np.arange(12) % 2)
    sio.dump(pipe, tmp_path / "digits.skops")
    runner = load_runner(tmp_path / "digits.skops", size=(6, 6), channels="L")
    batch, _ = load_batch(paths, runner.spec)
    np.testing.assert_allclose(runner.predict(batch), pipe.predict_proba(x), rtol=1e-6)
    res = run_images(runner, paths, batch_size=5)
    np.testing.assert_allclose(res.scores, pipe.predict_proba(x), rtol=1e-6)


class Sneaky(ClassifierMixin, BaseEstimator):
    def fit(self, x, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, x):
        return np.full(len(x), self.classes_[0])


def test_untrusted_types_are_refused(tmp_path):
    model = Sneaky().fit(np.zeros((2, 1)), [0, 1])
    sio.dump(model, tmp_path / "sneaky.skops")
    with pytest.raises(InputError) as err:
        load_runner(tmp_path / "sneaky.skops")
    message = str(err.value)
    assert message.startswith(str(tmp_path / "sneaky.skops"))
    assert "refusing untrusted types" in message and "Sneaky" in message


def test_functions_in_a_pipeline_are_refused(tmp_path):
    from sklearn.datasets import load_iris
    from sklearn.preprocessing import FunctionTransformer

    pipe = make_pipeline(FunctionTransformer(load_iris), LogisticRegression())
    sio.dump(pipe, tmp_path / "fn.skops")
    with pytest.raises(InputError, match=r"refusing untrusted types sklearn.datasets.*load_iris"):
        load_runner(tmp_path / "fn.skops")


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 truncated zip", b"\x80\x04pickle"])
def test_not_a_skops_file(tmp_path, content):
    path = tmp_path / "bad.skops"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        load_runner(path)
    assert str(err.value).startswith(f"{path}: not a skops file") and "\n" not in str(err.value)
