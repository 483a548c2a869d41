"""A model's embedding output: named in the spec, checked when the model loads, and read through
the ordinary batch runner (the same preprocessing as its predictions), from a small ONNX model
made here whose hidden layer is an extra output."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest

from assay.errors import InputError
from assay.runners import load_runner, run_arrays, run_texts
from assay.runners.embedding import EmbeddingReader, embedding_output
from assay.runners.spec import PreprocessSpec, spec_from_mapping, spec_to_mapping
from tests.service.embedding_setup import HIDDEN, embedding_model


def test_the_embedding_output_is_read_beside_the_scores(tmp_path: Path) -> None:
    path, w1 = embedding_model(tmp_path / "m.onnx")
    runner = load_runner(path)
    assert embedding_output(runner) == "emb"
    x = np.random.default_rng(0).random((10, 1, 8, 8)).astype(np.float32)
    scores = run_arrays(runner, x, batch_size=4).scores
    assert scores is not None and scores.shape == (10, 3)  # the spec's output_name: probabilities
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-5)
    reader = EmbeddingReader(runner)
    emb = run_arrays(reader, x, batch_size=4).scores
    assert emb is not None and emb.shape == (10, HIDDEN) and emb.dtype == np.float32
    np.testing.assert_allclose(emb, np.maximum(x.reshape(10, -1) @ w1, 0), rtol=1e-5, atol=1e-5)
    assert reader.describe().classes is None


def test_a_spec_naming_no_such_output_is_refused(tmp_path: Path) -> None:
    path, _ = embedding_model(tmp_path / "m.onnx", spec=False)
    with pytest.raises(InputError, match="embedding'. no output named 'pooled'"):
        load_runner(path, size=(8, 8), channels="L", embedding="pooled")
    plain = load_runner(path, size=(8, 8), channels="L", output_name="probs")
    assert embedding_output(plain) is None
    with pytest.raises(InputError, match="names no 'embedding'"):
        EmbeddingReader(plain)


def test_the_spec_field_round_trips_and_is_checked() -> None:
    spec = PreprocessSpec(size=(8, 8), embedding="emb")
    assert spec_from_mapping(spec_to_mapping(spec)) == spec
    with pytest.raises(InputError, match="embedding"):
        PreprocessSpec(embedding="")


def _needs(module: str) -> pytest.MarkDecorator:
    """Skip without the extra, except in CI (which installs every extra: there it fails)."""
    missing = importlib.util.find_spec(module) is None
    if os.environ.get("CI") == "true":
        return pytest.mark.usefixtures()
    return pytest.mark.skipif(missing, reason=f"{module} is not installed")


@_needs("torch")
def test_torchscript_second_tuple_element(tmp_path: Path) -> None:
    import torch

    class Net(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = torch.nn.Linear(64, 5)
            self.head = torch.nn.Linear(5, 3)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            feats = torch.relu(self.body(x.flatten(1)))
            return torch.softmax(self.head(feats), dim=-1), feats

    torch.manual_seed(0)
    net = Net().eval()
    path = tmp_path / "net.pt"
    torch.jit.script(net).save(str(path))
    runner = load_runner(
        path, size=(8, 8), channels="L", classes=["a", "b", "c"], embedding="output_1"
    )
    x = np.random.default_rng(1).random((6, 1, 8, 8)).astype(np.float32)
    emb = run_arrays(EmbeddingReader(runner), x, batch_size=4).scores
    with torch.inference_mode():
        ref = torch.relu(net.body(torch.from_numpy(x).flatten(1))).numpy()
    assert emb is not None
    np.testing.assert_allclose(emb, ref, rtol=1e-5, atol=1e-6)
    scores = run_arrays(runner, x, batch_size=4).scores
    assert scores is not None and scores.shape == (6, 3)


@_needs("transformers")
@pytest.mark.parametrize("pool", ["cls", "mean"])
def test_hugging_face_pooled_hidden_state(tmp_path: Path, pool: str) -> None:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import BertConfig, BertForSequenceClassification, PreTrainedTokenizerFast

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "what", "who", "is", "the", "moon"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
        sep_token="[SEP]",
    )  # fmt: skip
    folder = tmp_path / "clf"
    fast.save_pretrained(folder)
    config = BertConfig(
        vocab_size=len(words), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=32, num_labels=2, id2label={0: "what", 1: "who"},
        label2id={"what": 0, "who": 1},
    )  # fmt: skip
    torch.manual_seed(0)
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(folder)
    runner = load_runner(folder, max_length=8, embedding=pool)
    texts = ["what is the moon", "who", "the moon is"]
    emb = run_texts(EmbeddingReader(runner), texts, batch_size=2).scores
    enc = fast(texts, padding=True, truncation=True, max_length=8, return_tensors="pt")
    with torch.inference_mode():
        hidden = model.bert(**enc).last_hidden_state
    if pool == "cls":
        ref = hidden[:, 0].numpy()
    else:
        mask = enc["attention_mask"].unsqueeze(-1).float()
        ref = ((hidden * mask).sum(1) / mask.sum(1)).numpy()
    assert emb is not None and emb.shape == (3, 16)
    np.testing.assert_allclose(emb, ref, rtol=1e-4, atol=1e-5)
    with pytest.raises(InputError, match="'cls' or 'mean'"):
        load_runner(folder, max_length=8, embedding="pooler")
