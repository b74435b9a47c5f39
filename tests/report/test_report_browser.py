"""The eval, cascade and rank reports look like one product: each is built from real data, opened in
a real headless Chromium (Playwright), screenshotted, and checked for what is rendered — the shared
stylesheet and header, tables as <table> (no text blocks), every image loaded with a real size,
and the same computed look (header, font, panels) on all three pages."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import run_cli

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
AE = "alpaca_eval_gpt4/results/{}/alpaca_eval_gpt4/annotations.json"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="/usr/bin/chromium is absent"),
]

@pytest.fixture(scope="module")
def reports(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The three reports, built from real data the way the commands build them."""
    tmp = tmp_path_factory.mktemp("reports")
    p = shared_data / "pandalm"
    gold, gpt35, panda7b = p / "testset-v1.json", p / "gpt-3.5-turbo-testset-v1.json", p / "pandalm-7b-testset-v1.json"
    res = run_cli("eval", "--gold", gold, "--pred", gpt35, "--report", tmp / "eval")
    assert res.exit_code == 0, res.output
    res = run_cli("cascade", gold, "-o", tmp / "cascade", "--budget", "0.5", "--stage1-predictions", panda7b,
                  "--stage2-predictions", gpt35, "--margin-confidence")
    assert res.exit_code == 0, res.output
    res = run_cli("rank", *(shared_data / AE.format(m) for m in ("gpt4", "alpaca-7b", "vicuna-13b")),
                  "--from-labels", "-o", tmp / "rank", "--n-boot", "50")
    assert res.exit_code == 0, res.output
    return {"eval": tmp / "eval" / "index.html", "cascade": tmp / "cascade" / "report.html",
            "rank": tmp / "rank" / "report.html"}


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


LOOK = """() => {
  const s = (sel, prop) => { const e = document.querySelector(sel); return e ? getComputedStyle(e)[prop] : null; };
  const imgs = [...document.images];
  return {
    generator: document.querySelector('meta[name=generator]')?.content ?? null,
    style: !!document.querySelector('style#judgelm-style'),
    kind: document.body.dataset.report ?? null,
    header: s('header.jl-header', 'backgroundImage'),
    headerHeight: document.querySelector('header.jl-header')?.getBoundingClientRect().height ?? 0,
    font: getComputedStyle(document.body).fontFamily,
    panel: s('section.panel', 'borderRadius'),
    tables: document.querySelectorAll('main table').length,
    tableRows: [...document.querySelectorAll('main table')].map(t => t.rows.length),
    pre: document.querySelectorAll('main pre').length,
    images: imgs.map(i => [i.complete, i.naturalWidth, i.naturalHeight, i.getBoundingClientRect().width]),
    overflow: document.documentElement.scrollWidth > window.innerWidth + 1,
  };
}"""


def _look(browser, page_path: Path, shot: Path) -> dict:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(page_path.as_uri(), wait_until="load")
        page.screenshot(path=str(shot), full_page=True)
        return page.evaluate(LOOK)
    finally:
        page.close()


@pytest.mark.parametrize("kind", ["eval", "cascade", "rank"])
def test_report_renders_in_the_shared_style(kind: str, reports: dict[str, Path], browser, tmp_path: Path) -> None:
    shot = tmp_path / f"{kind}.png"
    look = _look(browser, reports[kind], shot)
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 40_000
    assert look["generator"] == "judgelm report" and look["style"] and look["kind"] == kind
    assert look["headerHeight"] > 60 and look["panel"] == "14px"
    assert look["tables"] >= 1 and min(look["tableRows"]) >= 2 and look["pre"] == 0  # tables, not text blocks
    assert look["images"] and all(done and w > 100 and h > 100 and shown > 100 for done, w, h, shown in look["images"])
    assert not look["overflow"]  # nothing pushes the page wider than the window


def test_the_three_reports_share_one_look(reports: dict[str, Path], browser, tmp_path: Path) -> None:
    looks = {k: _look(browser, path, tmp_path / f"{k}.png") for k, path in reports.items()}
    assert all(look["style"] for look in looks.values())
    for prop in ("header", "font", "panel"):
        assert len({looks[k][prop] for k in looks}) == 1, {k: looks[k][prop] for k in looks}
