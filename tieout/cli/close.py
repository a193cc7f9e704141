"""``tieout close --period YYYY-MM``: the controller's sign-off of a period.

Refuses while material exceptions of the period are open or under investigation, listing
them, unless ``--override --reason`` is given; the sign-off (who, when, the figures at that
moment, any override) is recorded once in ``ops.period_closes``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from tieout.config import load_config

from .exceptions import actor_option, cell, period_option
from .output import console


def close(
    period: Annotated[str, typer.Option("--period", help="The period to sign off (YYYY-MM).")],
    config: Annotated[Path, typer.Option("--config", help="The tieout.toml of the run.")] = Path(
        "tieout.toml"),
    override: Annotated[bool, typer.Option(
        "--override", help="Close even with material exceptions open (needs --reason).")
    ] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why you override.")] = None,
    actor: Annotated[str | None, typer.Option(
        "--actor", help="Who signs off (default: $TIEOUT_USER, else your login).")] = None,
) -> None:
    """Record the sign-off of a period; refuses while material exceptions remain open."""
    from tieout.review import CloseRefused, close_period
    from tieout.warehouse.connection import open_for_edit

    chosen = period_option(period)
    assert chosen is not None
    cfg = load_config(config)
    con = open_for_edit(cfg.warehouse)
    try:
        signoff = close_period(con, chosen, actor_option(actor), override=override,
                               reason=reason)
    except CloseRefused as refused:
        table = Table("exception_id", "rule", "natural_key", "entity", "difference_reporting",
                      "status", "owner", "age_days",
                      title=f"Material exceptions blocking the close of {chosen}")
        for row in refused.blocking:
            table.add_row(*(Text(cell(row[c])) for c in (
                "exception_id", "rule", "natural_key", "entity", "difference_reporting",
                "status", "owner", "age_days")))
        console.print(table)
        raise
    finally:
        con.close()
    figures = signoff.figures
    console.print(f"period {signoff.period} closed by {signoff.closed_by} at "
                  f"{signoff.closed_at:%Y-%m-%d %H:%M UTC}: {figures['exceptions']} "
                  f"exceptions, {signoff.material_open} material open"
                  + (f" (override: {signoff.override_reason})" if signoff.override else ""),
                  markup=False)
