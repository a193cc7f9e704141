"""The HTML close report of one accounting period (``tieout report``, DESIGN §6).

``data`` gathers the period's figures from the warehouse, read-only, into plain dataclasses;
``charts`` draws them as inline SVG; ``render`` writes one self-contained HTML file that a
controller can archive with the close, open offline and print.
"""

from .data import ReportData, gather, parse_period
from .render import default_report_path, money, render_html, write_report

__all__ = ["ReportData", "default_report_path", "gather", "money", "parse_period",
           "render_html", "write_report"]
