"""``assay datasets add / list``: dataset versions registered on purpose (a test set to run
models over, a training set for the leakage check), read with the readers of ``evaluate --gt``.
``cli.main`` mounts the commands as the ``datasets`` group."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from assay.cli.errors import handle_errors
from assay.cli.inputs import check_input_paths, fetch_input, path_or_url
from assay.cli.shared import check_out_path, to_stdout, write_json

ADD_NAME_HELP = (
    "The dataset's name (default: the folder's name, or the file's stem; for a generic stem "
    "such as gt, ground_truth, labels or annotations, its folder's name). A new version of an "
    "existing name must have the same task, media and class set."
)


def _task_option(task: str | None) -> str | None:
    from assay.evaluation.vocabulary import TASKS

    if task is not None and task not in TASKS:
        raise typer.BadParameter(f"{task!r}: expected one of {', '.join(TASKS)}")
    return task


@handle_errors
def add(
    path: Annotated[
        Path,
        typer.Argument(
            help="The ground truth: CSV/JSONL/Parquet, ImageFolder, COCO, YOLO or VOC "
            "(as evaluate --gt reads it; a path, or an s3://, gs:// or az:// URL).",
            parser=path_or_url,
        ),
    ],
    name: Annotated[str | None, typer.Option("--name", help=ADD_NAME_HELP)] = None,
    task: Annotated[
        str | None,
        typer.Option(help="classification, multilabel or detection (inferred when omitted)."),
    ] = None,
    images: Annotated[
        Path | None,
        typer.Option(help="Folder of the images (detection; a path or a URL).", parser=path_or_url),
    ] = None,
    allow_media_outside_root: Annotated[
        bool,
        typer.Option(
            "--allow-media-outside-root",
            help="Accept media paths outside the dataset's folder (refused by default).",
        ),
    ] = False,
    unlabeled: Annotated[
        bool,
        typer.Option(
            "--unlabeled",
            help="Register the samples without labels (a folder of images, a table of paths or "
            "texts, COCO images; any label column ignored): models run on it make prediction "
            "runs, compared with assay compare A B --no-labels. Detected without the flag for a "
            "flat image folder, a table without a label column, COCO without annotations.",
        ),
    ] = False,
) -> None:
    """Register a dataset version (kept without evaluations) and print its id: the same bytes
    give back the same version. Models run over it with assay evaluate --gt PATH --model ...,
    and the web UI offers it."""
    from rich.text import Text

    from assay.cli.report import make_console
    from assay.service.public import dataset_version_public
    from assay.store import Workspace
    from assay.store.datasets import register_dataset

    task = _task_option(task)
    # a URL: into the workspace's cache, recorded by its URL
    path, images = fetch_input(path), fetch_input(images)
    check_input_paths(path, images)  # never a pipe, a device or a file over the cap
    ws = Workspace()
    from assay.formats.unlabeled import looks_unlabeled

    if unlabeled or (task in (None, "classification") and looks_unlabeled(path)):
        from assay.service.unlabeled import register_unlabeled

        if images is not None:
            raise typer.BadParameter("applies to detection sets with labels", param_hint="--images")
        bare, fresh = register_unlabeled(
            ws, path, name=name, allow_outside=allow_media_outside_root
        )
        verb = "Registered" if fresh else "Already registered"
        make_console().print(
            Text.assemble(
                (f"{verb} dataset version {bare.id}", "bold"),
                f"  {bare.dataset_name} {bare.version} · unlabeled · {bare.n_samples} samples",
            ),
            soft_wrap=True,
        )
        return
    version, new, notes = register_dataset(
        ws,
        path,
        name=name,
        task=task,
        images_root=images,
        allow_outside=allow_media_outside_root,
    )
    warn = make_console(stderr=True)
    for note in notes:
        warn.print(Text(note), soft_wrap=True)
    row = dataset_version_public(ws, version)
    verb = "Registered" if new else "Already registered"
    media = row["media"] or "no media"
    classes = "?" if row["n_classes"] is None else row["n_classes"]
    out = make_console()
    out.print(
        Text.assemble(
            (f"{verb} dataset version {version.id}", "bold"),
            f"  {version.dataset_name} {version.version} · {version.task} · {media} · "
            f"{version.n_samples} samples · {classes} classes",
        ),
        soft_wrap=True,
    )


@handle_errors
def list_datasets(
    json_out: Annotated[
        Path | None,
        typer.Option(
            "--json", help="Write the datasets, each with its versions, as JSON ('-': stdout)."
        ),
    ] = None,
) -> None:
    """List the datasets and their versions (the version ids evaluations and jobs name)."""
    from assay.service.public import datasets_public
    from assay.store import Workspace

    check_out_path(json_out)
    ws = Workspace()
    datasets = datasets_public(ws)  # the REST shape
    if json_out is not None:
        write_json(datasets, json_out)
    if not to_stdout(json_out):
        print_dataset_versions([v for d in datasets for v in list(d["versions"])])


def print_dataset_versions(rows: list[dict[str, Any]], *, console: Any = None) -> None:
    """The table of ``assay datasets list``: one row a version (fits 80 columns)."""
    from rich import box
    from rich.table import Table

    from assay.cli.report import make_console, say

    out = console or make_console()
    if not rows:
        out.print("No datasets yet. Register one with [bold]assay datasets add PATH[/].")
        return
    say(["Dataset versions", "id = the version's id"], console=out, style="bold")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 1), show_edge=False)
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("dataset", overflow="fold", min_width=10)
    table.add_column("task", no_wrap=True)
    table.add_column("media", no_wrap=True)
    table.add_column("samples", justify="right", no_wrap=True)
    table.add_column("classes", justify="right", no_wrap=True)
    table.add_column("evals", justify="right", no_wrap=True)
    for r in rows:
        table.add_row(
            str(r["id"]),
            f"{r['dataset_name']} {r['version']}",
            "multi-label" if r["task"] == "multilabel" else str(r["task"]),
            r["media"] or "—",
            str(r["n_samples"]),
            "no labels"
            if r.get("unlabeled")
            else "—"
            if r["n_classes"] is None
            else str(r["n_classes"]),
            str(r["evaluations"]),
        )
    out.print(table)


def with_version_ids(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``assay list`` rows whose dataset reads "name v1 (#3)": the dataset version's id."""
    out = []
    for r in rows:
        dataset = dict(r.get("dataset") or {})
        if dataset.get("version_id") is not None:
            dataset["name"] = (
                f"{dataset.get('name', '')} {dataset.get('version', '')} (#{dataset['version_id']})"
            )
        out.append({**r, "dataset": dataset})
    return out
