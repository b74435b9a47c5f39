"""One way for every command to report a user error: ``Error: …`` on stderr, no traceback."""

from __future__ import annotations

import typer


def fail(message: object, code: int = 1) -> typer.Exit:
    """Print ``Error: message`` on stderr and return the ``typer.Exit`` to raise.

    typer bundles its own click, so a ``click.ClickException`` raised from a command would print a
    traceback; raising this exit does not. Code 1: the run failed; 2: the input or flags are wrong.
    """
    typer.echo(f"Error: {message}", err=True)
    return typer.Exit(code)
