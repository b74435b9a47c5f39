"""The ``judgelm`` command. Thin: each subcommand lives in ``judgelm.commands.<name>`` as ``main``.

Command modules must stay cheap to import (no torch/transformers at module level), so that
``judgelm --help`` is instant.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
from typing import Any

import typer

from judgelm.commands import mark_start
from judgelm.commands.helpformat import CONTEXT_SETTINGS, Command, Group


def _debug() -> bool:
    return os.environ.get("JUDGELM_DEBUG", "").strip().lower() in ("1", "true", "yes", "on")


class _App(typer.Typer):
    """The ``judgelm`` command: an error no command expected is one ``Error:`` line (exit 1), its
    traceback only with ``--debug`` (the errors commands expect go through ``commands.errors.fail``)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:
            if _debug() or "--debug" in sys.argv[1:]:
                raise
            message = " ".join(str(exc).split()) or "(no message)"
            sys.stderr.write(f"Error: {type(exc).__name__}: {message} (run with --debug for the traceback)\n")
            sys.exit(1)


# help: click's plain layout wrapped to the terminal (judgelm.commands.helpformat); rich's table
# layout cut descriptions into slivers on narrow terminals and truncated defaults
app = _App(
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
    "doctor": "doctor",
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
    debug: bool = typer.Option(False, "--debug", help="Show the full traceback of an unexpected error "
                                                      "(also JUDGELM_DEBUG=1)."),
    version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    mark_start()
    if debug:
        os.environ["JUDGELM_DEBUG"] = "1"
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
