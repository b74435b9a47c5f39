"""The HTML report: one self-contained page with its figures and the key numbers."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from eval_data import length_judgement

from judgelm.data import read_samples
from judgelm.data.predictions import read_predictions
from judgelm.evaluation.verdicts import Evaluation, evaluate
from judgelm.report import write_report
from judgelm.schema import Sample

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def pandalm_rows(shared_data: Path) -> list[Sample]:
    return list(read_samples(shared_data / "pandalm" / "testset-v1.json", limit=300))


@pytest.fixture(scope="module")
def full_evaluation(pandalm_rows: list[Sample]) -> Evaluation:
    """A judge with scores, confidence, a few unparsed outputs and a swapped run."""
    first = [length_judgement(s, unparsed=i % 50 == 0) for i, s in enumerate(pandalm_rows)]
    second = [length_judgement(s, swapped=True) for s in pandalm_rows]
    return evaluate(pandalm_rows, first + second, n_boot=200)


def _images(page: str) -> list[bytes]:
    return [base64.b64decode(m) for m in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)]


def test_report_is_self_contained_with_all_figures(full_evaluation: Evaluation, tmp_path: Path) -> None:
    path = write_report(full_evaluation, tmp_path / "rep")
    assert path == tmp_path / "rep" / "index.html"
    page = path.read_text(encoding="utf-8")
    images = _images(page)
    # judge vs baselines, confusion, verdict distribution, position bias, scores, reliability
    assert len(images) == 6
    assert all(img.startswith(PNG) and len(img) > 5000 for img in images)
    assert not re.search(r'<script|<link|src="(?!data:)|url\(', page)
    s = full_evaluation.summary
    for alt in ("Confusion matrix", "Position bias", "Score distributions", "Confidence calibration"):
        assert f'alt="{alt}"' in page
    assert f"{100 * s['agreement']:.1f}" in page
    assert f"{100 * s['baselines']['longer']['agreement']:.1f}" in page
    assert f"{100 * s['consistency']:.1f}" in page
    assert s["unparsed_count"] == 6 and "unparsed: 6 (2.0%)" in page
    assert f"{100 * s['ci']['agreement'][0]:.1f}–{100 * s['ci']['agreement'][1]:.1f}" in page


def test_report_without_scores_or_swap_skips_those_figures(shared_data: Path, pandalm_rows: list[Sample],
                                                           tmp_path: Path) -> None:
    preds = read_predictions(shared_data / "pandalm" / "gpt-3.5-turbo-testset-v1.json")
    ev = evaluate(pandalm_rows, preds, n_boot=100)
    assert ev.summary["extra"] == 999 - 300
    page = write_report(ev, tmp_path).read_text(encoding="utf-8")
    assert len(_images(page)) == 3
    assert 'alt="Position bias"' not in page and 'alt="Score distributions"' not in page
    assert "699 predictions match no gold row" in page
    assert "gpt-3.5-turbo (recorded)" in page


@pytest.mark.browser
def test_report_renders_in_chromium(full_evaluation: Evaluation, tmp_path: Path) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.skip("chromium not installed")
    page = write_report(full_evaluation, tmp_path / "rep")
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1280,2400",
                    f"--screenshot={shot}", page.as_uri()], capture_output=True, timeout=120, check=True)
    assert shot.read_bytes().startswith(PNG) and shot.stat().st_size > 50_000
