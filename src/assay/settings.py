"""Settings shared by every layer: where the workspace lives."""

from __future__ import annotations

import os
from pathlib import Path


def assay_home() -> Path:
    """The workspace folder: ``$ASSAY_HOME`` or ``~/.assay``."""
    env = os.environ.get("ASSAY_HOME")
    return Path(env).expanduser() if env else Path.home() / ".assay"


# The largest model (its files together: weights, an OpenVINO .bin, a Hugging Face folder, labels,
# tokenizer) the workspace copies in when a model version is registered.
MAX_MODEL_BYTES = 2 * 1024**3
