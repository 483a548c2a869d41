"""The ``assay`` command: the Typer app and its table of commands, each a thin shell over
evaluation and store in a module of its own.

    evaluate                        cli/evaluate.py
    list, show, delete, export      cli/evaluations.py
    serve                           cli/serve.py
    compare, leaderboard            cli/compare_commands.py (printed by cli/compare.py)
    analyze                         cli/analyze.py
    report                          cli/report_cmd.py (built by reports/)
    models add / list               cli/models.py
    datasets add / list             cli/datasets.py

What several commands share is in cli/shared.py (the workspace, ``--json``, the operating point),
cli/inputs.py (checks before any work, ids), cli/errors.py (the one line an error prints) and
cli/report.py (the printed report). Heavy modules (numpy, numba, the store, the server) are
imported inside the commands, so ``assay --help`` and ``assay list`` answer at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from assay.cli import (
    analyze,
    compare_commands,
    datasets,
    evaluate,
    evaluations,
    models,
    optimize,
    report_cmd,
    serve,
)
from assay.cli.inputs import refuse_repeats
from assay.cli.mlflow_cli import mlflow_run_argument


class _CoercedOnValue:
    """typer's coercion of one parameter, built at the parameter's first value: typer 0.2x builds
    it with pydantic (~0.1 s of imports) even for a parameter left out, which typer answers with
    None (``()`` when it takes several values) whatever its type, as this does without building it.
    So ``assay list``, whose one option is usually left out, never imports pydantic."""

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:
            return () if param.multiple or param.nargs == -1 else None
        param._runtime_param = None  # typer's own, built now and kept
        return param.get_runtime_param().coerce(value, param=param, ctx=ctx)


def _coerce_on_value(params: list[Any]) -> None:
    """Give each typer parameter not yet coerced a :class:`_CoercedOnValue` (a no-op with a
    typer that coerces otherwise)."""
    for param in params:
        if getattr(param, "_runtime_param", False) is None and hasattr(param, "get_runtime_param"):
            param._runtime_param = _CoercedOnValue()


class _FlagsShowNoType:
    """Flags (``--intervals``, ``--help``) take no value: show no ``<bool>`` placeholder for them.
    (And every parameter, ``--help`` included, is coerced by :class:`_CoercedOnValue`.)"""

    def get_params(self, ctx: Any) -> list[Any]:
        params: list[Any] = super().get_params(ctx)  # type: ignore[misc]
        _coerce_on_value(params)
        for param in params:
            if getattr(param, "is_flag", False) and param.metavar is None:
                param.metavar = ""
        return params


class Command(_FlagsShowNoType, TyperCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # the list of commands shows the docstring's first paragraph as one run of text, not
        # broken where the source lines break
        if self.short_help is None and self.help:
            self.short_help = " ".join(self.help.split("\n\n")[0].split())


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


def _add_group(name: str, help_text: str, commands: dict[str, Callable[..., Any]]) -> None:
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


# The commands, in the order `assay --help` lists them (the groups come after them).
app.command("evaluate", cls=mlflow_run_argument(refuse_repeats(Command)))(evaluate.evaluate)
app.command("list", cls=Command)(evaluations.list_evaluations)
app.command("show", cls=Command)(evaluations.show)
app.command("delete", cls=Command)(evaluations.delete)
app.command("export", cls=Command)(evaluations.export)
app.command("serve", cls=Command)(serve.serve)
app.command("compare", cls=mlflow_run_argument(Command))(compare_commands.compare)
app.command("leaderboard", cls=Command)(compare_commands.leaderboard)
app.command("report", cls=Command)(report_cmd.report)
_add_group(
    "models",
    "Register model versions Assay can run, list, optimise and profile them.",
    {
        "add": models.add,
        "list": models.list_models,
        "optimize": optimize.optimize,
        "profile": optimize.profile,
    },
)
_add_group(
    "datasets",
    "Register dataset versions (test sets, training sets), and list them.",
    {"add": datasets.add, "list": datasets.list_datasets},
)
app.command("analyze", cls=mlflow_run_argument(Command))(analyze.analyze)


def main() -> None:  # pragma: no cover - console entry point
    app()
