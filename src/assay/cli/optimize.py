"""``assay models optimize / profile``: an INT8 child of a registered model, calibrated on a
registered dataset version (:mod:`assay.service.optimize`), and a version's latency, throughput,
size and peak memory on one device (:mod:`assay.service.profile`). ``cli.main`` mounts both in
the ``models`` group."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from assay.cli.errors import handle_errors


def resolve_dataset_version(ws: Any, ref: str) -> Any:
    """A registered dataset version from ``#ID`` / ``ID``, ``NAME:VERSION`` or ``NAME`` (its
    newest version)."""
    from assay.errors import NotFoundError

    text = ref.strip()
    digits = text[1:] if text.startswith("#") else text
    if digits.isascii() and digits.isdigit():
        return ws.get_dataset_version(int(digits))
    name, sep, label = text.partition(":")
    for dataset in ws.list_datasets():
        if dataset.name == name:
            versions = ws.list_dataset_versions(dataset.id)
            if sep:
                versions = [v for v in versions if v.version == label]
            if versions:
                return versions[-1]
    raise NotFoundError(
        f"no registered dataset version {ref!r} (give #ID, NAME or NAME:VERSION; "
        "see assay datasets list)"
    )


@handle_errors
def optimize(
    ref: Annotated[
        str, typer.Argument(help="The model version: #ID, NAME:VERSION or NAME (its newest).")
    ],
    int8: Annotated[
        bool, typer.Option("--int8", help="Post-training static quantization to INT8.")
    ] = False,
    calibration: Annotated[
        str | None,
        typer.Option(
            "--calibration",
            metavar="DATASET_VERSION",
            help="The dataset version whose images calibrate it: #ID, NAME:VERSION or NAME.",
        ),
    ] = None,
    samples: Annotated[
        int, typer.Option("--samples", help="How many of its images calibrate (a seeded choice).")
    ] = 300,
    version: Annotated[
        str | None, typer.Option("--version", help="The child's label (default int8).")
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="The child's model name (default: the parent's)."),
    ] = None,
    exclude_head: Annotated[
        bool,
        typer.Option(
            "--exclude-head",
            help="Keep the output head in float (ONNX: every node after the last Conv / Gemm / "
            "MatMul; a detector whose output joins boxes and scores needs it).",
        ),
    ] = False,
    exclude: Annotated[
        str | None,
        typer.Option(
            "--exclude",
            metavar="NODE_OR_OP,...",
            help="Keep these nodes (by name) or operator types (e.g. Softmax,Concat) in float.",
        ),
    ] = None,
) -> None:
    """Quantize a registered ONNX (or OpenVINO IR) image model to INT8, calibrated on a dataset
    version read through the model's own preprocessing, and register the child with its parent."""
    from assay.cli.models import resolve_model
    from assay.cli.report import InferenceProgress, make_console, print_model_version
    from assay.service.optimize import optimize_int8
    from assay.service.public import model_version_public
    from assay.store import Workspace

    if not int8:
        raise typer.BadParameter("say what to make: --int8 (the one optimisation for now)")
    if calibration is None:
        raise typer.BadParameter(
            "INT8 needs calibration data: --calibration DATASET_VERSION", param_hint="--calibration"
        )
    ws = Workspace()
    parent = resolve_model(ws, ref)
    data = resolve_dataset_version(ws, calibration)
    before = ws.newest_model_version_id()
    with InferenceProgress("Calibrating") as bar:
        child = optimize_int8(
            ws,
            parent.id,
            calibration=data.id,
            samples=samples,
            version=version,
            name=name,
            exclude=[] if exclude is None else exclude.split(","),
            exclude_head=exclude_head,
            progress=bar,
        )
    out = make_console()
    print_model_version(
        model_version_public(child, ws.model_version_labels(), {}),
        console=out,
        new=child.id > before,
    )
    out.print(f"Profile both: assay models profile '#{parent.id}' and '#{child.id}'")


@handle_errors
def profile(
    ref: Annotated[
        str, typer.Argument(help="The model version: #ID, NAME:VERSION or NAME (its newest).")
    ],
    batch: Annotated[
        str, typer.Option("--batch", metavar="<b,b,...>", help="Batch sizes to time.")
    ] = "1,8,32",
    device: Annotated[
        str, typer.Option("--device", help="cpu, cuda, cuda:N, or an OpenVINO device.")
    ] = "cpu",
    runs: Annotated[int, typer.Option("--runs", help="Timed calls per batch size.")] = 30,
) -> None:
    """Time a registered image model: latency p50 / p95 per batch size, throughput, size on disk
    and peak memory, measured in a fresh process, stored with the version."""
    from assay.cli.models import resolve_model
    from assay.cli.report import progress
    from assay.service.profile import parse_batches, profile_model
    from assay.store import Workspace

    batches = parse_batches(batch)
    ws = Workspace()
    version = resolve_model(ws, ref)
    with progress(delay=0.5) as step:
        step("Loading the model in a fresh process")
        result = profile_model(
            ws,
            version.id,
            batches=batches,
            device=device,
            runs=runs,
            progress=lambda done, total: step(f"Timing: {done} of {total} calls"),
        )
    print_profile(result, f"{version.model_name} {version.version} (#{version.id})")


def print_profile(profile: dict[str, Any], title: str) -> None:
    """A profile for a person: one row per batch size, then size and memory."""
    from rich.table import Table

    from assay.cli.report import make_console

    out = make_console()
    table = Table(title=f"{title} on {profile['device']}", title_justify="left")
    for column in ("batch", "p50 ms", "p95 ms", "samples/s"):
        table.add_column(column, justify="right")
    for row in profile["batches"]:
        table.add_row(
            str(row["batch"]),
            f"{row['p50_ms']:.3f}",
            f"{row['p95_ms']:.3f}",
            f"{row['throughput']:,.0f}",
        )
    out.print(table)
    out.print(
        f"size on disk {profile['size_bytes'] / 2**20:.2f} MiB · peak memory "
        f"+{profile['peak_memory_bytes'] / 2**20:.1f} MiB ({profile['memory_method']}) · "
        f"{profile['runs']} runs per batch after {profile['warmup']} warm-up, "
        f"{profile['cores']} cores"
    )
