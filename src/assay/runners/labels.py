"""Class names of a model: from the spec, the model's own metadata, or a labels file next to it.

Order of precedence: ``spec.classes``, ``spec.labels_file``, the model's metadata ("classes" or
"labels": a JSON list or comma-separated names), ``<stem>.labels.txt`` or ``labels.txt`` next to the
model (one name per line, blank lines ignored); a labels file next to the model that leads out of
the model's folder (a link) is refused, as :mod:`assay.runners.files` says.

    >>> parse_names('["cat", "dog"]', source="model.onnx")
    ('cat', 'dog')
    >>> parse_names("cat, dog", source="model.onnx")
    ('cat', 'dog')
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from assay.errors import InputError
from assay.runners.files import confine, model_folder

METADATA_KEYS = ("classes", "labels", "class_names", "names")


def parse_names(text: str, *, source: str) -> tuple[str, ...]:
    """Names from a metadata value: a JSON list, a JSON {index: name} object, or comma-separated."""
    text = text.strip()
    names: list[str]
    if text.startswith(("[", "{")):
        try:
            value = json.loads(text)
        except ValueError:
            raise InputError("class names are not valid JSON", file=source) from None
        if isinstance(value, dict):
            try:
                items = sorted(((int(k), v) for k, v in value.items()), key=lambda kv: kv[0])
            except ValueError:
                raise InputError("class-name keys are not integers", file=source) from None
            names = [str(v) for _, v in items]
        elif isinstance(value, list):
            names = [str(v) for v in value]
        else:  # pragma: no cover - startswith guards the shape
            raise InputError("class names are not a list", file=source)
    else:
        names = [n.strip() for n in text.split(",")]
    return _check(names, source)


def _check(names: list[str], source: str) -> tuple[str, ...]:
    if not names or any(not n for n in names):
        raise InputError("empty class name", file=source)
    seen: set[str] = set()
    for i, n in enumerate(names):
        if n in seen:
            raise InputError(f"class name {n!r} appears twice", file=source, where=f"entry {i + 1}")
        seen.add(n)
    return tuple(names)


def read_labels_file(path: str | Path) -> tuple[str, ...]:
    """One class name per line (blank lines and surrounding spaces ignored)."""
    path = Path(path)
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO or a device: never opened
            raise InputError("not a regular file", file=str(path))
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the labels file ({exc})", file=str(path)) from None
    return _check([line.strip() for line in text.splitlines() if line.strip()], str(path))


def labels_path_for(model_path: str | Path) -> Path | None:
    """``<stem>.labels.txt`` or ``labels.txt`` next to the model (inside it, for a folder)."""
    model_path = Path(model_path)
    folder = model_path if model_path.is_dir() else model_path.parent
    candidates = (
        [] if model_path.is_dir() else [model_path.with_name(f"{model_path.stem}.labels.txt")]
    )
    candidates.append(folder / "labels.txt")
    inner = model_folder(model_path)
    for candidate in candidates:
        if os.path.lexists(candidate):  # a link leading out of the model's folder is refused
            where = f"labels file '{candidate.name}'"
            confine(candidate, inner, file=str(model_path), where=where)
            if candidate.is_file():
                return candidate
    return None


def resolve_classes(
    model_path: str | Path,
    *,
    spec_classes: tuple[str, ...] | None = None,
    labels_file: str | None = None,
    metadata: Mapping[str, str] | None = None,
) -> tuple[str, ...] | None:
    """The class names of a model by the order of precedence above, or None if nothing names them."""
    if spec_classes is not None:
        return spec_classes
    if labels_file is not None:
        return read_labels_file(labels_file)
    for key in METADATA_KEYS:
        if metadata and key in metadata and str(metadata[key]).strip():
            return parse_names(str(metadata[key]), source=f"{model_path} (metadata '{key}')")
    found = labels_path_for(model_path)
    return read_labels_file(found) if found is not None else None
