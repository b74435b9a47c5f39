"""Errors a user can act on (issue 27): one line naming the value and the nearest valid ones,
offline and fast, no traceback (unless --debug); Ctrl-C says what is written and how to resume."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import REPO, run_cli

ENV = {**os.environ, "PYTHONPATH": str(REPO / "src"), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


def _cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "judgelm.cli", *map(str, args)], capture_output=True, text=True,
                          env=ENV, cwd=REPO, timeout=timeout)


@pytest.mark.parametrize(("spec", "says"), [
    ("vllm:foo", "needs the 'vllm' package"),
    ("hf:./nope", "no such folder ./nope"),
    ("hf:does/not-exist", "not in the local Hugging Face cache"),
    ("minii", "nearest: mini"),
    ("hf:", "needs a target"),
])
def test_bad_judge_specs_fail_fast_in_one_line(spec: str, says: str, shared_data: Path, tmp_path: Path) -> None:
    if spec.startswith("vllm") and __import__("importlib").util.find_spec("vllm") is not None:
        pytest.skip("vLLM is installed here")
    res = _cli("judge", shared_data / "pandalm" / "testset-v1.json", "-o", tmp_path / "o.jsonl", "--judge", spec)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: --judge: ") and says in lines[0], res.stderr
    assert "Traceback" not in res.stderr  # the check's own time (< 1 s) is measured in-process below
    assert not (tmp_path / "o.jsonl").exists()


def test_spec_check_itself_is_under_a_second() -> None:
    from judgelm.engines.specs import SpecError, check_spec

    for spec in ("vllm:foo", "hf:./nope", "hf:does/not-exist"):
        started = time.monotonic()
        with pytest.raises(SpecError):
            check_spec(spec)
        assert time.monotonic() - started < 1.0, spec


def test_python_face_refuses_the_same_specs() -> None:
    import judgelm
    from judgelm.engines.specs import SpecError

    with pytest.raises(SpecError, match="no such folder ./nope"):
        judgelm.Judge("hf:./nope")


def test_template_name_gets_the_nearest(shared_data: Path, tmp_path: Path) -> None:
    res = run_cli("judge", shared_data / "pandalm" / "testset-v1.json", "-o", tmp_path / "o.jsonl", "--template", "judglm")
    assert res.exit_code == 2
    assert "Error: --template: unknown template 'judglm'; nearest: judgelm" in res.output
    assert "testset-v1.json" not in res.output  # not blamed on the input file


def test_unexpected_error_is_one_line_unless_debug(shared_data: Path) -> None:
    p = shared_data / "pandalm"
    args = ["eval", "--gold", p / "testset-v1.json", "--pred", p / "gpt-3.5-turbo-testset-v1.json", "--bootstrap", "10",
            "--report", "/dev/null/report"]  # a report folder that cannot exist: an OSError no command expects
    res = _cli(*args)
    assert res.returncode == 1 and "Traceback" not in res.stderr
    last = res.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: NotADirectoryError: ") and "/dev/null/report" in last and "--debug" in last
    res = _cli("--debug", *args)
    assert res.returncode == 1 and "Traceback" in res.stderr


def test_rank_leaves_no_folder_when_it_fails(tmp_path: Path) -> None:
    out = tmp_path / "ranked"
    res = run_cli("rank", tmp_path / "missing.jsonl", "-o", out, "--from-labels")
    assert res.exit_code != 0 and not out.exists()


def test_ctrl_c_says_what_is_written_and_how_to_resume(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "judged.jsonl"
    n = 600  # enough rows that the run is still going when the signal comes (mini does ~25 a second here)
    args = ["judge", str(shared_data / "pandalm" / "testset-v1.json"), "-o", str(out), "--limit", str(n),
            "--batch-size", "2", "--no-progress", "--no-cache"]  # no cache: every row is real work
    # an xdist worker ignores SIGINT, and a child inherits that (Python then installs no KeyboardInterrupt
    # handler): give the child the default disposition, as a terminal would
    proc = subprocess.Popen([sys.executable, "-m", "judgelm.cli", *args], env=ENV, cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and (not out.exists() or len(out.read_text().splitlines()) < 4):
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)  # it exits in ~2 s; a loaded machine may take longer
    assert proc.returncode == 130, err
    line = next(ln for ln in err.splitlines() if ln.startswith("Error: interrupted: "))
    written = int(line.split("interrupted: ")[1].split(" judgements")[0])
    assert 4 <= written < n and f"written to {out} (the run has {n} samples)" in line and "Traceback" not in err
    assert line.endswith("resume (only the rest is judged) with: judgelm " + " ".join(args))
    res = _cli(*args, timeout=600)  # the printed command, run again
    assert res.returncode == 0, res.stderr
    resumed = int(res.stdout.split("resumed ")[1].split()[0])
    assert resumed >= written  # what was written is not judged again
    assert len(out.read_text().splitlines()) == n
