"""``tieout query "SQL"``: one read-only SELECT on the published snapshot (never the warehouse).

Anything but a single SELECT/WITH over the snapshot's tables is refused in one line before it
runs (``tieout.analyst.guard``); results print as a table, CSV or JSON with money as exact
decimal strings.
"""

from __future__ import annotations

import csv
import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tieout.config import load_config

from .exceptions import cell
from .output import console


class QueryFormat(StrEnum):
    """How results are written."""

    table = "table"
    csv = "csv"
    json = "json"


def query(
    sql: Annotated[str, typer.Argument(help="One SELECT or WITH ... SELECT statement.")],
    config: Annotated[Path, typer.Option("--config", help="The tieout.toml of the run.")] = Path(
        "tieout.toml"),
    output: Annotated[QueryFormat, typer.Option("--format", help="table, csv or json.")
                      ] = QueryFormat.table,
) -> None:
    """Run one read-only query on the published snapshot of the marts."""
    from tieout.analyst import snapshot_path
    from tieout.analyst.query import MAX_ROWS, run_query

    result = run_query(snapshot_path(load_config(config)), sql)
    if output is QueryFormat.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([cell(v) for v in row] for row in result.rows)
    elif output is QueryFormat.json:
        records = [{c: (None if v is None else v if isinstance(v, bool | int | str)
                        else cell(v)) for c, v in zip(result.columns, row, strict=True)}
                   for row in result.rows]
        json.dump(records, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        table = Table(*result.columns)
        for row in result.rows:
            table.add_row(*(Text(cell(v)) for v in row))
        Console(file=sys.stdout, width=max(console.width, 160)).print(table)
    if result.truncated:
        typer.echo(f"tieout: note: only the first {MAX_ROWS:,} rows were written", err=True)
