"""The evaluation report: one self-contained HTML page (inline images, no external assets).

``write_report(evaluation, out_dir)`` → ``out_dir/index.html``. Plots are drawn with matplotlib's
Agg backend (:mod:`judgelm.report.eval_figures`), the page is assembled in :mod:`judgelm.report.eval_page`.
"""

from judgelm.report.eval_page import render_html, write_report

__all__ = ["render_html", "write_report"]
