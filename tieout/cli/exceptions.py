"""``tieout exceptions``: the exception register of the latest run, for controllers.

``list`` reads ``marts.fct_exceptions`` read-only and writes the exceptions to stdout as a
table or as CSV (amounts as exact decimals, never floats).  Review commands (show, assign,
note, resolve, waive) join this sub-app and the review state in ``ops``; they take the same
``--config`` and ``--rule`` options, defined once below.
"""

from __future__ import annotations

import csv
import datetime as dt
import sys
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tieout.config import load_config
from tieout.errors import InputError
from tieout.rules import RULES

from .output import console

exceptions_app = typer.Typer(help="List and review the exceptions of the latest run.",
                             no_args_is_help=True)

ConfigOption = Annotated[Path, typer.Option("--config", help="The tieout.toml of the run.")]
RuleOption = Annotated[str | None, typer.Option(
    "--rule", help="Only this rule code (see `tieout rules`).")]

# The table leaves out what a person reads in the reason anyway; CSV has every column.
TABLE_COLUMNS = ("exception_id", "rule", "severity", "natural_key", "entity", "currency",
                 "period", "billing_amount", "other_amount", "difference",
                 "difference_reporting", "reason")
TABLE_WIDTH = 200  # narrower terminals scroll sideways rather than fold every column
_RIGHT = {"billing_amount", "other_amount", "difference", "difference_reporting"}


class Format(StrEnum):
    """How ``list`` writes: a table for people, CSV for spreadsheets and scripts."""

    table = "table"
    csv = "csv"


def rule_code(rule: str | None) -> str | None:
    """The rule code in upper case, or ``InputError`` naming the known codes."""
    if rule is None:
        return None
    code = rule.strip().upper()
    if code not in RULES:
        raise InputError(f"--rule {rule}: unknown rule code; `tieout rules` lists them")
    return code


def cell(value: object) -> str:
    """One value as text: Decimals exactly as stored, booleans lower case, null empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


@exceptions_app.command("list")
def list_exceptions(
    config: ConfigOption = Path("tieout.toml"),
    output: Annotated[Format, typer.Option("--format", help="table or csv.")] = Format.table,
    rule: RuleOption = None,
) -> None:
    """Write the current exceptions (all, or one rule's) to stdout."""
    from tieout.register import EXCEPTION_COLUMNS, open_register
    from tieout.register import list_exceptions as query

    code = rule_code(rule)
    cfg = load_config(config)
    con = open_register(cfg.warehouse, config)
    try:
        rows = query(con, code)
    finally:
        con.close()
    if output is Format.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(EXCEPTION_COLUMNS)
        writer.writerows([cell(v) for v in row] for row in rows)
        return
    table = Table(title=Text(f"{len(rows):,} exceptions in {cfg.warehouse}"
                             + (f" (rule {code})" if code else "")))
    for name in TABLE_COLUMNS:  # only the reason wraps; keys and amounts stay on one line
        table.add_column(name, no_wrap=name != "reason", overflow="fold",
                         justify="right" if name in _RIGHT else "left")
    positions = [EXCEPTION_COLUMNS.index(name) for name in TABLE_COLUMNS]
    for row in rows:
        table.add_row(*(Text(cell(row[i])) for i in positions))  # Text: no markup in reasons
    Console(file=sys.stdout, width=max(console.width, TABLE_WIDTH)).print(table)
