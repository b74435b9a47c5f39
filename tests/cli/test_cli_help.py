"""`judgelm --help` reads well at any width, and `judgelm --version` answers."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from support import REPO

import judgelm

#: the commands a new user meets first, and the widest option tables
COMMANDS = ["", "judge", "eval", "serve", "cascade", "rank", "train"]
MODE_HELP = ("pair | single | multi | vqa (default: single for 1 answer, pair for 2, multi beyond; multi-turn "
             "samples are judged with their history in any mode)")


def _cli(args: list[str], columns: int = 80) -> str:
    """The real command in a subprocess (click's test runner forces 80 columns)."""
    env = {**os.environ, "COLUMNS": str(columns), "PYTHONPATH": str(REPO / "src")}
    res = subprocess.run([sys.executable, "-m", "judgelm.cli", *args], capture_output=True, text=True, env=env,
                         timeout=120, check=False)
    assert res.returncode == 0, res.stderr
    return res.stdout


def _help(args: list[str], columns: int) -> str:
    return _cli([*args, "--help"], columns)


def _lines_of(text: str, help_text: str) -> list[str]:
    """The help lines that hold ``help_text`` (matched word by word across line breaks)."""
    lines = text.splitlines()
    words = help_text.split()
    for i, line in enumerate(lines):
        if words[0] in line.split():
            got, j = [], i
            while j < len(lines) and len(got) < len(words):
                got += lines[j].split()[(lines[j].split().index(words[0]) if j == i else 0):]
                j += 1
            if got[: len(words)] == words:
                return lines[i:j]
    raise AssertionError(f"{help_text!r} not in the help")


@pytest.mark.parametrize("columns", [60, 200])
@pytest.mark.parametrize("command", COMMANDS)
def test_help_fits_the_terminal_and_keeps_defaults_whole(command: str, columns: int) -> None:
    text = _help([command] if command else [], columns)
    width = min(columns, 120)
    assert max(len(line) for line in text.splitlines()) <= width
    for line in text.splitlines():  # a "[default: …]" / "[required]" note is never split over lines
        assert line.count("[") == line.count("]"), line


def test_descriptions_are_not_cut_into_slivers() -> None:
    narrow = _lines_of(_help(["judge"], 60), MODE_HELP)
    wide = _lines_of(_help(["judge"], 200), MODE_HELP)
    assert len(narrow) <= 6 and len(wide) <= 3
    # wrapped description lines carry ≥ 30 characters of text, not 12-character slivers
    body = [line.strip() for line in narrow[1:-1]]
    assert body and min(len(b) for b in body) >= 30
    assert "[default: judgelm]" in _help(["judge"], 60) and "[default: judgelm]" in _help(["judge"], 200)
    assert "Judge only the first N samples.  [x>=1]" in _help(["judge"], 200)


def test_version() -> None:
    assert _cli(["--version"]).strip() == f"judgelm {judgelm.__version__}"
