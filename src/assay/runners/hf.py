"""A Hugging Face text classifier from a local folder (``config.json`` + weights + tokenizer);
the ``hf`` extra (transformers + tokenizers, with torch). Never a hub download: everything is
loaded with ``local_files_only=True``.

Class names come from the config's ``id2label`` unless the spec or a labels file gives them; the
tokenizer is the folder's own unless the spec names another folder; ``max_length`` truncates.

    >>> runner = HfTextRunner("model_dir", PreprocessSpec(max_length=64))   # doctest: +SKIP
    >>> runner.predict(["how far is the moon?"])                             # doctest: +SKIP
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from assay.errors import InputError, one_line
from assay.runners.base import BaseRunner, ModelInfo
from assay.runners.devices import resolve_device
from assay.runners.labels import resolve_classes
from assay.runners.spec import PreprocessSpec


class HfTextRunner(BaseRunner):
    """``AutoModelForSequenceClassification`` + ``AutoTokenizer`` from local folders, on
    ``device`` (the CPU, or a CUDA device: :func:`~assay.runners.devices.resolve_device`)."""

    backend = "transformers"

    def __init__(self, path: str | Path, spec: PreprocessSpec, *, device: str = "cpu") -> None:
        import os

        # never the hub, never a question: offline before transformers reads its settings, and
        # a model's own code (``auto_map``) refused outright instead of asking on the terminal
        os.environ["HF_HUB_OFFLINE"] = "1"
        os.environ["TRANSFORMERS_OFFLINE"] = "1"
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        self.path = Path(path)
        self._torch = torch
        self.device = resolve_device(self.backend, device)
        tokenizer_dir = spec.tokenizer or str(self.path)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(
                tokenizer_dir, local_files_only=True, trust_remote_code=False
            )
            self.model = AutoModelForSequenceClassification.from_pretrained(
                str(self.path), local_files_only=True, trust_remote_code=False
            )
        except Exception as exc:
            raise InputError(
                f"not a loadable Hugging Face classifier ({one_line(exc, 300)})",
                file=str(self.path),
            ) from None
        self.model.eval()
        if not self.device.is_cpu:
            self.model.to(self.device.setting)
        if spec.activation == "none":  # the model gives logits
            spec = spec.replace(activation="sigmoid" if spec.task == "multilabel" else "softmax")
        if spec.embedding not in (None, "cls", "mean"):
            raise InputError(
                f"a Hugging Face model's embedding is 'cls' or 'mean', got {spec.embedding!r}",
                file=str(self.path),
                where="spec field 'embedding'",
            )
        self.spec = spec
        id2label = getattr(self.model.config, "id2label", None) or {}
        meta = {}
        if id2label and not all(str(v).startswith("LABEL_") for v in id2label.values()):
            meta["classes"] = json.dumps({int(k): str(v) for k, v in id2label.items()})
        self.classes = resolve_classes(
            self.path, spec_classes=spec.classes, labels_file=spec.labels_file, metadata=meta
        )
        if self.classes is None and id2label:
            self.classes = tuple(str(id2label[k]) for k in sorted(id2label, key=int))

    def describe(self) -> ModelInfo:
        return ModelInfo(
            path=str(self.path),
            backend=self.backend,
            task=self.spec.task,
            classes=self.classes,
            media="text",
            input_name="input_ids",
            input_shape=(self.spec.max_length,),
            layout=None,
            dtype=None,
            outputs=("logits",),
            device=self.device.name,
        )

    def run(self, batch: Any) -> dict[str, np.ndarray]:
        texts = [str(t) for t in batch]
        enc = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.spec.max_length,
            return_tensors="pt",
        )
        if not self.device.is_cpu:
            enc = enc.to(self.device.setting)
        pool = self.spec.embedding
        with self._torch.inference_mode():
            out = self.model(**enc, output_hidden_states=pool is not None)
        result = {"logits": out.logits.detach().cpu().float().numpy()}
        if pool is not None:  # the pooled last hidden state: its first (CLS) token, or the mean
            hidden = out.hidden_states[-1]
            if pool == "mean":
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            else:
                pooled = hidden[:, 0]
            result[pool] = pooled.detach().cpu().float().numpy()
        return result
