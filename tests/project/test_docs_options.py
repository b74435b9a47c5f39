"""The docs match the CLI (issue 27): every ``--option`` a judgelm command line in docs/ or the
README names exists in the CLI, and every (visible) CLI option is documented somewhere in docs/ or
the README. Flags of other programs on the same line (pip, curl, torchrun, the benchmark scripts)
are not judgelm's and are left out by where they stand: a flag belongs to the nearest program
named before it on its line (or on the command's first line, for continued lines)."""

from __future__ import annotations

import re
from pathlib import Path

import typer.main

from judgelm.cli import app

REPO = Path(__file__).resolve().parents[2]
DOCS = sorted((REPO / "docs").glob("*.md")) + [REPO / "README.md"]
FLAG = re.compile(r"(?<![\w-])--[a-z](?:[a-z0-9-]*[a-z0-9])?")
#: a program named on a line: judgelm itself, or another one whose flags are its own
PROGRAM = re.compile(r"(?<![\w/.-])(judgelm(?:\.cli)?|[\w./]*\w+\.py|[\w./-]*\w+\.sh|gpucheck|pip|curl|torchrun"
                     r"|accelerate|pytest|python -m (?!judgelm)[\w.]+|llama-server|vllm serve|git|uv)(?![\w-])")
#: the help flag comes from click, not from a command's own options
CLICK = {"--help"}
#: flags of the GPU check script (benchmarks/gpu/gpucheck) named in table rows and bullets of
#: docs/benchmarks.md, where no program is named on the line
FOREIGN = {"--target", "--skip", "--base"}


def cli_options() -> tuple[dict[str, set[str]], set[str]]:
    """``--option`` → commands that take it (visible), and the hidden former names."""
    root = typer.main.get_command(app)
    visible: dict[str, set[str]] = {}
    hidden: set[str] = set()
    for name, cmd in [("(root)", root), *root.commands.items()]:  # type: ignore[attr-defined]
        for p in cmd.params:
            for opt in [*p.opts, *p.secondary_opts]:
                if opt.startswith("--"):
                    (hidden.add(opt) if getattr(p, "hidden", False) else visible.setdefault(opt, set()).add(name))
    return visible, hidden


def doc_flags() -> dict[str, set[str]]:
    """Flags that docs attribute to judgelm (by the nearest program before them) → where."""
    found: dict[str, set[str]] = {}
    for path in DOCS:
        program = None  # the program a paragraph (or a continued command) is about
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip() or line.startswith(("#", "|", "```")):
                program = None
            spans = [(m.start(), m.group(1)) for m in PROGRAM.finditer(line)]
            for m in FLAG.finditer(line):
                before = [p for pos, p in spans if pos < m.start()]
                owner = before[-1] if before else program
                if owner is None or owner.startswith("judgelm"):
                    found.setdefault(m.group(0), set()).add(f"{path.name}:{n}")
            if spans:
                program = spans[-1][1]
    return found


def test_every_documented_option_exists() -> None:
    visible, hidden = cli_options()
    unknown = {flag: sorted(where)[:3] for flag, where in doc_flags().items()
               if flag not in visible and flag not in hidden and flag not in CLICK | FOREIGN}
    assert not unknown, f"docs name options the CLI does not have: {unknown}"


def test_every_cli_option_is_documented() -> None:
    visible, _ = cli_options()
    text = "\n".join(p.read_text(encoding="utf-8") for p in DOCS)
    named = set(FLAG.findall(text))
    def documented(flag: str) -> bool:  # a --x/--no-x pair is documented by either name
        return flag in named or flag.replace("--no-", "--", 1) in named or flag.replace("--", "--no-", 1) in named

    missing = {flag: sorted(cmds) for flag, cmds in visible.items() if not documented(flag) and flag not in CLICK}
    assert not missing, f"CLI options no page in docs/ mentions: {missing}"


def test_environment_variables_and_judge_specs_in_docs_exist() -> None:
    """Every ``JUDGELM_*`` variable the docs name is read by the code (or the tests, scripts, CI), and every judge
    spec after ``--judge``/``--stage1``/``--stage2``/``--teacher`` names an engine that exists."""
    from judgelm.engines import parse_spec

    text = "\n".join(p.read_text(encoding="utf-8") for p in DOCS)
    code = "\n".join(p.read_text(encoding="utf-8") for p in [*(REPO / "src").rglob("*.py"), *(REPO / "tests").rglob("*.py"),
                                                             *(REPO / "benchmarks").rglob("*.py"),
                                                             *(REPO / "scripts").glob("*.sh"), REPO / ".ci" / "run"])
    chosen = set(re.findall(r"--api-key-env (\w+)", text))  # a name the user picks, read through the flag
    unread = sorted(v for v in set(re.findall(r"JUDGELM_[A-Z0-9_]+", text)) - chosen if v not in code)
    assert not unread, f"docs name environment variables no code reads: {unread}"
    specs = set(re.findall(r"--(?:judge|stage1|stage2|teacher) ([a-z]+:[^\s`'\"]+|mini|smol)\b", text))
    assert len(specs) >= 10
    for spec in specs:
        parse_spec(spec)  # raises on an engine kind that does not exist
