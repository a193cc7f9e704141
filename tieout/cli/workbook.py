"""``tieout exceptions export`` / ``import``: the Excel round trip of the review state.

The two command functions are registered on the ``exceptions`` sub-app by
``tieout.cli.exceptions``; this module only defines them and imports that module's helpers
inside the functions, so registering them cannot make an import cycle.  Export reads the
warehouse read-only; import waits for the write lock and applies everything or nothing.  A
refused import prints the usual one ``tieout: error:`` line first, then one
``Sheet!C5: message`` line per problem, so a controller can fix every cell in one pass.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tieout.config import load_config
from tieout.errors import InputError

from .output import console

ConfigOption = Annotated[Path, typer.Option("--config", help="The tieout.toml of the run.")]
PeriodOption = Annotated[str | None, typer.Option(
    "--period", help="Only exceptions of this accounting period (YYYY-MM).")]
ActorOption = Annotated[str | None, typer.Option(
    "--actor", help="Who is doing this (default: $TIEOUT_USER, else the login).")]


class WorkbookFormat(StrEnum):
    """What ``export`` writes: the workbook to fill in, or one CSV for scripts."""

    xlsx = "xlsx"
    csv = "csv"


def export_exceptions(
    out: Annotated[Path, typer.Option("--out", help="The file to write (.xlsx or .csv).")],
    config: ConfigOption = Path("tieout.toml"),
    output: Annotated[WorkbookFormat | None, typer.Option(
        "--format", help="xlsx (to fill in and import) or csv (for scripts); "
                         "default: from --out's extension.")] = None,
    period: PeriodOption = None,
    rule: Annotated[str | None, typer.Option(
        "--rule", help="Only this rule code (see `tieout rules`).")] = None,
    status: Annotated[str | None, typer.Option(
        "--status", help="Only this status: open, investigating, resolved or waived.")] = None,
    include_resolved: Annotated[bool, typer.Option(
        "--include-resolved", help="Also resolved exceptions the latest run no longer "
                                   "detects.")] = False,
    actor: ActorOption = None,
) -> None:
    """Export the exceptions under review to a workbook (or CSV) to fill in and import."""
    from tieout.review import parse_status
    from tieout.workbook import Origin, Selection, export_csv, export_workbook

    from .exceptions import open_review, period_option, rule_code

    fmt = output or (WorkbookFormat.csv if out.suffix.lower() == ".csv"
                     else WorkbookFormat.xlsx)
    if out.suffix.lower() in (".xlsx", ".csv") and out.suffix.lower() != f".{fmt.value}":
        raise InputError(f"--out {out} does not end in .{fmt.value} but --format is "
                         f"{fmt.value}")
    try:
        wanted = parse_status(status) if status is not None else None
    except ValueError as exc:
        raise InputError(f"--status: {exc}") from None
    selection = Selection(period=period_option(period), rule=rule_code(rule), status=wanted,
                          include_resolved=include_resolved)
    from .exceptions import actor_option

    who = actor_option(actor)
    cfg = load_config(config)
    con = open_review(config)
    try:
        if fmt is WorkbookFormat.csv:
            result = export_csv(con, out, selection)
        else:
            result = export_workbook(con, out, Origin(cfg.company_name, cfg.warehouse,
                                                      cfg.reporting_currency, who), selection)
    finally:
        con.close()
    scope = selection.period or "all periods"
    sheets = (f" on {len(result.sheets)} rule sheet{'s' if len(result.sheets) != 1 else ''}"
              if fmt is WorkbookFormat.xlsx else "")
    console.print(f"exported {result.rows:,} exception{'s' if result.rows != 1 else ''} "
                  f"({scope}){sheets} to {out}", highlight=False, markup=False)
    if fmt is WorkbookFormat.xlsx:
        console.print(f"fill in status, owner, note and change_reason, then: tieout "
                      f"exceptions import {out} --config {config}", highlight=False,
                      markup=False)


def import_exceptions(
    file: Annotated[Path, typer.Argument(help="The workbook exported and filled in.")],
    config: ConfigOption = Path("tieout.toml"),
    actor: ActorOption = None,
    period: Annotated[str | None, typer.Option(
        "--period", help="Refuse the workbook unless it was exported for this period "
                         "(YYYY-MM).")] = None,
) -> None:
    """Apply the review edits of a filled-in workbook: all of them, or none with every
    problem listed by sheet, row and column."""
    from rich.markup import escape

    from tieout.warehouse.connection import open_for_edit
    from tieout.workbook import WorkbookRejected, import_workbook, read_manifest

    from .exceptions import period_option

    wanted = period_option(period)
    from .exceptions import actor_option

    who = actor_option(actor)
    cfg = load_config(config)
    try:
        read_manifest(file)  # a file that is not a tieout workbook fails before the lock wait
        con = open_for_edit(cfg.warehouse)
        try:
            result = import_workbook(con, file, who, period=wanted)
        finally:
            con.close()
    except WorkbookRejected as exc:
        # main() would print the summary line last; print it first, then every problem.
        typer.echo(f"tieout: error: {' '.join(str(exc).split())}", err=True)
        for problem in exc.problems:
            typer.echo(f"{problem.where}: {' '.join(problem.message.split())}", err=True)
        raise typer.Exit(exc.exit_code) from None
    if result.manifest.warehouse != str(cfg.warehouse):
        console.print(f"[yellow]note:[/yellow] the workbook was exported from "
                      f"{escape(result.manifest.warehouse)}", highlight=False)
    fields = result.fields_changed
    console.print(f"read {result.rows_read:,} row{'s' if result.rows_read != 1 else ''} from "
                  f"{file}: {result.rows_changed:,} changed ({fields:,} "
                  f"field{'s' if fields != 1 else ''}), {result.already_applied:,} already "
                  f"applied, as {who}", highlight=False, markup=False)
