"""``assay evaluate``: a predictions file or a model run over a ground truth, evaluated, printed
and stored; the same evaluation asked for again is answered with the stored one. ``cli.main``
mounts the command.

A model run streams its predictions to a work folder keyed by the model version, the ground
truth, the batch size and the reading options, so the same command after Ctrl-C resumes it.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from assay.cli.errors import handle_errors
from assay.cli.evaluations import show
from assay.cli.inputs import (
    FORCE_HELP,
    AlreadyStored,
    check_input_paths,
    check_stored,
    evaluation_request,
    fetch_input,
    path_or_url,
)
from assay.cli.mlflow_cli import MlflowFlag, MlflowRun, mlflow_target, say_logged
from assay.cli.models import (
    Channels,
    InputSize,
    LabelsFile,
    Layout,
    Mean,
    SpecFile,
    SpecOptions,
    Std,
    register,
    resolve_model,
)
from assay.cli.shared import (
    INTERVALS_HELP,
    JSON_HELP,
    OUTSIDE_HELP,
    TOP_K_HELP,
    ParentVersion,
    check_out_path,
    operating_point,
    parse_top_k,
    report_of,
    to_stdout,
    with_top_k,
    workspace,
    write_json,
)

F = TypeVar("F", bound=Callable[..., Any])


def answers_stored(func: F) -> F:
    """Answer :class:`AlreadyStored` raised by the command with the stored evaluation, as
    ``assay show`` prints it (exit 0)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AlreadyStored as found:
            json_out = kwargs.get("json_out")
            print(
                f"Already stored as evaluation {found.evaluation_id} (same ground truth, "
                "predictions and options; --force stores it again)",
                file=sys.stderr if to_stdout(json_out) else sys.stdout,
            )
            answer = show(
                found.evaluation_id,
                threshold=None,
                iou=None,
                score=None,
                json_out=json_out,
                intervals=bool(kwargs.get("intervals", False)),
                top_k=kwargs.get("top_k"),
            )
            if kwargs.get("mlflow") or kwargs.get("mlflow_run"):  # --mlflow: log it all the same
                from assay.integrations.mlflow_log import log_evaluation

                run_id = kwargs.get("mlflow_run")
                say_logged(log_evaluation(workspace(), found.evaluation_id, run_id=run_id))
            return answer

    return wrapper  # type: ignore[return-value]


DEVICE_OPTION_HELP = (
    "--model: the device the model runs on: auto (the first CUDA GPU its backend can use, else "
    "the CPU), cpu (default), cuda, cuda:N, tensorrt[:N] (ONNX Runtime), or OpenVINO's GPU, "
    "GPU.N, AUTO. A device this machine lacks is an error."
)
RAY_HELP = (
    "--model: predict on a Ray cluster (the 'cluster' extra): auto (the cluster 'ray start' runs "
    "here, or RAY_ADDRESS), local (a Ray instance started for this run) or ADDRESS. The "
    "predictions are the same; a killed run resumes from its shards."
)
# options that say where the predictions are made, not what they are: never in the request
WHERE_NOT_WHAT = ("ray", "workers", "gpus_per_worker", "mlflow", "mlflow_run")

MODEL_HELP = (
    "A model to run over the ground truth: a model file or folder (registered first), or a "
    "registered model NAME, NAME:VERSION or #ID (see assay models list)."
)


@handle_errors
@answers_stored
def evaluate(
    gt: Annotated[
        Path,
        typer.Option(
            "--gt",
            help="Ground truth: CSV/JSONL/Parquet, ImageFolder, COCO, YOLO or VOC "
            "(a path, or an s3://, gs:// or az:// URL).",
            parser=path_or_url,
        ),
    ],
    pred: Annotated[
        Path | None,
        typer.Option(
            "--pred",
            help="Predictions: a score table or COCO results JSON (a path or a URL).",
            parser=path_or_url,
        ),
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help=MODEL_HELP)] = None,
    batch: Annotated[
        int | None,
        typer.Option("--batch", min=1, max=65536, help="--model: samples per batch (default 32)."),
    ] = None,
    task: Annotated[
        str | None,
        typer.Option(help="classification, multilabel or detection (inferred when omitted)."),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Classification: a confidence threshold. Single-label default: none (the "
            "argmax, as scikit-learn); a threshold > 0 abstains below it and adds coverage. "
            "Multi-label default: 0.5 per class."
        ),
    ] = None,
    iou: Annotated[
        float | None,
        typer.Option(help="Detection: IoU for the confusion matrix and P/R/F1 (default 0.5)."),
    ] = None,
    score: Annotated[
        float | None,
        typer.Option(
            help="Detection: minimum confidence for the confusion matrix and P/R/F1 "
            "(default: the F1-optimal confidence at the IoU)."
        ),
    ] = None,
    logits: Annotated[
        bool, typer.Option("--logits", help="Scores are raw logits: apply softmax / sigmoid.")
    ] = False,
    name: Annotated[str | None, typer.Option(help="A name for this evaluation.")] = None,
    model_name: Annotated[
        str | None,
        typer.Option(
            "--model-name",
            help="The model's name (default: the predictions file's or model file's name).",
        ),
    ] = None,
    parent: ParentVersion = None,
    images: Annotated[
        Path | None,
        typer.Option(help="Folder of the images (detection; a path or a URL).", parser=path_or_url),
    ] = None,
    allow_media_outside_root: Annotated[
        bool, typer.Option("--allow-media-outside-root", help=OUTSIDE_HELP)
    ] = False,
    json_out: Annotated[Path | None, typer.Option("--json", help=JSON_HELP)] = None,
    intervals: Annotated[bool, typer.Option("--intervals", help=INTERVALS_HELP)] = False,
    top_k: Annotated[str | None, typer.Option("--top-k", help=TOP_K_HELP, metavar="<ks>")] = None,
    force: Annotated[bool, typer.Option("--force", help=FORCE_HELP)] = False,
    spec_file: SpecFile = None,
    labels: LabelsFile = None,
    input_size: InputSize = None,
    mean: Mean = None,
    std: Std = None,
    channels: Channels = None,
    layout: Layout = None,
    device: Annotated[
        str | None, typer.Option("--device", help=DEVICE_OPTION_HELP, metavar="<device>")
    ] = None,
    ray: Annotated[str | None, typer.Option("--ray", help=RAY_HELP, metavar="<address>")] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", min=1, max=4096, help="--ray: runner actors (default 2)."),
    ] = None,
    gpus_per_worker: Annotated[
        float | None,
        typer.Option(
            "--gpus-per-worker", min=0.0, max=64.0, help="--ray: GPUs per actor (default 0)."
        ),
    ] = None,
    mlflow: MlflowFlag = False,
    mlflow_run: MlflowRun = None,
) -> None:
    """Evaluate predictions or a model against ground truth, print the report and store it.

    --pred takes a predictions file; --model runs a model over the ground truth. A model run streams its predictions to the workspace as it goes: after Ctrl-C, the same
    command again resumes where it stopped. Nothing is stored when the command fails: a bad
    option, bad input, an unknown --parent, a full disk, or a report that cannot be written
    (its evaluation is then taken back)."""
    from rich.text import Text

    from assay.cli.report import make_console, print_report, progress

    if (pred is None) == (model is None):
        raise typer.BadParameter(
            "give exactly one of --pred (a predictions file) or --model (a model to run)",
            param_hint="'--pred' / '--model'",
        )
    options = SpecOptions(spec_file, labels, input_size, mean, std, channels, layout)
    model_only = (
        ("--batch", batch is not None),
        ("--device", device is not None),
        ("--ray", ray is not None),
        *((f, True) for f in options.given),
    )
    if pred is not None:
        for flag, given in model_only:
            if given:
                raise typer.BadParameter("applies to --model runs only", param_hint=flag)
    elif logits:
        raise typer.BadParameter(
            "applies to --pred files; a model's scores follow its spec's activation",
            param_hint="--logits",
        )
    at = operating_point(threshold, iou, score)
    ks = parse_top_k(top_k)
    check_out_path(json_out)
    to_mlflow, mlflow_run = mlflow_target(mlflow, mlflow_run)
    # a URL: into the workspace's cache
    gt, pred, images = fetch_input(gt), fetch_input(pred), fetch_input(images)
    check_input_paths(gt, pred, images)  # never a pipe, a device or a file over the cap
    for flag, value in (("--workers", workers), ("--gpus-per-worker", gpus_per_worker)):
        if value is not None and ray is None:
            raise typer.BadParameter("applies to --ray runs only", param_hint=flag)
    ray_options = _ray_options(ray, workers, gpus_per_worker, device)
    if model is not None:  # a dataset without labels: a prediction run, no metrics
        from assay.cli.unlabeled import evaluate_unlabeled, unlabeled_target

        version = unlabeled_target(gt)
        if version is not None:
            return evaluate_unlabeled(
                version, model, batch=batch or 32, name=name, model_name=model_name,
                parent=parent, options=options, device=device, json_out=json_out,
                refused={"--threshold": threshold is not None, "--iou": iou is not None,
                         "--score": score is not None, "--intervals": intervals,
                         "--top-k": top_k is not None, "--ray": ray is not None,
                         "--mlflow": to_mlflow, "--images": images is not None},
                force=force,
            )  # fmt: skip
    from assay.cli.sharded import evaluate_shards, names_shards

    if pred is not None and names_shards(pred):  # Parquet shards: streamed, merged, not stored
        unused = {
            "--logits": logits, "--intervals": intervals, "--images": images is not None,
            "--name": name is not None, "--model-name": model_name is not None,
            "--parent": parent is not None, "--iou": iou is not None, "--score": score is not None,
        }  # fmt: skip
        return evaluate_shards(
            gt, pred, task=task, threshold=threshold, ks=ks, json_out=json_out, given=unused
        )
    request = evaluation_request(evaluate, locals())  # the same again: AlreadyStored
    for key in WHERE_NOT_WHAT:
        request.pop(key, None)
    if device in (None, "cpu"):
        request.pop("device", None)  # a CPU run is the evaluation it always was
    if model is not None:
        run, record, ws, params = _run_model_and_store(
            gt,
            model,
            batch=batch or 32,
            task=task,
            threshold=threshold,
            name=name,
            model_name=model_name,
            parent=parent,
            images=images,
            allow_outside=allow_media_outside_root,
            options=options,
            ks=ks,
            at=at,
            request=request,
            force=force,
            device=device,
            ray=ray_options,
        )
        point = run.results.point(at)
    else:
        from assay.evaluation.run import evaluate_files
        from assay.service.runs import save_run

        assert pred is not None
        check_stored(gt, request, force=force, pred=pred)
        with progress() as step:
            step("Reading and evaluating")
            run = evaluate_files(
                gt,
                pred,
                task=task,
                threshold=threshold,
                logits=logits,
                images_root=images,
                allow_outside=allow_media_outside_root,
            )
            if ks is not None:
                run.results = with_top_k(run.results, ks)
            step("Storing in the workspace")
            run.results.set_default_point(at)
            point = run.results.point()
            params = {"logits": logits}
            ws = workspace()
            record = save_run(
                ws, run, model=model_name, name=name, parent_version_id=parent, params=params,
                request=request,
            )  # fmt: skip
    out = make_console(stderr=to_stdout(json_out))
    warn = make_console(stderr=True)
    for note in run.notes:  # warnings: one line each, on stderr
        warn.print(Text(note), soft_wrap=True)  # a path in a note is never broken
    try:
        report = report_of(run.results, point, intervals=intervals)
        if json_out is not None:
            write_json({"id": record.id, **report}, json_out)
    except BaseException:
        ws.delete_evaluation(record.id)  # the command failed: it leaves nothing stored
        ws.collect_garbage()
        raise
    if model is not None:
        from assay.service.runs import remove_work

        remove_work(run)
    if not to_stdout(json_out):
        print_report(report, console=out)
        out.print(f"\nStored as evaluation [bold]{record.id}[/]  (assay show {record.id})")
    if to_mlflow:
        from assay.integrations.mlflow_log import log_evaluation

        say_logged(log_evaluation(ws, record.id, run_id=mlflow_run, report=report))


def _run_model_and_store(
    gt: Path,
    model: str,
    *,
    batch: int,
    task: str | None,
    threshold: float | None,
    name: str | None,
    model_name: str | None,
    parent: int | None,
    images: Path | None,
    allow_outside: bool,
    options: SpecOptions,
    ks: tuple[int, ...] | None,
    at: Any,
    request: dict[str, Any] | None = None,
    force: bool = False,
    device: str | None = None,
    ray: Any = None,
) -> tuple[Any, Any, Any, dict[str, Any]]:
    """Register (a path) or find (a name) the model, run it over ``gt`` (on ``device``, or on a
    Ray cluster with ``ray``) with a progress bar that names the device, evaluate and store: (the
    run, its evaluation record, the workspace, the params)."""
    import shutil
    import signal

    from assay.cli.report import InferenceProgress, progress
    from assay.service.runs import run_device, run_model, store_model_run, work_folder

    ws = workspace()
    if not gt.exists():
        from assay.errors import InputError

        raise InputError("no such file or folder", file=str(gt))
    from assay.formats.remote import fetch_model, is_url

    if is_url(model):
        model = str(fetch_model(model))  # a model in object storage, with its spec and labels
    if Path(model).exists():
        record, new = register(
            ws, Path(model), name=model_name, version=None, parent=parent, options=options
        )
    else:
        for flag, given in (
            ("--parent", parent is not None),
            ("--model-name", model_name is not None),
            *((f, True) for f in options.given),
        ):
            if given:
                raise typer.BadParameter(
                    f"applies when --model names a model file; {model!r} is not one",
                    param_hint=flag,
                )
        record, new = resolve_model(ws, model), False
    if not new and request is not None:
        check_stored(gt, request, force=force, model_version_id=record.id, ws=ws)
    previous = signal.getsignal(signal.SIGTERM)

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    work: Path | None = None
    try:
        # a missing extra, a device this machine lacks: one line (AssayError); with Ray the
        # driver's copy only describes the model, on the CPU (the actors load it on the device)
        runner = ws.load_model_runner(record.id, device=None if ray is not None else device)
        used = run_device(runner, ray)
        # the folder a server's job over the same dataset source writes too: either side resumes
        work = work_folder(
            ws, record.id, gt, batch=batch, task=task, images_root=images,
            allow_outside=allow_outside, device=used,
        )  # fmt: skip
        where = f"on {used}" if ray is None else f"on Ray ({ray.workers} workers, {used})"
        bar = InferenceProgress(f"Predicting {where}")
        signal.signal(signal.SIGTERM, terminate)
        with bar:
            run = run_model(
                ws,
                record.id,
                gt,
                task=task,
                threshold=threshold,
                images_root=images,
                allow_outside=allow_outside,
                batch=batch,
                progress=bar,
                runner=runner,
                work=work,
                ray=ray,
            )
    except KeyboardInterrupt:
        total = bar.total if bar.total is not None else 0
        print(
            f"interrupted after {bar.done} of {total} samples; "
            "run the same command again to resume",
            file=sys.stderr,
        )
        raise typer.Exit(code=130) from None
    except BaseException:
        if new:  # the command fails: it leaves no model version it registered
            if work is not None:
                shutil.rmtree(work, ignore_errors=True)
            with contextlib.suppress(Exception):
                ws.delete_model_version(record.id)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    with progress() as step:
        if ks is not None:
            run.results = with_top_k(run.results, ks)
        step("Storing in the workspace")
        run.results.set_default_point(at)
        params: dict[str, Any] = {"batch": batch, "device": used}
        if ray is not None:
            params["ray"] = {"workers": ray.workers, "gpus_per_worker": ray.gpus_per_worker}
        # the work folder stays until the report is written (a failure there drops the evaluation)
        stored = store_model_run(
            ws, run, record.id, batch=batch, name=name, request=request, keep_work=True,
            params=params,
        )  # fmt: skip
    return run, stored, ws, params


def _ray_options(
    address: str | None, workers: int | None, gpus: float | None, device: str | None
) -> Any:
    """The :class:`~assay.runners.ray_run.RayOptions` of ``--ray`` (None without it)."""
    if address is None:
        return None
    from assay.runners.ray_run import RayOptions

    return RayOptions(
        address=address, workers=workers or 2, gpus_per_worker=gpus or 0.0, device=device
    )
