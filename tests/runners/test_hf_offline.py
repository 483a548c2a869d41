"""transformers is never allowed to prompt or download: the HF runner loads offline, with
``trust_remote_code=False`` (a model's own code is refused, not asked about on the terminal)."""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from assay.errors import InputError
from assay.runners.spec import PreprocessSpec


def test_the_hf_runner_never_prompts_nor_downloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, dict[str, Any], dict[str, str | None]]] = []

    def loader(kind: str) -> Any:
        def from_pretrained(path: str, **kwargs: Any) -> Any:
            env = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
            calls.append((kind, kwargs, env))
            raise ValueError("stop here")  # the test looks at how it was asked, not the model

        return types.SimpleNamespace(from_pretrained=from_pretrained)

    fake = types.ModuleType("transformers")
    fake.AutoTokenizer = loader("tokenizer")  # type: ignore[attr-defined]
    fake.AutoModelForSequenceClassification = loader("model")  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "transformers", fake)
    monkeypatch.setitem(sys.modules, "torch", types.ModuleType("torch"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # a user's setting does not turn the hub on
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "0")
    from assay.runners.hf import HfTextRunner

    with pytest.raises(InputError, match="not a loadable Hugging Face classifier"):
        HfTextRunner(tmp_path, PreprocessSpec())
    assert calls, "from_pretrained was never called"
    for _, kwargs, env in calls:
        assert kwargs.get("trust_remote_code") is False
        assert kwargs.get("local_files_only") is True
        assert env == {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
