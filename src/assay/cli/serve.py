"""``assay serve``: the REST API and the web UI in one process (``cli.main`` mounts the command).
The server is imported when the command runs, so ``assay --help`` stays fast."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from assay.cli.errors import handle_errors


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
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            metavar="<address>",
            help="Send model jobs (Calculate) to this Ray cluster: auto (the cluster 'ray start' "
            "runs here, or RAY_ADDRESS) or ADDRESS (the 'cluster' extra). Each worker runs the "
            "model in a sandboxed worker; models and datasets must be on storage the workers see.",
        ),
    ] = None,
    ray_workers: Annotated[
        int, typer.Option("--ray-workers", min=1, max=4096, help="--ray: runner actors per job.")
    ] = 2,
    gpus_per_worker: Annotated[
        float,
        typer.Option("--gpus-per-worker", min=0.0, max=64.0, help="--ray: GPUs per actor."),
    ] = 0.0,
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
    ray_options = _ray_options(ray, ray_workers, gpus_per_worker)
    app = create_app(
        host=host,
        token=plan.token,
        require_token=plan.require_token,
        allowed_hosts=allow_host or [],
        data_roots=data_root or [],
        allow_code_models=allow_code_models,
        ray=ray_options,
    )
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
    typer.echo(f"Assay is serving on {url}  (workspace: {app.state.workspace.home})")
    banner = plan.banner(url)
    if banner:
        typer.echo(banner)
    if ray_options is not None:
        typer.echo(f"Model jobs run on the Ray cluster at {ray} ({ray_workers} workers each)")
    serve_app(app, host=host, port=port)


def _ray_options(address: str | None, workers: int, gpus: float) -> Any:
    """The :class:`~assay.runners.ray_run.RayOptions` of ``--ray``, its cluster checked to answer
    (None without it)."""
    if address is None:
        return None
    if address == "local":
        raise typer.BadParameter(
            "a server's jobs need a running cluster: start one with 'ray start --head' and give "
            "its address (or auto)",
            param_hint="--ray",
        )
    from assay.runners.ray_run import RayOptions, connect, probe_address

    probe_address(address)  # no cluster there: one line, exit 2
    try:
        import ray

        already = ray.is_initialized()
    except ImportError:
        already = False
    handle = connect(address)  # the cluster extra missing: one line
    if not already:
        handle.shutdown()  # each job's process connects on its own
    return RayOptions(address=address, workers=workers, gpus_per_worker=gpus)
