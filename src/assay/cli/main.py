"""The ``assay`` command: thin shells over evaluation and store.

Heavy modules (numpy, numba, the store, the server) are imported inside the commands, so
``assay --help`` and ``assay list`` answer at once.
"""

from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from assay.cli import analyze as analyze_cli
from assay.cli import datasets as datasets_cli
from assay.cli import models as models_cli
from assay.cli.errors import handle_errors
from assay.cli.inputs import (
    FORCE_HELP,
    MAX_ID,
    answers_stored,
    check_input_paths,
    check_stored,
    evaluation_request,
    id_parser,
    refuse_repeats,
)
from assay.cli.models import (
    Channels,
    InputSize,
    LabelsFile,
    Layout,
    Mean,
    SpecFile,
    SpecOptions,
    Std,
    missing_extra_as_input,
    register,
    resolve_model,
)

EVALUATION_ID = id_parser("evaluation")
MODEL_VERSION_ID = id_parser("model version")


class _FlagsShowNoType:
    """Flags (``--intervals``, ``--help``) take no value: show no ``<bool>`` placeholder for them."""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


class Command(_FlagsShowNoType, TyperCommand):
    pass


class Group(_FlagsShowNoType, TyperGroup):
    pass


app = typer.Typer(
    name="assay",
    cls=Group,
    help="Evaluate classifiers and object detectors against a labeled test set.",
    rich_markup_mode="rich",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from assay import __version__

        typer.echo(f"assay {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Evaluate classifiers and object detectors against a labeled test set."""


def _workspace():  # noqa: ANN202 - lazy import keeps start-up fast
    from assay.store import Workspace

    return Workspace()


JSON_HELP = "Write the JSON report to this file ('-': stdout, which then carries only the JSON)."


def _write_json(payload: Any, out: Path) -> None:
    import orjson

    data = orjson.dumps(payload, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    if str(out) == "-":
        sys.stdout.buffer.write(data + b"\n")
        sys.stdout.flush()
    else:
        tmp = out.with_name(out.name + ".tmp")
        try:
            tmp.write_bytes(data + b"\n")
            tmp.replace(out)
        except OSError as exc:  # a full disk, a folder removed meanwhile: one line, no .tmp left
            tmp.unlink(missing_ok=True)
            from assay.errors import InputError

            reason = exc.strerror or str(exc)
            raise InputError(f"cannot write the report ({reason})", file=str(out)) from None


def _to_stdout(json_out: Path | None) -> bool:
    return json_out is not None and str(json_out) == "-"


def _check_out_path(out: Path | None, option: str = "--json") -> None:
    """A file the command writes must be writable where it is named: checked before any work."""
    if out is None or _to_stdout(out):
        return
    if out.is_dir():
        raise typer.BadParameter(f"{out} is a folder, expected a file", param_hint=option)
    if not out.parent.is_dir():
        raise typer.BadParameter(f"{out.parent} does not exist", param_hint=option)
    if not os.access(out.parent, os.W_OK | os.X_OK):
        raise typer.BadParameter(f"cannot write in {out.parent}", param_hint=option)


def _parse_top_k(text: str | None) -> tuple[int, ...] | None:
    """``"1,3,5"`` -> (1, 3, 5); a BadParameter naming --top-k otherwise."""
    if text is None:
        return None
    try:
        ks = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        ks = ()
    if not ks or any(k < 1 for k in ks):
        raise typer.BadParameter(
            f"{text!r}: expected positive integers separated by commas, e.g. 1,3,5",
            param_hint="--top-k",
        )
    return tuple(dict.fromkeys(ks))


MODEL_HELP = (
    "A model to run over the ground truth: a model file or folder (registered first), or a "
    "registered model NAME, NAME:VERSION or #ID (see assay models list)."
)


@app.command(cls=refuse_repeats(Command))
@handle_errors
@answers_stored
def evaluate(
    gt: Annotated[
        Path,
        typer.Option(
            "--gt", help="Ground truth: CSV/JSONL/Parquet, ImageFolder, COCO, YOLO or VOC."
        ),
    ],
    pred: Annotated[
        Path | None,
        typer.Option("--pred", help="Predictions: a score table or COCO results JSON."),
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
    parent: Annotated[
        int | None,
        typer.Option(
            help="Id of the parent model version (e.g. the FP32 parent of an INT8 model).",
            parser=MODEL_VERSION_ID,
        ),
    ] = None,
    images: Annotated[Path | None, typer.Option(help="Folder of the images (detection).")] = None,
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
    if pred is not None:
        for flag, given in (("--batch", batch is not None), *((f, True) for f in options.given)):
            if given:
                raise typer.BadParameter("applies to --model runs only", param_hint=flag)
    elif logits:
        raise typer.BadParameter(
            "applies to --pred files; a model's scores follow its spec's activation",
            param_hint="--logits",
        )
    at = _point(threshold, iou, score)
    ks = _parse_top_k(top_k)
    _check_out_path(json_out)
    check_input_paths(gt, pred, images)  # never a pipe, a device or a file over the cap
    request = evaluation_request(evaluate, locals())  # the same again: AlreadyStored
    if model is not None:
        run, record, ws, params = _evaluate_model(
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
        )
        point = run.results.point(at)
    else:
        from assay.evaluation.run import evaluate_files
        from assay.store.runs import save_run

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
                run.results = _with_top_k(run.results, ks)
            step("Storing in the workspace")
            run.results.set_default_point(at)
            point = run.results.point()
            params = {"logits": logits}
            ws = _workspace()
            record = save_run(
                ws, run, model=model_name, name=name, parent_version_id=parent, params=params,
                request=request,
            )  # fmt: skip
    out = make_console(stderr=_to_stdout(json_out))
    warn = make_console(stderr=True)
    for note in run.notes:  # warnings: one line each, on stderr
        warn.print(Text(note), soft_wrap=True)  # a path in a note is never broken
    try:
        report = _report(run.results, point, intervals=intervals)
        if json_out is not None:
            _write_json({"id": record.id, **report}, json_out)
    except BaseException:
        ws.delete_evaluation(record.id)  # the command failed: it leaves nothing stored
        ws.collect_garbage()
        raise
    if model is not None:
        _remove_work(run.pred_source.parent)
    if not _to_stdout(json_out):
        print_report(report, console=out)
        out.print(f"\nStored as evaluation [bold]{record.id}[/]  (assay show {record.id})")


def _work_key(record: Any, gt: Path, batch: int, extra: tuple[Any, ...]) -> str:
    """The work folder of a model run: the same model version (files and spec), ground truth
    (path and content), batch size and reading options give the same folder."""
    import hashlib

    from assay.store.artifacts import hash_path

    digest = hashlib.sha256()
    resolved = gt.resolve()
    content = hash_path(resolved) if resolved.exists() else "missing"
    for part in (record.id, record.hash, str(resolved), content, batch, *extra):
        digest.update(f"{part}\0".encode())
    return digest.hexdigest()[:32]


def _remove_work(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def _evaluate_model(
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
) -> tuple[Any, Any, Any, dict[str, Any]]:
    """Register (a path) or find (a name) the model, run it over ``gt`` with a progress bar,
    evaluate and store: (the run, its evaluation record, the workspace, the params)."""
    import signal

    from assay.cli.report import InferenceProgress, progress
    from assay.evaluation.model_run import evaluate_model
    from assay.store.runs import save_run

    ws = _workspace()
    if not gt.exists():
        from assay.errors import InputError

        raise InputError("no such file or folder", file=str(gt))
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
    work = (
        ws.home
        / "work"
        / _work_key(
            record, gt, batch, (task, str(images.resolve()) if images else None, allow_outside)
        )
    )
    bar = InferenceProgress()
    previous = signal.getsignal(signal.SIGTERM)

    def terminate(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        with missing_extra_as_input():
            runner = ws.load_model_runner(record.id)
        signal.signal(signal.SIGTERM, terminate)
        with bar:
            run = evaluate_model(
                gt,
                runner,
                task=task,
                threshold=threshold,
                images_root=images,
                allow_outside=allow_outside,
                batch_size=batch,
                work_dir=work,
                progress=bar,
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
            _remove_work(work)
            with contextlib.suppress(Exception):
                ws.delete_model_version(record.id)
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    with progress() as step:
        if ks is not None:
            run.results = _with_top_k(run.results, ks)
        step("Storing in the workspace")
        run.results.set_default_point(at)
        params: dict[str, Any] = {"batch": batch}
        stored = save_run(
            ws,
            run,
            name=name,
            params=params,
            model_version_id=record.id,
            predictions_file=run.pred_source,
            request=request,
        )
    return run, stored, ws, params


INTERVALS_HELP = "Add 95 % bootstrap confidence intervals to the metrics."
OUTSIDE_HELP = (
    "Accept media paths (a table's path, COCO / VOC file_name, YOLO images) outside the "
    "dataset's folder: absolute, ../ or links leading out (refused by default)."
)
TOP_K_HELP = "Top-k accuracies to report, e.g. 1,3,5 (default: 1, 3 and 5 below the class count)."


def _point(threshold: float | None, iou: float | None, score: float | None) -> Any:
    """The operating point of the options; a bad value is a usage error naming its option."""
    from assay.errors import ParameterError
    from assay.evaluation.results import OperatingPoint

    try:
        return OperatingPoint(threshold=threshold, iou=iou, score=score)
    except ParameterError as exc:
        option, _, message = str(exc).partition(": ")
        raise typer.BadParameter(message, param_hint=f"--{option}") from None


def _with_top_k(results: Any, ks: tuple[int, ...]) -> Any:
    """The same results reporting top-k accuracy for ``ks`` (kept in the stored meta); results
    without top-k accuracy (multi-label, detection) are given back as they are, with a warning."""
    from assay.evaluation.results import results_from_arrays

    if not results.summary().get("top_k"):
        print("Warning: --top-k ignored: top-k accuracy is for single-label classification",
              file=sys.stderr)  # fmt: skip
        return results
    arrays, meta = results.arrays()
    return results_from_arrays(arrays, {**meta, "top_k": list(ks)})


def _report(results: Any, at: Any, *, intervals: bool) -> dict[str, Any]:
    """The results' JSON report at ``at``, with bootstrap intervals only when asked for."""
    report: dict[str, Any] = results.report(at)
    report["intervals"] = results.intervals(at=at) if intervals else None
    return report


@app.command("list", cls=Command)
@handle_errors
def list_(
    json_out: Annotated[
        Path | None,
        typer.Option("--json", help="Write the list as a JSON array to this file ('-': stdout)."),
    ] = None,
) -> None:
    """List the stored evaluations, newest first."""
    from assay.cli.report import print_evaluations
    from assay.store import evaluation_public

    _check_out_path(json_out)
    rows = [evaluation_public(r) for r in _workspace().list_evaluations()]
    if json_out is not None:
        _write_json(rows, json_out)
    if not _to_stdout(json_out):
        print_evaluations(datasets_cli.with_version_ids(rows))  # "pets v1 (#3)"


@app.command(cls=Command)
@handle_errors
def show(
    evaluation_id: Annotated[
        int,
        typer.Argument(help="The evaluation's id (see `assay list`).", parser=EVALUATION_ID),
    ],
    threshold: Annotated[
        float | None,
        typer.Option(help="Classification: the threshold (default: the evaluation's)."),
    ] = None,
    iou: Annotated[
        float | None,
        typer.Option(help="Detection: IoU for the confusion matrix and P/R/F1."),
    ] = None,
    score: Annotated[
        float | None,
        typer.Option(help="Detection: minimum score for the confusion matrix and P/R/F1."),
    ] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help=JSON_HELP)] = None,
    intervals: Annotated[bool, typer.Option("--intervals", help=INTERVALS_HELP)] = False,
    top_k: Annotated[str | None, typer.Option("--top-k", help=TOP_K_HELP, metavar="<ks>")] = None,
) -> None:
    """Show a stored evaluation, at its own operating point or another one."""
    from assay.cli.report import make_console, print_report, say
    from assay.store.comparisons import stored_point

    ks = _parse_top_k(top_k)
    _check_out_path(json_out)
    ws = _workspace()
    record = ws.get_evaluation(evaluation_id)
    for note in (record.params or {}).get("notes") or []:  # the run's warnings, on stderr
        print(note, file=sys.stderr)
    given = _point(threshold, iou, score)  # the rest: the evaluation's stored point
    at = stored_point(ws, evaluation_id, asdict(given))
    results = ws.load_results(evaluation_id)
    if ks is not None:
        results = _with_top_k(results, ks)
    report = _report(results, at, intervals=intervals)
    if json_out is not None:
        _write_json({"id": evaluation_id, **report}, json_out)
    if not _to_stdout(json_out):
        out = make_console()
        say([f"Evaluation {evaluation_id}", record.name], console=out, style="bold")
        print_report(report, console=out)


@app.command(cls=Command)
@handle_errors
def delete(
    evaluation_id: Annotated[
        int, typer.Argument(help="The evaluation's id.", parser=EVALUATION_ID)
    ],
) -> None:
    """Delete a stored evaluation and its arrays."""
    from rich.console import Console

    _workspace().delete_evaluation(evaluation_id)
    Console().print(f"Deleted evaluation {evaluation_id}.")


@app.command(cls=Command)
@handle_errors
def export(
    evaluation_id: Annotated[
        int,
        typer.Argument(help="The evaluation's id (see `assay list`).", parser=EVALUATION_ID),
    ],
    predictions: Annotated[
        Path,
        typer.Option(
            "--predictions",
            help="Write the model run's predictions file here ('-': stdout).",
        ),
    ],
) -> None:
    """Hand back the predictions file a model run stored with its evaluation."""
    from assay.errors import InputError

    ws = _workspace()
    record = ws.get_evaluation(evaluation_id)
    source = ws.predictions_file(evaluation_id)
    if source is None:
        given = (record.params or {}).get("pred")
        if given:
            raise InputError(
                f"evaluation {evaluation_id} was made from a predictions file you gave "
                "(Assay keeps no copy of it)",
                file=str(given),
            )
        raise InputError(f"evaluation {evaluation_id} has no stored predictions")
    if str(predictions) == "-":
        sys.stdout.buffer.write(source.read_bytes())
        sys.stdout.flush()
        return
    _check_out_path(predictions, "--predictions")
    tmp = predictions.with_name(f".{predictions.name}.tmp")
    try:
        tmp.write_bytes(source.read_bytes())
        tmp.replace(predictions)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        reason = exc.strerror or str(exc)
        raise InputError(
            f"cannot write the predictions ({reason})", file=str(predictions)
        ) from None
    typer.echo(f"Wrote the predictions of evaluation {evaluation_id} to {predictions}")


@app.command(cls=Command)
@handle_errors
def serve(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    token: Annotated[
        str | None,
        typer.Option(
            envvar="ASSAY_TOKEN",
            help="Access token the UI and API clients must present, at least 16 characters "
            "(default: generated and printed when --host is not loopback). Prefer setting "
            "ASSAY_TOKEN: a --token value is visible to every user in the process list.",
        ),
    ] = None,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Serve without a token, even on a non-loopback host.")
    ] = False,
    data_root: Annotated[
        list[Path] | None,
        typer.Option(
            "--data-root",
            metavar="<dir>",
            help="A folder whose files POST /api/datasets and /api/evaluations may read "
            "(repeatable; the workspace always is one).",
        ),
    ] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            metavar="<name>",
            help="Another host name the server is reached by (repeatable; IP addresses, "
            "localhost and --host always are).",
        ),
    ] = None,
    allow_code_models: Annotated[
        bool,
        typer.Option(
            "--allow-code-models",
            help="Run models whose format carries code (TorchScript, pickled weights) even "
            "where the kernel has no Landlock to confine them (they run in a worker with "
            "memory and time limits, but may read any file this user can).",
        ),
    ] = False,
) -> None:
    """Serve the REST API and the web UI. Every model is loaded and run in a sandboxed worker
    process (Landlock where the kernel has it, memory and time limits, no secrets)."""
    from assay.server.app import create_app, serve_app
    from assay.server.config import access_for

    source = ctx.get_parameter_source("token")
    if token and getattr(source, "name", None) == "COMMANDLINE":  # not from ASSAY_TOKEN
        print(
            "Warning: a --token value is visible to every user of this machine in the process "
            "list; set ASSAY_TOKEN instead",
            file=sys.stderr,
        )
    try:
        plan = access_for(host, token=token, no_auth=no_auth)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--token") from None
    app = create_app(
        host=host,
        token=plan.token,
        require_token=plan.require_token,
        allowed_hosts=allow_host or [],
        data_roots=data_root or [],
        allow_code_models=allow_code_models,
    )
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    typer.echo(f"Assay is serving on {url}  (workspace: {app.state.workspace.home})")
    banner = plan.banner(url)
    if banner:
        typer.echo(banner)
    serve_app(app, host=host, port=port)


@app.command(cls=Command)
@handle_errors
def compare(
    a: Annotated[
        str,
        typer.Argument(
            help="A, the baseline: a stored evaluation id (see `assay list`), or a predictions "
            "file (with --gt, or alone for predictions without annotations).",
            metavar="A",
        ),
    ],
    b: Annotated[
        str,
        typer.Argument(help="B, the candidate, on the same data: an id or a file.", metavar="B"),
    ],
    gt: Annotated[
        Path | None,
        typer.Option(
            "--gt",
            help="Ground truth for A and B given as predictions files: both are evaluated on it "
            "and compared (nothing is stored).",
        ),
    ] = None,
    fail_if_worse: Annotated[
        str | None,
        typer.Option(
            "--fail-if-worse",
            metavar="<metrics>",
            help="Exit 1 when B is significantly worse than A on one of these metrics, e.g. "
            "accuracy,macro_f1 or AP,AP50 (a CI gate; exit 0 otherwise). The metrics are one "
            "family: Holm's correction across them. With --margin: exit 1 unless B is shown "
            "non-inferior on each.",
        ),
    ] = None,
    margin: Annotated[
        float | None,
        typer.Option(
            "--margin",
            help="Non-inferiority / equivalence margin, in percentage points for metrics shown "
            "in points (accuracy, F1, precision, recall: --margin 0.5 is half a point) and in "
            "the metric's own units otherwise (mAP, AUC, log loss: 0.005). With "
            "--fail-if-worse the gate fails only when the worst plausible drop (the interval's "
            "bad-side bound at the gate's Holm level) exceeds it; the answer also says whether "
            "B is equivalent to A within ±margin (TOST). Applies to the --fail-if-worse "
            "metrics, else the primary metric (accuracy; mAP for detection).",
            min=0.0,
        ),
    ] = None,
    threshold: Annotated[
        float | None,
        typer.Option(
            help="Files: the threshold of both (default: the argmax; multi-label 0.5; "
            "stored: each its own)."
        ),
    ] = None,
    iou: Annotated[
        float | None, typer.Option(help="Detection files: IoU of P/R/F1 and of box agreement.")
    ] = None,
    score: Annotated[
        float | None,
        typer.Option(
            help="Detection files: minimum confidence of a box (default: each side's "
            "F1-optimal confidence)."
        ),
    ] = None,
    resamples: Annotated[
        int | None,
        typer.Option(
            help="Paired bootstrap resamples (default 1000; 200 for detection).",
            min=50,
            max=10_000,
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the resamples.")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help=JSON_HELP)] = None,
) -> None:
    """Compare B with A on the same data: metric differences B − A, each with an interval and
    p-value from one procedure (Tango's score interval and McNemar's test for accuracy; the
    paired bootstrap's SE and its z-test for the others), verdicts Holm-adjusted across the
    headline rows, per-class rows with Holm's correction, and the samples (images) B fixed or
    broke. A and B are stored evaluations, or
    predictions files with --gt. Two predictions files without --gt are compared without
    annotations: agreement, the flip matrix and the samples that changed most."""
    from assay.cli.compare import (
        compare_files,
        gate,
        parse_gate,
        print_agreement,
        print_comparison,
    )
    from assay.cli.report import make_console
    from assay.errors import ParameterError

    metrics = parse_gate(fail_if_worse)
    _check_out_path(json_out)
    ids = _evaluation_ids(a, b) if gt is None else None
    if ids is not None:
        from assay.store.comparisons import compare_stored

        result = compare_stored(_workspace(), ids[0], ids[1], n=resamples, seed=seed,
                                margin=margin, margin_metrics=metrics or None)  # fmt: skip
    else:
        result = compare_files(
            gt, Path(a), Path(b), threshold=threshold, iou=iou, score=score, n=resamples,
            seed=seed, margin=margin, margin_metrics=metrics or None,
        )  # fmt: skip
    if "metrics" not in result:  # no annotations: agreement only
        if metrics:
            raise ParameterError("--fail-if-worse needs annotations: give --gt, or stored ids")
        if json_out is not None:
            _write_json(result, json_out)
        if not _to_stdout(json_out):
            print_agreement(result, make_console())
        return
    failures = gate(result, metrics)
    if json_out is not None:
        rule = (
            "non-inferiority at the margin, Holm across the gate's metrics"
            if margin is not None
            else "significantly worse, Holm across the gate's metrics"
        )
        _write_json(
            {**result, "gate": {"metrics": list(metrics), "failed": failures, "margin": margin,
                                "rule": rule if metrics else None}},
            json_out,
        )  # fmt: skip
    if not _to_stdout(json_out):
        print_comparison(result, make_console())
    for line in failures:
        print(f"Gate failed: {line}", file=sys.stderr)
    if failures:
        raise typer.Exit(code=1)


@app.command(cls=Command)
@handle_errors
def leaderboard(
    evaluation: Annotated[
        int,
        typer.Argument(
            help="Any evaluation of the dataset version to rank (see `assay list`).",
            metavar="EVAL",
            parser=EVALUATION_ID,
        ),
    ],
    metric: Annotated[
        str | None,
        typer.Option(help="Rank by this metric (default accuracy; AP for detection)."),
    ] = None,
    resamples: Annotated[
        int | None,
        typer.Option(
            help="Bootstrap resamples (default 1000; 200 for detection).", min=50, max=10_000
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the resamples.")] = 0,
    json_out: Annotated[Path | None, typer.Option("--json", help=JSON_HELP)] = None,
) -> None:
    """Rank every evaluation of EVAL's dataset version by a metric, each with its 95% interval
    and the ranks it may hold, marking which are significantly worse than the best: one max-T
    bootstrap over all pairs (simultaneous, so equal models are called worse on about 5% of
    boards), and the winner's interval that accounts for its selection."""
    from assay.cli.compare import print_leaderboard
    from assay.cli.report import make_console
    from assay.store.comparisons import leaderboard_stored

    _check_out_path(json_out)
    ws = _workspace()
    record = ws.get_evaluation(evaluation)
    board = leaderboard_stored(ws, record.dataset_version.id, metric, n=resamples, seed=seed)
    if json_out is not None:
        _write_json(board, json_out)
    if not _to_stdout(json_out):
        print_leaderboard(board, make_console())


def _evaluation_ids(a: str, b: str) -> tuple[int, int] | None:
    """Both arguments as stored evaluation ids, or None when both name existing files; a mix,
    or a word that is neither, is a usage error."""
    from assay.errors import InputError, ParameterError

    def as_id(text: str) -> int | None:
        t = text.strip().lstrip("#")
        if not (t.isascii() and t.isdigit()) or Path(text).exists():
            return None
        if len(t) > len(str(MAX_ID)) or int(t) > MAX_ID:
            shown = t if len(t) <= 40 else t[:40] + "..."
            raise ParameterError(f"evaluation id {shown} is out of range (ids are 0 to {MAX_ID})")
        return int(t)

    ia, ib = as_id(a), as_id(b)
    if ia is not None and ib is not None:
        return ia, ib
    for text, parsed in ((a, ia), (b, ib)):
        if parsed is None and not Path(text).exists():
            raise InputError("neither a stored evaluation id nor an existing file", file=text)
    if (ia is None) != (ib is None):
        raise ParameterError("give two evaluation ids or two predictions files, not one of each")
    return None


def _add_group(name: str, help_text: str, commands: dict[str, Any]) -> None:
    """A command group (``assay models ...``) of ``commands`` (name -> function)."""
    group = typer.Typer(
        name=name,
        cls=Group,
        help=help_text,
        rich_markup_mode="rich",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
    )
    for command, function in commands.items():
        group.command(command, cls=Command)(function)
    app.add_typer(group, name=name)


_add_group(
    "models",
    "Register model versions Assay can run, and list them.",
    {"add": models_cli.add, "list": models_cli.list_models},
)
_add_group(
    "datasets",
    "Register dataset versions (test sets, training sets), and list them.",
    {"add": datasets_cli.add, "list": datasets_cli.list_datasets},
)
app.command("analyze", cls=Command)(analyze_cli.analyze)


def main() -> None:  # pragma: no cover - console entry point
    app()
