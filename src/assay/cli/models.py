"""``assay models add / list``: model versions Assay can run, and the options that describe how a
model reads its input (shared with ``assay evaluate --model``). ``cli.main`` mounts the commands
as the ``models`` group."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from assay.cli.errors import handle_errors
from assay.cli.inputs import check_input_paths, fetch_model_input, path_or_url, stored_id
from assay.cli.shared import ParentVersion, check_out_path, to_stdout, write_json

SPEC_HELP = (
    "A preprocessing spec (JSON / YAML) for the model (default: model.preprocess.json / .yaml "
    "next to it)."
)
SpecFile = Annotated[
    Path | None, typer.Option("--spec", help=SPEC_HELP, rich_help_panel="Model input")
]
LabelsFile = Annotated[
    Path | None,
    typer.Option(
        "--labels", help="The model's class names, one a line.", rich_help_panel="Model input"
    ),
]
InputSize = Annotated[
    str | None,
    typer.Option(
        "--input-size",
        metavar="<HxW>",
        help="The model's input size, e.g. 224x224 (default: the model's own).",
        rich_help_panel="Model input",
    ),
]
Mean = Annotated[
    str | None,
    typer.Option(
        "--mean",
        metavar="<a,b,c>",
        help="Per-channel mean after scaling to [0, 1], e.g. 0.485,0.456,0.406.",
        rich_help_panel="Model input",
    ),
]
Std = Annotated[
    str | None,
    typer.Option(
        "--std",
        metavar="<a,b,c>",
        help="Per-channel standard deviation, e.g. 0.229,0.224,0.225.",
        rich_help_panel="Model input",
    ),
]
Channels = Annotated[
    str | None,
    typer.Option("--channels", help="RGB, BGR or L.", rich_help_panel="Model input"),
]
Layout = Annotated[
    str | None,
    typer.Option("--layout", help="NCHW or NHWC.", rich_help_panel="Model input"),
]


@dataclass(frozen=True)
class SpecOptions:
    """The model-input options of a command line: a spec file and fields over it."""

    spec_file: Path | None = None
    labels: Path | None = None
    input_size: str | None = None
    mean: str | None = None
    std: str | None = None
    channels: str | None = None
    layout: str | None = None

    @property
    def given(self) -> list[str]:
        """The options given, as they are spelled on the command line."""
        names = {
            "spec_file": "--spec",
            "labels": "--labels",
            "input_size": "--input-size",
            "mean": "--mean",
            "std": "--std",
            "channels": "--channels",
            "layout": "--layout",
        }
        return [flag for field, flag in names.items() if getattr(self, field) is not None]

    def resolve(self) -> tuple[Any, dict[str, Any]]:
        """(spec or None, overrides) for :meth:`~assay.store.Workspace.add_model`; a malformed
        value is a usage error naming its option."""
        from assay.runners.spec import read_spec_file

        check_input_paths(self.spec_file, self.labels, folder_ok=False)
        spec = None
        if self.spec_file is not None:
            if not self.spec_file.is_file():
                raise typer.BadParameter(f"{self.spec_file}: no such file", param_hint="--spec")
            spec = read_spec_file(self.spec_file)
        overrides: dict[str, Any] = {}
        if self.labels is not None:
            if not self.labels.is_file():
                raise typer.BadParameter(f"{self.labels}: no such file", param_hint="--labels")
            overrides["labels_file"] = str(self.labels.resolve())
            overrides["classes"] = None  # the file names them, over a spec's list
        if self.input_size is not None:
            overrides["size"] = _size(self.input_size)
        for name, text in (("mean", self.mean), ("std", self.std)):
            if text is not None:
                overrides[name] = _numbers(text, f"--{name}")
        if self.channels is not None:
            overrides["channels"] = _choice(self.channels, ("RGB", "BGR", "L"), "--channels")
        if self.layout is not None:
            overrides["layout"] = _choice(self.layout, ("NCHW", "NHWC"), "--layout")
        return spec, overrides


def _size(text: str) -> tuple[int, int]:
    parts = text.lower().replace("×", "x").split("x")
    try:
        values = [int(p) for p in parts]
    except ValueError:
        values = []
    if len(values) == 1:
        values = values * 2
    if len(values) != 2 or any(v < 1 or v > 65536 for v in values):
        raise typer.BadParameter(
            f"{text!r}: expected HEIGHTxWIDTH, e.g. 224x224", param_hint="--input-size"
        )
    return values[0], values[1]


def _numbers(text: str, option: str) -> tuple[float, ...]:
    import math

    try:
        values = tuple(float(p) for p in text.split(",") if p.strip())
    except ValueError:
        values = ()
    if len(values) not in (1, 3) or not all(math.isfinite(v) for v in values):
        raise typer.BadParameter(
            f"{text!r}: expected 1 or 3 numbers separated by commas", param_hint=option
        )
    return values


def _choice(text: str, allowed: tuple[str, ...], option: str) -> str:
    value = text.upper()
    if value not in allowed:
        raise typer.BadParameter(
            f"{text!r}: expected one of {', '.join(allowed)}", param_hint=option
        )
    return value


def register(
    ws: Any,
    path: Path,
    *,
    name: str | None,
    version: str | None,
    parent: int | None,
    options: SpecOptions,
) -> tuple[Any, bool]:
    """Register the model file or folder at ``path``: (the version, whether it is new)."""
    check_input_paths(path)  # never a pipe, a device or a file over the cap
    spec, overrides = options.resolve()
    before = ws.newest_model_version_id()
    record = ws.add_model(  # a missing extra: one line (an AssayError)
        path,
        name=name or model_name_of(path),
        version=version,
        parent_version_id=parent,
        spec=spec,
        overrides=overrides,
    )
    return record, record.id > before


def model_name_of(path: Path) -> str:
    """A model's default name: its file's stem (an OpenVINO IR's), or its folder's name."""
    path = Path(path)
    return path.name if path.is_dir() else path.stem


def resolve_model(ws: Any, ref: str) -> Any:
    """A registered model version from ``#ID``, ``NAME:VERSION`` or ``NAME`` (its newest)."""
    from assay.errors import InputError, NotFoundError

    if ref.startswith("#"):
        digits = ref[1:].strip()
        if digits.isascii() and digits.isdigit():
            return ws.get_model_version(stored_id("model version", digits))
        try:
            return ws.get_model_version(int(ref[1:]))
        except ValueError:
            raise typer.BadParameter(
                f"{ref!r}: expected #ID, e.g. #3", param_hint="--model"
            ) from None
    name, sep, version = ref.partition(":")
    try:
        if sep:
            return ws.find_model_version(name, version)
        return ws.find_model_version(ref)
    except NotFoundError:
        raise InputError(
            "no such model file or folder, and no registered model of that name "
            "(see assay models list)",
            file=ref,
        ) from None


@handle_errors
def add(
    path: Annotated[
        Path,
        typer.Argument(
            help="The model: .onnx, .skops, OpenVINO .xml (+ .bin), TorchScript .pt, or a "
            "Hugging Face folder (a path, or an s3://, gs:// or az:// URL).",
            parser=path_or_url,
        ),
    ],
    name: Annotated[str, typer.Option("--name", help="The model's name.")],
    version: Annotated[
        str | None, typer.Option("--version", help="A label for this version (default v1, v2…).")
    ] = None,
    parent: ParentVersion = None,
    spec_file: SpecFile = None,
    labels: LabelsFile = None,
    input_size: InputSize = None,
    mean: Mean = None,
    std: Std = None,
    channels: Channels = None,
    layout: Layout = None,
) -> None:
    """Register a model version: Assay loads it, keeps a copy in the workspace with its
    preprocessing spec, and can then run it (assay evaluate --model NAME)."""
    from assay.cli.report import make_console, print_model_version
    from assay.service.public import model_version_public
    from assay.store import Workspace

    options = SpecOptions(spec_file, labels, input_size, mean, std, channels, layout)
    path = fetch_model_input(path)  # a URL: fetched with its spec and labels
    ws = Workspace()
    record, new = register(ws, path, name=name, version=version, parent=parent, options=options)
    out = make_console()
    print_model_version(
        model_version_public(record, ws.model_version_labels(), {}), console=out, new=new
    )


@handle_errors
def list_models(
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Write the list as a JSON array to this file ('-': stdout)."),
    ] = None,
) -> None:
    """List the registered model versions."""
    from assay.cli.report import print_model_versions
    from assay.service.public import models_public
    from assay.store import Workspace

    check_out_path(json_out)
    ws = Workspace()
    rows = [v for m in models_public(ws) for v in m["versions"]]  # the REST shape, flat
    rows.sort(key=lambda r: r["id"])
    if json_out is not None:
        write_json(rows, json_out)
    if not to_stdout(json_out):
        print_model_versions(rows)
