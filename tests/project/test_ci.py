"""CI runs what the README tells a user to run: `.ci/run` calls the README's test command verbatim."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_ci_runs_the_readme_test_command() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8").splitlines()
    marker = next(i for i, line in enumerate(readme) if line.startswith("# 2.") and "test suite" in line)
    command = readme[marker + 1].strip()
    assert command.startswith("scripts/setup.sh dev && .venv/bin/python -m pytest")
    ci = [line.strip() for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    assert command in ci, f".ci/run does not run the README's command {command!r}"
    assert "--durations=15" in command  # CI prints the slowest tests and the total
