"""The ``judgelm`` command. Thin: each subcommand lives in ``judgelm.commands.<name>`` as ``main``.

Command modules must stay cheap to import (no torch/transformers at module level), so that
``judgelm --help`` is instant.
"""

from __future__ import annotations

import importlib
import logging
import os

import typer

from judgelm.commands.helpformat import CONTEXT_SETTINGS, Command, Group

# help: click's plain layout wrapped to the terminal (judgelm.commands.helpformat); rich's table
# layout cut descriptions into slivers on narrow terminals and truncated defaults
app = typer.Typer(
    name="judgelm",
    help="Train, serve and evaluate fine-tuned LLM judges.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
    rich_markup_mode=None,
    context_settings=CONTEXT_SETTINGS,
    cls=Group,
)

#: command name → module under judgelm.commands (each defines ``main``)
COMMANDS: dict[str, str] = {
    "judge": "judge",
    "render": "render",
    "eval": "evaluate",
    "convert": "convert",
    "train": "train",
    "serve": "serve",
    "cascade": "cascade",
    "rank": "rank",
    "bench": "bench",
    "generate": "generate",
    "build": "build",
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("judgelm")
    except PackageNotFoundError:  # running from a source tree that is not installed
        from judgelm import __version__

        return __version__


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"judgelm {_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logging."),
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else getattr(logging, os.environ.get("JUDGELM_LOG", "INFO")),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _register() -> None:
    for name, module in COMMANDS.items():
        qualified = f"judgelm.commands.{module}"
        try:
            mod = importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name == qualified:  # command not written yet
                continue
            raise
        app.command(name, cls=Command)(mod.main)


_register()

if __name__ == "__main__":
    app()
