"""The evaluation report: one self-contained HTML page (inline images, no external assets).

``write_report(evaluation, out_dir)`` → ``out_dir/index.html``. The evaluation report's figures are
drawn with matplotlib's Agg backend (:mod:`judgelm.report.eval_figures`), its page is assembled in
:mod:`judgelm.report.eval_page`. Every report (eval, cascade, rank) shares one style:
:mod:`judgelm.report.page_style` (HTML pieces) and :mod:`judgelm.report.figure_style` (figures).
"""

from judgelm.report.eval_page import render_html, write_report

__all__ = ["render_html", "write_report"]
