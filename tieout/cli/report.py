"""``tieout report``: write the HTML close report of one accounting period.

The report reads the warehouse read-only (a nightly run may be writing it) and prints only
the path of the file it wrote, so scripts can pick it up (``open "$(tieout report ...)"``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from tieout.config import load_config


def report(
    period: Annotated[str, typer.Option(
        "--period", help="The accounting period to report on, YYYY-MM.")],
    config: Annotated[Path, typer.Option(
        "--config", help="The tieout.toml of the run.")] = Path("tieout.toml"),
    out: Annotated[Path | None, typer.Option(
        "--out", help="Where to write the HTML file (default: "
                      "<warehouse folder>/reports/close-<period>.html).")] = None,
) -> None:
    """Write the period's close report as one self-contained HTML file and print its path."""
    from tieout.report import parse_period, write_report

    period = parse_period(period)  # before the config: a typo is named first
    cfg = load_config(config)
    typer.echo(str(write_report(cfg, period, out)))
