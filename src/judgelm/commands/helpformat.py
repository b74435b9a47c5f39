"""Help that reads well at any terminal width.

Click's plain layout (not rich's table) wraps to the terminal, up to ``MAX_WIDTH`` columns; the
option column narrows on narrow terminals (long option names then get a line of their own) so a
description keeps at least ~40 characters a line instead of being cut into slivers, and defaults
are printed whole.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import typer
from typer.core import TyperCommand, TyperGroup

MAX_WIDTH = 120


# typer ships its own copy of click: take its classes from typer's public Context, not from click
_BaseFormatter = typer.Context.formatter_class


_NOTE = re.compile(r"\[[^\[\]]*\]")  # "[default: …]", "[required]", "[x>=1]"
_GLUE = {" ": "\x00", "-": "\x01"}  # stand-ins for a space / hyphen where the wrap must not break


class HelpFormatter(_BaseFormatter):  # type: ignore[misc, valid-type]
    """Definition lists whose first column shrinks with the terminal; bracketed notes stay whole."""

    def write_dl(self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        glue, unglue = str.maketrans(_GLUE), str.maketrans({v: k for k, v in _GLUE.items()})
        glued = [(term, _NOTE.sub(lambda m: m.group(0).translate(glue), text)) for term, text in rows]
        start = len(self.buffer)
        super().write_dl(glued, col_max=max(12, min(col_max, self.width // 4)), col_spacing=col_spacing)
        self.buffer[start:] = [part.translate(unglue) for part in self.buffer[start:]]


class HelpContext(typer.Context):
    formatter_class = HelpFormatter


class Command(TyperCommand):
    context_class = HelpContext


class Group(TyperGroup):
    context_class = HelpContext


#: settings for every judgelm command (``-h`` works like ``--help``)
CONTEXT_SETTINGS = {"max_content_width": MAX_WIDTH, "help_option_names": ["--help", "-h"]}
