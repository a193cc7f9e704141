"""Read a filled-in review workbook back: check everything, then apply all of it or none.

The very hidden ``_tieout`` sheet holds the text of every cell as exported and each row's
revision, so every cell is compared with its own original:

- a review cell (status, owner, note, change_reason) that differs is an edit to apply;
- any other cell that differs (amounts compared as ``Decimal`` at the currency's exponent, so
  a value Excel or LibreOffice merely re-saved is not an edit), a row added, deleted or moved
  to another sheet, an edited header, a workbook of another period than ``--period``, a row
  whose exception now belongs to another period, and anything ``review.validate`` refuses
  (unknown exception, resolve or waive without a change_reason, a row someone else changed
  since the export) is a problem naming its sheet, row and column.

Nothing is written unless there is no problem at all; then every edit goes through
``review.apply_changes`` in one transaction, audited with the importer as actor and the
row's change_reason as reason.  Rows whose values equal the export change nothing.

Importing the same workbook twice is a clean no-op: a row whose edits the warehouse already
holds (the same status, owner and note) is counted as already applied and skipped, even though
its revision moved on with the first import.  A row asking for something else on an exception
that changed since the export is refused as stale, naming who changed it and when.

A note cannot be cleared from the workbook (the review state keeps the latest note; its
history is in the audit), and a change_reason on a row that changes nothing is refused rather
than silently dropped.  Only ``.xlsx`` files are read: a CSV export carries no originals.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from tieout.errors import InputError
from tieout.review import (
    Applied,
    Change,
    ChangesRejected,
    Problem,
    Status,
    apply_changes,
    parse_status,
    validate,
)

from .layout import (
    ALL_PERIODS,
    COLUMN_NAMES,
    COLUMNS,
    EDITABLE,
    FORMAT_VERSION,
    INDEX,
    META_KEYS,
    META_ROW_HEADER,
    META_SHEET,
    SUMMARY_PERIOD_ROW,
    SUMMARY_SHEET,
    TIMESTAMP_FORMAT,
    Column,
    Kind,
    at_exponent,
    cell_ref,
)

# Which column a ``review.validate`` problem points at.
_PROBLEM_COLUMNS = {"exception_id": "exception_id", "revision": "revision",
                    "reason": "change_reason", "status": "status", "owner": "owner",
                    "note": "note"}


@dataclass(frozen=True)
class WorkbookProblem:
    """Why a workbook cannot be imported, pointing at a sheet, row and column (0-based)."""

    sheet: str
    row: int | None
    column: int | None
    message: str

    @property
    def where(self) -> str:
        """``Sheet!C5``, ``Sheet!5`` for a whole row, or the sheet alone."""
        return cell_ref(self.sheet, self.row, self.column)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"


class WorkbookRejected(InputError):
    """The workbook has problems; nothing was imported.  ``problems`` lists every one."""

    def __init__(self, path: Path, problems: Sequence[WorkbookProblem]) -> None:
        self.path = path
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__(f"{path.name}: {count} problem{'s' if count != 1 else ''}, nothing "
                         f"was imported; first: {self.problems[0]}")


@dataclass(frozen=True)
class Original:
    """One exported row as ``_tieout`` recorded it: where, which exception, every cell."""

    sheet: str
    row: int
    exception_id: str
    revision: int
    cells: dict[str, str]


@dataclass(frozen=True)
class Manifest:
    """The ``_tieout`` sheet: what was exported, when, from where, for which period."""

    format_version: str
    period: str | None  # None: all periods
    warehouse: str
    exported_at: str
    exported_by: str
    reporting_currency: str
    originals: tuple[Original, ...]

    @property
    def sheets(self) -> list[str]:
        """The rule sheets, in export order."""
        return list(dict.fromkeys(o.sheet for o in self.originals))


@dataclass(frozen=True)
class Edit:
    """A row whose review cells differ from the export: the change it asks for."""

    sheet: str
    row: int
    change: Change
    fields: tuple[str, ...]  # status, owner, note: the ones that differ from the export


@dataclass(frozen=True)
class ImportPlan:
    """A checked workbook: the edits to apply and the rows the warehouse already reflects."""

    manifest: Manifest
    rows_read: int
    edits: list[Edit]
    already_applied: list[Edit]


@dataclass(frozen=True)
class ImportResult:
    """What an import did."""

    path: Path
    manifest: Manifest
    rows_read: int
    rows_changed: int
    already_applied: int
    applied: list[Applied] = field(default_factory=list)

    @property
    def fields_changed(self) -> int:
        """Fields that moved (each one audit row)."""
        return len(self.applied)


def read_manifest(path: Path) -> Manifest:
    """The ``_tieout`` sheet of a workbook, or ``WorkbookRejected`` if it is not tieout's."""
    book = _open(path)
    try:
        manifest, problems = _manifest(book)
    finally:
        book.close()
    if manifest is None:
        raise WorkbookRejected(path, problems)
    return manifest


def plan_import(con: duckdb.DuckDBPyConnection, path: Path, *,
                period: str | None = None) -> ImportPlan:
    """Check the whole workbook against its originals and the warehouse, writing nothing.

    Raises ``WorkbookRejected`` listing every problem; returns the edits otherwise.
    """
    book = _open(path)
    try:
        manifest, problems = _manifest(book)
        if manifest is None:
            raise WorkbookRejected(path, problems)
        reader = _Reader(manifest)
        for sheet in manifest.sheets:
            if sheet not in book.sheetnames:
                count = sum(1 for o in manifest.originals if o.sheet == sheet)
                reader.fail(sheet, None, None, f"the sheet was deleted (it held {count} "
                                               "exported exceptions)")
                continue
            worksheet = book[sheet]
            worksheet.reset_dimensions()  # read every row, whatever the file claims
            reader.read_sheet(sheet, worksheet.iter_rows())
    finally:
        book.close()
    if period is not None and period != manifest.period:
        reader.fail(SUMMARY_SHEET, SUMMARY_PERIOD_ROW, 1,
                    f"the workbook is for {manifest.period or ALL_PERIODS}, not --period "
                    f"{period}")
    edits, already = _check_against_warehouse(con, manifest, reader)
    if reader.problems:
        order = {name: i for i, name in enumerate([SUMMARY_SHEET, *manifest.sheets])}
        raise WorkbookRejected(path, sorted(
            reader.problems, key=lambda p: (order.get(p.sheet, -1), p.row or 0,
                                            -1 if p.column is None else p.column)))
    return ImportPlan(manifest, reader.rows_read, edits, already)


def import_workbook(con: duckdb.DuckDBPyConnection, path: Path, actor: str, *,
                    period: str | None = None, now: dt.datetime | None = None) -> ImportResult:
    """Check the workbook, then apply every edit in one transaction, or nothing."""
    plan = plan_import(con, path, period=period)
    applied: list[Applied] = []
    if plan.edits:
        try:
            applied = apply_changes(con, [e.change for e in plan.edits], actor, now=now)
        except ChangesRejected as exc:  # someone edited between the check and the write
            raise WorkbookRejected(path, [_locate(p, plan.edits) for p in exc.problems]
                                   ) from None
    return ImportResult(path, plan.manifest, plan.rows_read,
                        len({a.exception_id for a in applied}), len(plan.already_applied),
                        applied)


def _open(path: Path) -> Any:
    """The workbook, read-only; one clear line when it is not an .xlsx file."""
    if path.suffix.lower() == ".csv":
        raise InputError(f"{path}: import reads the .xlsx workbook only; a CSV export has no "
                         "originals to compare with (export --format xlsx)")
    if not path.is_file():
        raise InputError(f"{path} does not exist")
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=False)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise InputError(f"{path} is not an Excel workbook tieout can read: "
                         f"{' '.join(str(exc).split()) or type(exc).__name__}") from None


def _manifest(book: Any) -> tuple[Manifest | None, list[WorkbookProblem]]:
    """Parse ``_tieout``: key/value rows, a blank row, the header, one row per exception."""
    def damaged(message: str, row: int | None = None) -> tuple[None, list[WorkbookProblem]]:
        return None, [WorkbookProblem(META_SHEET, row, None, message)]

    if META_SHEET not in book.sheetnames:
        return damaged("not a workbook tieout exported: it has no hidden _tieout sheet "
                       "(export one with `tieout exceptions export`)")
    rows = [[_text(v) for v in row] for row in book[META_SHEET].iter_rows(values_only=True)]
    meta: dict[str, str] = {}
    position = 0
    while position < len(rows) and any(rows[position]):
        key, value = (rows[position] + ["", ""])[:2]
        meta[key] = value
        position += 1
    if meta.get("format_version") != FORMAT_VERSION:
        return damaged(f"workbook format {meta.get('format_version') or 'unknown'}; this "
                       f"tieout reads format {FORMAT_VERSION} (export it again)")
    missing = [k for k in META_KEYS if k not in meta]
    if missing:
        return damaged(f"the _tieout sheet is damaged: no {', '.join(missing)}")
    position += 1
    header = rows[position] if position < len(rows) else []
    if header[:len(META_ROW_HEADER)] != list(META_ROW_HEADER):
        return damaged("the _tieout sheet is damaged: its row header changed", position + 1)
    originals: list[Original] = []
    for number, row in enumerate(rows[position + 1:], start=position + 2):
        if not any(row):
            continue
        row = (row + [""] * len(META_ROW_HEADER))[:len(META_ROW_HEADER)]
        try:
            originals.append(Original(row[0], int(row[1]), row[2], int(row[3]),
                                      dict(zip(COLUMN_NAMES, row[4:], strict=True))))
        except ValueError:
            return damaged("the _tieout sheet is damaged: a row number or revision is not "
                           "a number", number)
    return Manifest(meta["format_version"], meta["period"] or None, meta["warehouse"],
                    meta["exported_at"], meta["exported_by"], meta["reporting_currency"],
                    tuple(originals)), []


class _Reader:
    """Compares each rule sheet with its originals, collecting edits and problems."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest
        self.problems: list[WorkbookProblem] = []
        self.edits: list[Edit] = []
        self.rows_read = 0
        self.sheet_of = {o.exception_id: o.sheet for o in manifest.originals}
        self.added: list[tuple[str, int, str]] = []  # (sheet, row, exception_id) not exported

    def fail(self, sheet: str, row: int | None, column: int | None, message: str) -> None:
        self.problems.append(WorkbookProblem(sheet, row, column, message))

    def read_sheet(self, sheet: str, rows: Any) -> None:
        originals = {o.exception_id: o for o in self.manifest.originals if o.sheet == sheet}
        seen: dict[str, int] = {}
        added: list[tuple[int, str]] = []
        width = len(COLUMNS)
        for number, cells in enumerate(rows, start=1):
            values = [(c.value, getattr(c, "data_type", None) == "f") for c in cells]
            values += [(None, False)] * (width - len(values))
            for column in range(width, len(values)):
                if values[column][0] not in (None, ""):
                    self.fail(sheet, number, column, "a cell outside the exported columns; "
                                                     "only the review columns may change")
            if number == 1:
                if not self._header(sheet, values):
                    return  # columns moved: comparing cells would only repeat the problem
                continue
            if all(v in (None, "") for v, _formula in values):
                continue
            exception_id = _text(values[0][0]).strip()
            if not exception_id:
                self.fail(sheet, number, 0, "a row was added (it has no exception_id); rows "
                                            "cannot be added to the workbook")
                continue
            if exception_id in seen:
                self.fail(sheet, number, 0, f"exception {exception_id} appears twice (also "
                                            f"at row {seen[exception_id]})")
                continue
            seen[exception_id] = number
            original = originals.get(exception_id)
            if original is None:
                added.append((number, exception_id))
                continue
            self.rows_read += 1
            self._row(sheet, number, original, values)
        missing = {o.row: o for o in originals.values() if o.exception_id not in seen}
        for number, exception_id in added:
            replaced = missing.pop(number, None)
            if replaced is not None:  # the ID cell itself was overwritten
                self.added.append((sheet, number, exception_id))
                self.fail(sheet, number, 0, f"exception_id is read-only: was "
                                            f"{replaced.exception_id!r}, now {exception_id!r}")
            elif exception_id in self.sheet_of:
                self.fail(sheet, number, 0, f"exception {exception_id} was exported on sheet "
                                            f"{self.sheet_of[exception_id]}; rows cannot move "
                                            "between sheets")
            else:
                self.added.append((sheet, number, exception_id))
                self.fail(sheet, number, 0, f"a row was added: exception {exception_id} was "
                                            "not exported in this workbook")
        for original in sorted(missing.values(), key=lambda o: o.row):
            self.fail(sheet, original.row, None, f"a row was deleted: exception "
                                                 f"{original.exception_id} (exported at row "
                                                 f"{original.row}) is missing")

    def _header(self, sheet: str, values: list[tuple[Any, bool]]) -> bool:
        good = True
        for column, name in enumerate(COLUMN_NAMES):
            if _text(values[column][0]).strip() != name:
                self.fail(sheet, 1, column, f"the header changed: this column must be {name!r} "
                                            "(columns cannot be moved, added or renamed)")
                good = False
        return good

    def _row(self, sheet: str, number: int, original: Original,
             values: list[tuple[Any, bool]]) -> None:
        """Read-only cells must equal their originals; review cells make the edit."""
        currency = original.cells["currency"]
        for index, column in enumerate(COLUMNS):
            value, formula = values[index]
            if column.editable:
                if formula:
                    self.fail(sheet, number, index, f"{column.name} holds a formula; type the "
                                                    "value itself")
                continue
            before = original.cells[column.name]
            if formula or not _same(column, before, value, currency,
                                    self.manifest.reporting_currency):
                self.fail(sheet, number, index, f"{column.name} is read-only: was "
                                                f"{before or '(empty)'!r}, now "
                                                f"{_text(value) or '(empty)'!r}; only "
                                                f"{', '.join(EDITABLE)} may change")
            elif (column.name == "period" and self.manifest.period is not None
                  and before != self.manifest.period):
                self.fail(sheet, number, index, f"the row's period {before or '(none)'} is not "
                                                f"the workbook's period {self.manifest.period}")
        if any(values[INDEX[name]][1] for name in EDITABLE):
            return
        self._edit(sheet, number, original, {name: _text(values[INDEX[name]][0]).strip()
                                             for name in EDITABLE})

    def _edit(self, sheet: str, number: int, original: Original, typed: dict[str, str]) -> None:
        before = original.cells
        status: Status | None = None
        good = True
        if typed["status"].lower() != before["status"]:
            if not typed["status"]:
                self.fail(sheet, number, INDEX["status"], "status is empty; choose open, "
                                                          "investigating, resolved or waived")
                good = False
            else:
                try:
                    status = parse_status(typed["status"])
                except ValueError as exc:
                    self.fail(sheet, number, INDEX["status"], str(exc))
                    good = False
        owner = typed["owner"] if typed["owner"] != before["owner"].strip() else None
        note = typed["note"] if typed["note"] != before["note"].strip() else None
        if note == "":
            self.fail(sheet, number, INDEX["note"], "a note cannot be cleared from the "
                                                    "workbook; write the new note instead")
            good = False
        fields = tuple(name for name, new in (("status", status), ("owner", owner),
                                              ("note", note)) if new is not None)
        reason = typed["change_reason"]
        if good and not fields and reason:
            self.fail(sheet, number, INDEX["change_reason"], "change_reason is filled in but "
                      "status, owner and note are unchanged: there is nothing to record it "
                      "with")
        if good and fields:
            self.edits.append(Edit(sheet, number, Change(
                original.exception_id, status=status, owner=owner, note=note,
                reason=reason or None, expected_revision=original.revision), fields))


def _check_against_warehouse(con: duckdb.DuckDBPyConnection, manifest: Manifest,
                             reader: _Reader) -> tuple[list[Edit], list[Edit]]:
    """Unknown exceptions, exceptions now of another period, rows already applied, and
    everything ``review.validate`` refuses (stale revisions, missing reasons)."""
    ids = [e.change.exception_id for e in reader.edits] + [i for _s, _r, i in reader.added]
    current = {row[0]: row[1:] for row in con.execute(
        "SELECT exception_id, status, owner, note, period FROM ops.exception_review "
        "WHERE exception_id IN (SELECT unnest(?))", [ids]).fetchall()} if ids else {}
    for sheet, number, exception_id in reader.added:
        if exception_id not in current:
            reader.fail(sheet, number, 0, f"unknown exception {exception_id!r}: not in this "
                                          "warehouse")
    edits: list[Edit] = []
    already: list[Edit] = []
    for edit in reader.edits:
        change = edit.change
        if change.exception_id not in current:
            reader.fail(edit.sheet, edit.row, 0, f"unknown exception {change.exception_id!r}: "
                                                 "not in this warehouse")
            continue
        status, owner, note, period = current[change.exception_id]
        if manifest.period is not None and period != manifest.period:
            reader.fail(edit.sheet, edit.row, INDEX["period"],
                        f"exception {change.exception_id} now belongs to period "
                        f"{period or '(none)'}, not the workbook's {manifest.period}")
            continue
        wanted = {"status": (change.status.value if change.status else None, status),
                  "owner": (change.owner, owner or ""), "note": (change.note, note or "")}
        if all(wanted[f][0] == wanted[f][1] for f in edit.fields):
            already.append(edit)
        else:
            edits.append(edit)
    for problem in validate(con, [e.change for e in edits]):
        reader.problems.append(_locate(problem, edits))
    return edits, already


def _locate(problem: Problem, edits: Sequence[Edit]) -> WorkbookProblem:
    """A ``review`` problem pointed at the workbook cell it concerns."""
    edit = edits[problem.index]
    column = INDEX.get(_PROBLEM_COLUMNS.get(problem.field, ""), None)
    return WorkbookProblem(edit.sheet, edit.row, column, problem.message)


def _text(value: object) -> str:
    """A cell value as text: integral numbers without ``.0``, timestamps as exported."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return _second(value).strftime(TIMESTAMP_FORMAT)
    return str(value)


def _second(value: dt.datetime) -> dt.datetime:
    """A cell's timestamp to the nearest second (a double holds it with a little noise)."""
    return (value + dt.timedelta(microseconds=500_000)).replace(microsecond=0)


def _decimal(value: object) -> Decimal | None:
    """A cell's number as ``Decimal`` via its shortest text (never float arithmetic)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return Decimal(value)
    try:
        number = Decimal(repr(value) if isinstance(value, float)
                         else str(value).strip().replace(",", ""))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _same(column: Column, before: str, value: object, currency: str,
          reporting_currency: str) -> bool:
    """Whether a read-only cell still holds what was exported."""
    if column.kind in (Kind.MONEY, Kind.REPORTING, Kind.INTEGER):
        if before == "":
            return _text(value).strip() == ""
        number = _decimal(value)
        if number is None:
            return False
        if column.kind is Kind.INTEGER:
            return number == Decimal(before)
        unit = currency if column.kind is Kind.MONEY else reporting_currency
        return at_exponent(number, unit) == at_exponent(Decimal(before), unit)
    if column.kind is Kind.FLAG:
        return _text(value).strip().lower() == before
    return _text(value).strip() == before.strip()
