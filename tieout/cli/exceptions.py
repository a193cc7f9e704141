"""``tieout exceptions``: the review queue of the latest runs, for controllers.

``list`` and ``show`` read the review state (``ops.exception_review``) read-only; ``assign``,
``note``, ``investigate``, ``resolve``, ``waive`` and ``reopen`` change it through
``tieout.review.apply_changes`` (validated, audited, one transaction; ``--revision`` refuses
the edit if someone changed the exception since you looked).  Edits wait for a running
pipeline's write lock instead of failing.  ``export`` and ``import`` (the workbook round trip)
live in ``workbook.py`` and are registered here.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
import sys
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tieout.config import load_config
from tieout.errors import InputError, TieoutError
from tieout.rules import RULES

from .output import console

exceptions_app = typer.Typer(help="List and review the exceptions of the latest run.",
                             no_args_is_help=True)

ConfigOption = Annotated[Path, typer.Option("--config", help="The tieout.toml of the run.")]
RuleOption = Annotated[str | None, typer.Option(
    "--rule", help="Only this rule code (see `tieout rules`).")]
ActorOption = Annotated[str | None, typer.Option(
    "--actor", help="Who makes the change (default: $TIEOUT_USER, else your login).")]
RevisionOption = Annotated[int | None, typer.Option(
    "--revision", min=1, help="Refuse if the exception changed since this revision "
                             "(shown by `show`).")]
ReasonOption = Annotated[str, typer.Option("--reason", help="Why (kept in the audit log).")]

# CSV keeps the snapshot columns of fct_exceptions first, then the review fields.
CSV_COLUMNS = (
    "exception_id", "rule", "severity", "natural_key", "entity", "currency", "period",
    "timing_status", "billing_amount", "other_system", "other_amount", "difference",
    "reporting_currency", "difference_reporting", "is_material", "reason", "status", "owner",
    "note", "first_seen_at", "age_days", "revision", "is_present",
)
# The table leaves out what a person reads in the reason anyway; CSV has every column.
TABLE_COLUMNS = ("exception_id", "rule", "natural_key", "entity", "period", "difference",
                 "difference_reporting", "status", "owner", "age_days", "reason")
TABLE_WIDTH = 200  # narrower terminals scroll sideways rather than fold every column
_RIGHT = {"billing_amount", "other_amount", "difference", "difference_reporting", "age_days"}
PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


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


def period_option(value: str | None, option: str = "--period") -> str | None:
    """A YYYY-MM accounting period, or ``InputError`` saying the expected shape."""
    if value is None:
        return None
    if not PERIOD.match(value.strip()):
        raise InputError(f"{option} {value}: expected an accounting period as YYYY-MM")
    return value.strip()


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


def actor_option(actor: str | None) -> str:
    """``--actor``, else ``$TIEOUT_USER``, else the login (resolved per call, not import)."""
    from tieout.review import default_actor

    name = (actor if actor is not None else default_actor()).strip()
    if not name:
        raise InputError("--actor is empty: say who is making the change")
    return name


def open_review(config: Path) -> Any:
    """A read-only connection to the config's warehouse, which must hold a review state."""
    from tieout.review import has_review
    from tieout.warehouse.connection import open_read_only

    cfg = load_config(config)
    missing = TieoutError(f"no reconciliation in {cfg.warehouse}: run `tieout run "
                          f"--config {config}` first")
    if not cfg.warehouse.is_file():
        raise missing
    con = open_read_only(cfg.warehouse)
    if not has_review(con) or not con.execute(
            "SELECT count(*) FROM ops.exception_runs").fetchall()[0][0]:
        con.close()
        raise missing
    return con


@exceptions_app.command("list")
def list_exceptions(
    config: ConfigOption = Path("tieout.toml"),
    output: Annotated[Format, typer.Option("--format", help="table or csv.")] = Format.table,
    rule: RuleOption = None,
    status: Annotated[str | None, typer.Option(
        help="open, investigating, resolved or waived (default: what the latest run "
             "detected, whatever its status).")] = None,
    owner: Annotated[str | None, typer.Option(help="Only this owner.")] = None,
    entity: Annotated[str | None, typer.Option(help="Only this legal entity.")] = None,
    period: Annotated[str | None, typer.Option(help="Only this period (YYYY-MM).")] = None,
    min_amount: Annotated[str | None, typer.Option(
        "--min-amount", help="Only |difference| in reporting currency at least this.")] = None,
    sort: Annotated[str, typer.Option(help="rule, amount, age, period or status.")] = "rule",
) -> None:
    """Write the exceptions in review (filtered) to stdout."""
    from tieout.review import Filters, Sort, list_review, parse_status

    try:
        chosen = parse_status(status) if status is not None else None
    except ValueError as exc:
        raise InputError(f"--status: {exc}") from None
    try:
        order = Sort(sort.strip().lower())
    except ValueError:
        raise InputError(f"--sort {sort}: choose from "
                         f"{', '.join(s.value for s in Sort)}") from None
    filters = Filters(rule=rule_code(rule), status=chosen, owner=owner, entity=entity,
                      period=period_option(period), min_amount=_amount(min_amount),
                      current_only=chosen is None)
    con = open_review(config)
    try:
        rows = list_review(con, filters, sort=order)
    finally:
        con.close()
    if output is Format.csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        writer.writerows([cell(row[c]) for c in CSV_COLUMNS] for row in rows)
        return
    table = Table(title=Text(f"{len(rows):,} exceptions in {load_config(config).warehouse}"))
    for name in TABLE_COLUMNS:  # only the reason wraps; keys and amounts stay on one line
        table.add_column(name, no_wrap=name != "reason", overflow="fold",
                         justify="right" if name in _RIGHT else "left")
    for row in rows:
        table.add_row(*(Text(cell(row[c])) for c in TABLE_COLUMNS))  # Text: no markup
    Console(file=sys.stdout, width=max(console.width, TABLE_WIDTH)).print(table)


def _amount(value: str | None) -> Decimal | None:
    if value is None:
        return None
    try:
        amount = Decimal(value.strip().replace(",", ""))
    except InvalidOperation:
        raise InputError(f"--min-amount {value}: not a number") from None
    if not amount.is_finite() or amount < 0:
        raise InputError(f"--min-amount {value}: must be a non-negative amount")
    return amount


@exceptions_app.command("show")
def show(
    exception_id: Annotated[str, typer.Argument(help="The exception_id.")],
    config: ConfigOption = Path("tieout.toml"),
) -> None:
    """One exception: both sides' records, the reason, and its history."""
    from tieout.review import get_review, history
    from tieout.review.records import records_for

    con = open_review(config)
    try:
        row = get_review(con, exception_id.strip())
        if row is None:
            raise InputError(f"unknown exception {exception_id!r}; `tieout exceptions list` "
                             "shows the ids")
        trail = history(con, row["exception_id"])
        records = records_for(con, row["natural_key"])
    finally:
        con.close()
    out = Console(file=sys.stdout, width=max(console.width, TABLE_WIDTH))
    summary = Table.grid(padding=(0, 2))
    for name in ("exception_id", "rule", "severity", "natural_key", "entity", "currency",
                 "period", "timing_status", "billing_amount", "other_system", "other_amount",
                 "difference", "difference_reporting", "reporting_currency", "is_material",
                 "reason", "billing_ref", "erp_ref", "revrec_ref", "support_ref", "status", "owner",
                 "note",
                 "first_seen_at", "last_seen_at", "age_days", "is_present", "revision"):
        summary.add_row(Text(name, style="bold"), Text(cell(row[name])))
    out.print(summary)
    for found in records:  # one column per record: duplicates show side by side
        table = Table("field", *(f"record {i + 1}" for i in range(len(found.rows))),
                      title=f"{found.label} ({found.relation})", title_justify="left")
        for position, column in enumerate(found.columns):
            table.add_row(column, *(Text(cell(r[position])) for r in found.rows))
        if not found.rows:
            table.caption = "no record found"
        out.print(table)
    audit = Table("when", "who", "action", "field", "old", "new", "reason", "run",
                  title="history", title_justify="left")
    for entry in trail:
        audit.add_row(*(Text(cell(entry[c])) for c in (
            "changed_at", "actor", "action", "field", "old_value", "new_value", "reason",
            "run_id")))
    out.print(audit)


def _edit(config: Path, exception_id: str, actor: str | None, **change: Any) -> None:
    from tieout.review import Change, apply_changes
    from tieout.warehouse.connection import open_for_edit

    cfg = load_config(config)
    con = open_for_edit(cfg.warehouse)
    try:
        applied = apply_changes(con, [Change(exception_id.strip(), **change)],
                                actor_option(actor))
    finally:
        con.close()
    if not applied:
        console.print(f"{exception_id}: nothing to change")
        return
    for move in applied:
        console.print(f"{move.exception_id}: {move.field} {move.old or '-'} -> "
                      f"{move.new or '-'} (revision {move.revision})", markup=False)


@exceptions_app.command("assign")
def assign(exception_id: Annotated[str, typer.Argument()],
           owner: Annotated[str, typer.Argument(help="Who owns it (empty string: nobody).")],
           config: ConfigOption = Path("tieout.toml"), actor: ActorOption = None,
           revision: RevisionOption = None) -> None:
    """Give an exception an owner."""
    _edit(config, exception_id, actor, owner=owner, expected_revision=revision)


@exceptions_app.command("note")
def note(exception_id: Annotated[str, typer.Argument()],
         text: Annotated[str, typer.Argument(help="The note (the audit log keeps every one).")],
         config: ConfigOption = Path("tieout.toml"), actor: ActorOption = None,
         revision: RevisionOption = None) -> None:
    """Add a note to an exception."""
    if not text.strip():
        raise InputError("the note is empty")
    _edit(config, exception_id, actor, note=text, expected_revision=revision)


def _status_command(status: str, help_text: str, reason_required: bool) -> Any:
    from tieout.review import Status

    def command(exception_id: Annotated[str, typer.Argument()],
                reason: ReasonOption = "",
                config: ConfigOption = Path("tieout.toml"), actor: ActorOption = None,
                revision: RevisionOption = None) -> None:
        if reason_required and not reason.strip():
            raise InputError(f"--reason is required to mark an exception {status}")
        _edit(config, exception_id, actor, status=Status(status), reason=reason or None,
              expected_revision=revision)

    command.__doc__ = help_text
    return command


exceptions_app.command("investigate")(_status_command(
    "investigating", "Mark an exception as under investigation.", False))
exceptions_app.command("resolve")(_status_command(
    "resolved", "Resolve an exception (--reason required; the next run reopens it if the "
    "difference is still there).", True))
exceptions_app.command("waive")(_status_command(
    "waived", "Accept an exception's difference (--reason required).", True))
exceptions_app.command("reopen")(_status_command(
    "open", "Put a resolved or waived exception back to open.", True))


def _register_workbook_commands() -> None:
    """``export`` and ``import`` (the workbook round trip) live in ``workbook.py``."""
    from .workbook import export_exceptions, import_exceptions

    exceptions_app.command("export")(export_exceptions)
    exceptions_app.command("import")(import_exceptions)


_register_workbook_commands()
