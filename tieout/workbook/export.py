"""Write the review state as an Excel workbook controllers fill in, or as one CSV for scripts.

What is exported (unless narrowed by period, rule or status): every exception the latest run
still detects, whatever its status, plus every one that still asks for a decision although no
longer detected (open, investigating or waived).  Resolved exceptions that are gone are
history, not work; ``include_resolved`` (or asking for ``status=resolved``) brings them back.

The workbook: a Summary sheet (counts and |difference| in the reporting currency by rule,
entity, status and age since first detection), then one sheet per rule, largest difference
first.  Every sheet is protected without a password (so filters and sorting keep working),
only the review columns (status, owner, note, change_reason) are unlocked, and a very hidden
``_tieout`` sheet keeps the text of every exported cell and each row's revision: the import
compares against it cell by cell, which is how it tells an edit from a value Excel merely
re-saved, and refuses a row someone else changed meanwhile.

Amounts stay ``Decimal`` all the way to the cell; an Excel number is a double, so the one
conversion happens when the cell is written (exact at the currency's exponent, which is how
the warehouse stores them) and no arithmetic is ever done on it.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import xlsxwriter
import xlsxwriter.exceptions
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from tieout.errors import InputError
from tieout.review import AGEING_BUCKETS, Filters, Sort, Status, ageing_bucket, list_review

from .layout import (
    ALL_PERIODS,
    COLUMN_NAMES,
    COLUMNS,
    FORMAT_VERSION,
    MAX_WIDTH,
    META_ROW_HEADER,
    META_SHEET,
    SUMMARY_FIRST_INFO_ROW,
    SUMMARY_INFO,
    SUMMARY_SHEET,
    TIMESTAMP_FORMAT,
    Column,
    Kind,
    cell_timestamp,
    exponent_of,
    money_text,
    number_format,
    sheet_names,
)

# Sheet protection: no password (a controller who must unprotect can; the import still
# refuses any edit outside the review columns), filtering and sorting still allowed.
PROTECTION = {"autofilter": True, "sort": True, "format_columns": True, "format_rows": True,
              "select_locked_cells": True, "select_unlocked_cells": True}
SUMMARY_DIMENSIONS = (("rule", "By rule"), ("entity", "By entity"), ("status", "By status"),
                      ("ageing", "By age since first detection"))
NO_VALUE = "(none)"


@dataclass(frozen=True)
class Selection:
    """Which review rows an export holds (see the module docstring for the default)."""

    period: str | None = None  # YYYY-MM: only exceptions of this period
    rule: str | None = None
    status: Status | None = None
    include_resolved: bool = False


@dataclass(frozen=True)
class Origin:
    """Where the rows come from and who exports them: the Summary header and ``_tieout``."""

    company: str
    warehouse: Path
    reporting_currency: str
    actor: str


@dataclass
class Tally:
    """Exceptions counted and |difference in reporting currency| summed, exactly."""

    count: int = 0
    amount: Decimal = Decimal(0)


@dataclass(frozen=True)
class ExportResult:
    """What an export wrote."""

    path: Path
    rows: int
    sheets: dict[str, int] = field(default_factory=dict)  # rule sheet -> rows (xlsx only)
    summary: dict[str, dict[str, Tally]] = field(default_factory=dict)


def select_rows(con: duckdb.DuckDBPyConnection, selection: Selection = Selection(),
                now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The review rows an export holds, largest |difference| first, ages as of ``now``."""
    rows = list_review(con, Filters(rule=selection.rule, status=selection.status,
                                    period=selection.period), sort=Sort.amount, now=now)
    if selection.include_resolved or selection.status is Status.RESOLVED:
        return rows
    return [r for r in rows if r["is_present"] or r["status"] != Status.RESOLVED]


def summarise(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, Tally]]:
    """Counts and amounts by rule, entity, status and ageing bucket (every status and
    bucket listed, zero or not, so sheets of different days line up)."""
    tallies: dict[str, dict[str, Tally]] = {
        "rule": {}, "entity": {}, "status": {s.value: Tally() for s in Status},
        "ageing": {label: Tally() for label, _low, _high in AGEING_BUCKETS},
    }
    for row in rows:
        amount = abs(row["difference_reporting"] or Decimal(0))
        keys = {"rule": row["rule"], "entity": row["entity"] or NO_VALUE,
                "status": row["status"], "ageing": ageing_bucket(row["age_days"] or 0)}
        for dimension, key in keys.items():
            tally = tallies[dimension].setdefault(key, Tally())
            tally.count += 1
            tally.amount += amount
    for dimension in ("rule", "entity"):
        tallies[dimension] = dict(sorted(tallies[dimension].items()))
    return tallies


def original_text(column: Column, row: dict[str, Any]) -> str:
    """A cell's value as exact text: what ``_tieout`` keeps and what the CSV holds."""
    if column.name == "change_reason":
        return ""
    value = row[column.key]
    if value is None:
        return ""
    if column.kind is Kind.MONEY:
        return money_text(value, row["currency"])
    if column.kind is Kind.REPORTING:
        return money_text(value, row["reporting_currency"])
    if column.kind is Kind.FLAG:
        return "true" if value else "false"
    if column.kind is Kind.TIMESTAMP:
        return cell_timestamp(value).strftime(TIMESTAMP_FORMAT)
    return str(value)


def export_csv(con: duckdb.DuckDBPyConnection, path: Path,
               selection: Selection = Selection(), *,
               now: dt.datetime | None = None) -> ExportResult:
    """The workbook's rows and columns as one CSV (amounts exact decimal text, timestamps
    UTC) for scripts; it carries no originals, so it cannot be imported back."""
    rows = select_rows(con, selection, now)

    def write(target: Path) -> None:
        with target.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(COLUMN_NAMES)
            writer.writerows([original_text(c, row) for c in COLUMNS] for row in rows)

    _write_atomically(path, write)
    return ExportResult(path, len(rows), summary=summarise(rows))


def export_workbook(con: duckdb.DuckDBPyConnection, path: Path, origin: Origin,
                    selection: Selection = Selection(), *,
                    now: dt.datetime | None = None) -> ExportResult:
    """Write the review workbook to ``path`` (replaced only once it is complete)."""
    now = now or dt.datetime.now(dt.UTC)
    rows = select_rows(con, selection, now)
    by_rule: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_rule.setdefault(row["rule"], []).append(row)
    by_rule = dict(sorted(by_rule.items()))
    names = sheet_names(by_rule)
    summary = summarise(rows)
    sheets: dict[str, int] = {}

    def write(target: Path) -> None:
        book = xlsxwriter.Workbook(str(target), {
            "strings_to_numbers": False, "strings_to_formulas": False,
            "strings_to_urls": False})
        book.set_properties({"title": "tieout exceptions", "author": origin.actor,
                             "company": origin.company,
                             "comments": f"tieout exceptions workbook, format {FORMAT_VERSION}"})
        styles = _Styles(book)
        summary_sheet = book.add_worksheet(SUMMARY_SHEET)
        placed: list[tuple[str, int, dict[str, Any]]] = []
        for rule, rule_rows in by_rule.items():
            sheet = book.add_worksheet(names[rule])
            _write_rule_sheet(sheet, rule_rows, styles, origin.reporting_currency)
            placed += [(names[rule], i + 2, row) for i, row in enumerate(rule_rows)]
            sheets[names[rule]] = len(rule_rows)
        _write_summary(summary_sheet, summary, origin, selection, now, len(rows), styles)
        _write_meta(book.add_worksheet(META_SHEET), placed, origin, selection, now)
        summary_sheet.activate()
        book.close()

    _write_atomically(path, write)
    return ExportResult(path, len(rows), sheets, summary)


class _Styles:
    """The workbook's cell formats, made once each (Excel caps the number of formats)."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.book = book
        self._cache: dict[tuple[object, ...], Format] = {}

    def get(self, kind: str, *, editable: bool = False, places: int = 2) -> Format:
        key = (kind, editable, places)
        if key not in self._cache:
            spec: dict[str, object] = {"valign": "top", "locked": not editable}
            if editable:
                spec["bg_color"] = "#FFF2CC"  # the cells a controller fills in
            if kind == "header":
                spec.update(bold=True, bottom=1, text_wrap=True,
                            bg_color="#FFE699" if editable else "#D9E1F2")
            elif kind == "title":
                spec.update(bold=True, font_size=14)
            elif kind == "bold":
                spec.update(bold=True)
            elif kind == "money":
                spec["num_format"] = number_format(places)
            elif kind == "bold_money":
                spec.update(bold=True, num_format=number_format(places))
            elif kind == "integer":
                spec["num_format"] = "0"
            elif kind == "timestamp":
                spec["num_format"] = "yyyy-mm-dd hh:mm"
            self._cache[key] = self.book.add_format(spec)
        return self._cache[key]


def _write_rule_sheet(sheet: Worksheet, rows: Sequence[dict[str, Any]], styles: _Styles,
                      reporting_currency: str) -> None:
    """Header, one row per exception, widths, frozen header, filter, status list, protection."""
    for c, column in enumerate(COLUMNS):
        sheet.write_string(0, c, column.name, styles.get("header", editable=column.editable))
    for r, row in enumerate(rows, start=1):
        for c, column in enumerate(COLUMNS):
            _write_cell(sheet, r, c, column, row, styles, reporting_currency)
    for c, column in enumerate(COLUMNS):
        sheet.set_column(c, c, _width(column, rows))
    sheet.set_row(0, 30)
    sheet.freeze_panes(1, 1)  # the header row and the exception_id column stay in view
    sheet.autofilter(0, 0, max(len(rows), 1), len(COLUMNS) - 1)
    status = COLUMN_NAMES.index("status")
    if rows:
        sheet.data_validation(1, status, len(rows), status, {
            "validate": "list", "source": [s.value for s in Status],
            "input_title": "Review status",
            "input_message": "resolved and waived need a change_reason",
            "error_title": "Unknown status",
            "error_message": "Choose open, investigating, resolved or waived."})
    sheet.protect("", PROTECTION)


def _write_cell(sheet: Worksheet, r: int, c: int, column: Column, row: dict[str, Any],
                styles: _Styles, reporting_currency: str) -> None:
    value = None if column.name == "change_reason" else row[column.key]
    editable = column.editable
    if value is None:
        style = (styles.get("money", places=exponent_of(row["currency"]))
                 if column.kind is Kind.MONEY else styles.get("text", editable=editable))
        sheet.write_blank(r, c, None, style)
    elif column.kind in (Kind.MONEY, Kind.REPORTING):
        currency = (row["currency"] if column.kind is Kind.MONEY
                    else row["reporting_currency"] or reporting_currency)
        # the one Decimal -> double step the file format needs; exact at the exponent
        sheet.write_number(r, c, float(value), styles.get("money", places=exponent_of(currency)))
    elif column.kind is Kind.INTEGER:
        sheet.write_number(r, c, int(value), styles.get("integer"))
    elif column.kind is Kind.TIMESTAMP:
        sheet.write_datetime(r, c, cell_timestamp(value), styles.get("timestamp"))
    else:  # text and flags: always strings, so nothing a person wrote becomes a formula
        sheet.write_string(r, c, original_text(column, row),
                           styles.get("text", editable=editable))


def _width(column: Column, rows: Sequence[dict[str, Any]]) -> int:
    """The column's fixed width, or its longest value's (sampled), within MAX_WIDTH."""
    if column.width is not None:
        return max(column.width, len(column.name) // 2 + 2)
    longest = max((len(original_text(column, row)) for row in rows[:500]), default=0)
    return min(max(longest, len(column.name)) + 2, MAX_WIDTH)


def _write_summary(sheet: Worksheet, summary: dict[str, dict[str, Tally]], origin: Origin,
                   selection: Selection, now: dt.datetime, rows: int,
                   styles: _Styles) -> None:
    """Header information, how to use the workbook, then one small table per dimension."""
    places = exponent_of(origin.reporting_currency)
    sheet.write_string(0, 0, f"tieout exceptions: {origin.company}", styles.get("title"))
    values: dict[str, str | int] = {
        "Company": origin.company, "Warehouse": str(origin.warehouse),
        "Period": selection.period or ALL_PERIODS,
        "Exported at (UTC)": cell_timestamp(now).strftime(TIMESTAMP_FORMAT),
        "Exported by": origin.actor, "Reporting currency": origin.reporting_currency,
        "Exceptions exported": rows,
    }
    for i, label in enumerate(SUMMARY_INFO):
        r = SUMMARY_FIRST_INFO_ROW - 1 + i
        sheet.write_string(r, 0, label, styles.get("bold"))
        value = values[label]
        if isinstance(value, int):
            sheet.write_number(r, 1, value, styles.get("integer"))
        else:
            sheet.write_string(r, 1, value, styles.get("text"))
    narrowed = [f"{k} {v}" for k, v in (("rule", selection.rule),
                                         ("status", selection.status)) if v]
    r = SUMMARY_FIRST_INFO_ROW - 1 + len(SUMMARY_INFO)
    if narrowed:
        sheet.write_string(r, 0, "Only", styles.get("bold"))
        sheet.write_string(r, 1, ", ".join(narrowed), styles.get("text"))
        r += 1
    sheet.write_string(r + 1, 0, "Fill in status, owner, note and change_reason on the rule "
                       "sheets (resolved and waived need a change_reason), then run "
                       "`tieout exceptions import FILE`.", styles.get("text"))
    r += 3
    for dimension, title in SUMMARY_DIMENSIONS:
        sheet.write_string(r, 0, title, styles.get("bold"))
        sheet.write_string(r + 1, 0, dimension, styles.get("header"))
        sheet.write_string(r + 1, 1, "exceptions", styles.get("header"))
        sheet.write_string(r + 1, 2, f"|difference| ({origin.reporting_currency})",
                           styles.get("header"))
        r += 2
        total = Tally()
        for key, tally in summary[dimension].items():
            sheet.write_string(r, 0, key, styles.get("text"))
            sheet.write_number(r, 1, tally.count, styles.get("integer"))
            sheet.write_number(r, 2, float(tally.amount), styles.get("money", places=places))
            total.count += tally.count
            total.amount += tally.amount
            r += 1
        sheet.write_string(r, 0, "total", styles.get("bold"))
        sheet.write_number(r, 1, total.count, styles.get("bold"))
        sheet.write_number(r, 2, float(total.amount), styles.get("bold_money", places=places))
        r += 2
    sheet.set_column(0, 0, 30)
    sheet.set_column(1, 1, 24)
    sheet.set_column(2, 2, 22)
    sheet.protect("", PROTECTION)


def _write_meta(sheet: Worksheet, placed: Sequence[tuple[str, int, dict[str, Any]]],
                origin: Origin, selection: Selection, now: dt.datetime) -> None:
    """The very hidden sheet the import reads: key/value rows, a blank row, the originals."""
    meta = {"format_version": FORMAT_VERSION, "period": selection.period or "",
            "warehouse": str(origin.warehouse),
            "exported_at": cell_timestamp(now).strftime(TIMESTAMP_FORMAT),
            "exported_by": origin.actor, "reporting_currency": origin.reporting_currency}
    for r, (key, value) in enumerate(meta.items()):
        sheet.write_string(r, 0, key)
        sheet.write_string(r, 1, value)
    r = len(meta) + 1
    for c, name in enumerate(META_ROW_HEADER):
        sheet.write_string(r, c, name)
    for sheet_name, row_number, row in placed:
        r += 1
        texts = [sheet_name, str(row_number), row["exception_id"], str(row["revision"]),
                 *(original_text(c, row) for c in COLUMNS)]
        for c, text in enumerate(texts):
            sheet.write_string(r, c, text)
    sheet.very_hidden()
    sheet.protect("", PROTECTION)


def _write_atomically(path: Path, write: Callable[[Path], None]) -> None:
    """Write beside ``path`` and rename, so a failed export never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.partial")
    try:
        write(temporary)
        os.replace(temporary, path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    except xlsxwriter.exceptions.FileCreateError as exc:
        raise InputError(f"cannot write {path}: {exc}") from None
    finally:
        temporary.unlink(missing_ok=True)
