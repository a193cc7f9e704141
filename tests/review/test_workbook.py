"""The Excel round trip: export, edit as a controller would (openpyxl), import.

The helpers at the top are shared with ``test_workbook_cli`` and ``test_workbook_libreoffice``.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from tieout.errors import InputError
from tieout.review import Change, Status, apply_changes
from tieout.warehouse.connection import open_read_only
from tieout.workbook import (
    COLUMN_NAMES,
    META_SHEET,
    SUMMARY_SHEET,
    ExportResult,
    ImportResult,
    Origin,
    Selection,
    WorkbookProblem,
    WorkbookRejected,
    export_csv,
    export_workbook,
    import_workbook,
    select_rows,
)
from tieout.workbook.layout import sheet_names

from .world import ROWS, T0, Row, World, make_world

NOW = T0 + dt.timedelta(days=10)  # the export; imports happen a little later
LATER = NOW + dt.timedelta(hours=3)


# -- helpers (also used by the CLI and LibreOffice tests) ------------------------------------

def export(world: World, path: Path, selection: Selection | None = None,
           now: dt.datetime = NOW) -> ExportResult:
    """The world's workbook as ``ann`` exports it."""
    with open_read_only(world.warehouse) as con:
        return export_workbook(con, path, Origin("Acme Inc", world.warehouse, "USD", "ann"),
                               selection or Selection(), now=now)


def locate(path: Path, exception_id: str) -> tuple[str, int]:
    """The sheet and 1-based row an exception is on."""
    book = openpyxl.load_workbook(path)
    for sheet in book.worksheets:
        if sheet.title in (SUMMARY_SHEET, META_SHEET):
            continue
        for row in sheet.iter_rows(min_row=2):
            if row[0].value == exception_id:
                return sheet.title, row[0].row
    raise AssertionError(f"{exception_id} is not in {path}")


def edit(source: Path, target: Path, changes: Mapping[str, Mapping[str, Any]]) -> Path:
    """Set cells by exception and column name, as a controller typing in Excel would."""
    book = openpyxl.load_workbook(source)
    found = set()
    for sheet in book.worksheets:
        if sheet.title in (SUMMARY_SHEET, META_SHEET):
            continue
        for row in sheet.iter_rows(min_row=2):
            exception_id = row[0].value
            for name, value in changes.get(exception_id, {}).items():
                row[COLUMN_NAMES.index(name)].value = value
                found.add(exception_id)
    assert found == set(changes), f"not in the workbook: {set(changes) - found}"
    book.save(target)
    return target


def dump(world: World, con: duckdb.DuckDBPyConnection | None = None
         ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Every row of the review state and of its audit trail."""
    if con is None:
        with open_read_only(world.warehouse) as own:
            return dump(world, own)
    review = con.execute("SELECT * FROM ops.exception_review ORDER BY exception_id").fetchall()
    audit = con.execute("SELECT * FROM ops.exception_audit ORDER BY audit_id").fetchall()
    return review, audit


def run_import(world: World, path: Path, actor: str = "carol", period: str | None = None,
               now: dt.datetime = LATER) -> ImportResult:
    with world.connect() as con:
        return import_workbook(con, path, actor, period=period, now=now)


def rejected(world: World, path: Path, period: str | None = None) -> list[WorkbookProblem]:
    """Import expecting a refusal; also proves the refusal changed nothing at all."""
    with world.connect() as con:
        before = dump(world, con)
        with pytest.raises(WorkbookRejected) as caught:
            import_workbook(con, path, "carol", period=period, now=LATER)
        assert dump(world, con) == before
    assert caught.value.problems
    assert str(caught.value).startswith(f"{path.name}: {len(caught.value.problems)} problem")
    return caught.value.problems


def ref(sheet: str, name: str, row: int) -> str:
    """``SHEET!<letter><row>`` of a named column, wherever the layout puts it."""
    return f"{sheet}!{get_column_letter(COLUMN_NAMES.index(name) + 1)}{row}"


def column(problem: WorkbookProblem) -> str | None:
    return None if problem.column is None else COLUMN_NAMES[problem.column]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The world and its workbook, built once; each test works on copies (fast)."""
    root = tmp_path_factory.mktemp("template")
    export(make_world(root / "world"), root / "review.xlsx")
    return root


@pytest.fixture
def world(template: Path, tmp_path: Path) -> World:
    shutil.copytree(template / "world", tmp_path / "world")
    return World(tmp_path / "world" / "tieout.toml", tmp_path / "world" / "warehouse.duckdb")


@pytest.fixture
def exported(template: Path, tmp_path: Path) -> Path:
    return Path(shutil.copy(template / "review.xlsx", tmp_path / "review.xlsx"))


# -- the round trip ---------------------------------------------------------------------------

def test_round_trip_applies_exactly_the_edits_and_audits_them(world, exported, tmp_path):
    _review, audit_before = dump(world)
    filled = edit(exported, tmp_path / "filled.xlsx", {
        "e1": {"status": "Waived", "change_reason": "FX timing, cleared on 2 January"},
        "e3": {"owner": "dana"},
        "e4": {"note": "asked the ERP team for the schedule"},
    })

    result = run_import(world, filled)

    assert (result.rows_read, result.rows_changed, result.fields_changed,
            result.already_applied) == (5, 3, 3, 0)
    with world.connect() as con:
        state = {r[0]: r[1:] for r in con.execute(
            "SELECT exception_id, status, owner, note, resolution, revision, updated_by, "
            "updated_at FROM ops.exception_review").fetchall()}
        audit = con.execute(
            "SELECT exception_id, actor, action, field, old_value, new_value, reason, run_id, "
            "revision, changed_at FROM ops.exception_audit WHERE audit_id > ? "
            "ORDER BY audit_id", [max(a[0] for a in audit_before)]).fetchall()
    assert state["e1"] == ("waived", None, None, "manual", 2, "carol", LATER)
    assert state["e3"] == ("open", "dana", None, None, 2, "carol", LATER)
    assert state["e4"] == ("open", None, "asked the ERP team for the schedule", None, 2,
                           "carol", LATER)
    for untouched in ("e2", "e5"):
        assert state[untouched] == ("open", None, None, None, 1, "tieout", T0)
    assert audit == [
        ("e1", "carol", "status", "status", "open", "waived", "FX timing, cleared on 2 January",
         None, 2, LATER),
        ("e3", "carol", "assign", "owner", None, "dana", None, None, 2, LATER),
        ("e4", "carol", "note", "note", None, "asked the ERP team for the schedule", None, None,
         2, LATER),
    ]


def test_importing_the_same_workbook_again_is_a_clean_no_op(world, exported, tmp_path):
    """Decision: a row whose edits the warehouse already holds is skipped, not stale."""
    filled = edit(exported, tmp_path / "filled.xlsx", {
        "e1": {"status": "waived", "change_reason": "FX timing"}, "e3": {"owner": "dana"}})
    run_import(world, filled)
    after_first = dump(world)

    again = run_import(world, filled, now=LATER + dt.timedelta(hours=1))

    assert (again.rows_read, again.rows_changed, again.fields_changed,
            again.already_applied) == (5, 0, 0, 2)
    assert dump(world) == after_first


def test_an_unedited_workbook_changes_nothing(world, exported):
    before = dump(world)
    result = run_import(world, exported)
    assert (result.rows_read, result.rows_changed, result.already_applied) == (5, 0, 0)
    assert dump(world) == before


def test_a_row_changed_since_the_export_is_refused_naming_who_and_when(world, exported,
                                                                       tmp_path):
    with world.connect() as con:
        apply_changes(con, [Change("e1", owner="bob")], "erin",
                      now=dt.datetime(2026, 1, 15, 7, 30, tzinfo=dt.UTC))
    filled = edit(exported, tmp_path / "filled.xlsx", {"e1": {"owner": "dana"},
                                                      "e3": {"owner": "dana"}})
    sheet, row = locate(exported, "e1")

    [problem] = rejected(world, filled)

    assert (problem.sheet, problem.row, column(problem)) == (sheet, row, "revision")
    assert "erin" in problem.message and "2026-01-15 07:30" in problem.message


def _replace_id(path: Path, target: Path) -> Path:
    return edit(path, target, {"e1": {"exception_id": "e999"}, "e3": {"owner": "dana"}})


def _delete_meta(path: Path, target: Path) -> Path:
    book = openpyxl.load_workbook(path)
    del book[META_SHEET]
    book.save(target)
    return target


def _delete_row(path: Path, target: Path) -> Path:
    book = openpyxl.load_workbook(path)
    book["AMOUNT_MISMATCH"].delete_rows(3)
    book.save(target)
    return target


def _add_row(path: Path, target: Path) -> Path:
    book = openpyxl.load_workbook(path)
    sheet = book["AMOUNT_MISMATCH"]
    sheet.append(["e3", "AMOUNT_MISMATCH"])
    book.save(target)
    return target


def _rename_header(path: Path, target: Path) -> Path:
    book = openpyxl.load_workbook(path)
    book["AMOUNT_MISMATCH"].cell(row=1, column=COLUMN_NAMES.index("owner") + 1).value = "assignee"
    book.save(target)
    return target


BAD_WORKBOOKS: dict[str, tuple[Callable[[Path, Path], Path], str, str, str | None, str]] = {
    # name: (make it bad, sheet, exception whose row is named or a row, column, message part)
    "unknown exception": (_replace_id, "AMOUNT_MISMATCH", "e1", "exception_id",
                          "unknown exception 'e999'"),
    "invalid status": (lambda p, t: edit(p, t, {"e1": {"status": "closed"},
                                                "e3": {"owner": "dana"}}),
                       "AMOUNT_MISMATCH", "e1", "status", "unknown status 'closed'"),
    "waive without reason": (lambda p, t: edit(p, t, {"e4": {"status": "waived"},
                                                      "e3": {"owner": "dana"}}),
                             "SCHEDULE_MISSING", "e4", "change_reason", "needs a reason"),
    "resolve without reason": (lambda p, t: edit(p, t, {"e4": {"status": "resolved",
                                                               "change_reason": "  "}}),
                               "SCHEDULE_MISSING", "e4", "change_reason", "needs a reason"),
    "edited amount": (lambda p, t: edit(p, t, {"e4": {"billing_amount": 35000},
                                               "e3": {"owner": "dana"}}),
                      "SCHEDULE_MISSING", "e4", "billing_amount", "read-only"),
    "edited reason text": (lambda p, t: edit(p, t, {"e2": {"reason": "fine"},
                                                    "e3": {"owner": "dana"}}),
                           "AMOUNT_MISMATCH", "e2", "reason", "read-only"),
    "reason without change": (lambda p, t: edit(p, t, {"e2": {"change_reason": "because"},
                                                       "e3": {"owner": "dana"}}),
                              "AMOUNT_MISMATCH", "e2", "change_reason", "nothing to record"),
    "formula": (lambda p, t: edit(p, t, {"e2": {"owner": "=A2"}}),
                "AMOUNT_MISMATCH", "e2", "owner", "formula"),
    "missing hidden sheet": (_delete_meta, META_SHEET, "", None, "no hidden _tieout sheet"),
    "deleted row": (_delete_row, "AMOUNT_MISMATCH", "e2", None, "row was deleted"),
    "row moved from another sheet": (_add_row, "AMOUNT_MISMATCH", "4", "exception_id",
                                     "exported on sheet INVOICE_MISSING_IN_ERP"),
    "renamed header": (_rename_header, "AMOUNT_MISMATCH", "1", "owner", "header changed"),
}


@pytest.mark.parametrize("case", list(BAD_WORKBOOKS))
def test_a_bad_workbook_changes_nothing_and_names_sheet_row_and_column(world, exported,
                                                                       tmp_path, case):
    make_bad, sheet, where, expected_column, message = BAD_WORKBOOKS[case]
    bad = make_bad(exported, tmp_path / "bad.xlsx")

    problems = rejected(world, bad)

    if where.isdigit():
        expected_row: int | None = int(where)
    elif where:
        expected_row = locate(exported, where)[1]
    else:
        expected_row = None
    matching = [p for p in problems if message in p.message]
    assert matching, [str(p) for p in problems]
    assert (matching[0].sheet, matching[0].row, column(matching[0])) == (
        sheet, expected_row, expected_column)


def test_a_note_cannot_be_cleared_from_the_workbook(world, tmp_path):
    with world.connect() as con:
        apply_changes(con, [Change("e2", note="waiting for the credit note")], "erin", now=NOW)
    path = tmp_path / "with-note.xlsx"
    export(world, path)
    bad = edit(path, tmp_path / "bad.xlsx", {"e2": {"owner": "dana", "note": None}})
    [problem] = rejected(world, bad)
    assert problem.where == ref("AMOUNT_MISMATCH", "note", 3)
    assert "cannot be cleared" in problem.message


def test_every_problem_is_listed_at_once_in_sheet_and_row_order(world, exported, tmp_path):
    bad = edit(exported, tmp_path / "bad.xlsx", {
        "e4": {"status": "waived", "difference": -1},
        "e1": {"status": "nope"},
        "e2": {"entity": "XX01"},
    })
    problems = rejected(world, bad)
    assert [p.where for p in problems] == [
        ref("AMOUNT_MISMATCH", "status", 2), ref("AMOUNT_MISMATCH", "entity", 3),
        ref("SCHEDULE_MISSING", "difference", 2), ref("SCHEDULE_MISSING", "change_reason", 2)]


def test_amounts_are_compared_at_the_currency_exponent_not_as_floats(world, exported,
                                                                     tmp_path):
    # what a spreadsheet re-saving a double may write: not an edit
    noisy = edit(exported, tmp_path / "noisy.xlsx", {
        "e1": {"other_amount": 112.50000000000001, "billing_amount": 99.99999999999999},
        "e4": {"billing_amount": 34000.000000001, "difference_reporting": -240.57999999999998}})
    assert run_import(world, noisy).rows_changed == 0
    # one minor unit is an edit, in each currency's own unit
    cent = edit(exported, tmp_path / "cent.xlsx", {"e1": {"other_amount": 112.51},
                                                   "e4": {"billing_amount": 34001}})
    problems = rejected(world, cent)
    assert {(p.where, column(p)) for p in problems} == {
        ("AMOUNT_MISMATCH!K2", "other_amount"), ("SCHEDULE_MISSING!I2", "billing_amount")}


def test_a_workbook_of_another_period_is_refused(world, tmp_path):
    path = tmp_path / "december.xlsx"
    export(world, path, Selection(period="2025-12"))
    filled = edit(path, tmp_path / "filled.xlsx", {"e3": {"owner": "dana"}})

    [problem] = rejected(world, filled, period="2025-11")

    assert problem.where == "Summary!B5"
    assert "2025-12" in problem.message and "2025-11" in problem.message
    assert run_import(world, filled, period="2025-12").rows_changed == 1


def test_an_all_periods_workbook_is_refused_when_a_period_is_asked_for(world, exported,
                                                                      tmp_path):
    [problem] = rejected(world, exported, period="2025-12")
    assert problem.where == "Summary!B5" and "all periods" in problem.message


def test_a_row_whose_exception_moved_to_another_period_is_refused(world, tmp_path):
    path = tmp_path / "january.xlsx"
    export(world, path, Selection(period="2026-01"))
    # a later run dates the undated AR exception (e5) by its new as_of: February
    world.run(ROWS, "run-2", dt.datetime(2026, 2, 10, 6, 0, tzinfo=dt.UTC))
    filled = edit(path, tmp_path / "filled.xlsx", {"e5": {"owner": "dana"}})

    [problem] = rejected(world, filled)

    assert (problem.sheet, problem.row, column(problem)) == ("AR_CUSTOMER_MISMATCH", 2,
                                                             "period")
    assert "2026-02" in problem.message


def test_import_reads_xlsx_only_with_one_line_errors(world, tmp_path):
    text = tmp_path / "notes.xlsx"
    text.write_text("not a workbook")
    with pytest.raises(InputError, match="not an Excel workbook"):
        run_import(world, text)
    csv_file = tmp_path / "review.csv"
    with world.connect() as con:
        export_csv(con, csv_file, now=NOW)
    with pytest.raises(InputError, match=r"\.xlsx workbook only"):
        run_import(world, csv_file)
    with pytest.raises(InputError, match="does not exist"):
        run_import(world, tmp_path / "missing.xlsx")


# -- what the workbook looks like -------------------------------------------------------------

def _summary_tables(path: Path) -> dict[str, dict[str, tuple[int, Decimal]]]:
    """The Summary sheet's tables, keyed by their header (rule, entity, status, ageing)."""
    sheet = openpyxl.load_workbook(path)[SUMMARY_SHEET]
    tables: dict[str, dict[str, tuple[int, Decimal]]] = {}
    current: dict[str, tuple[int, Decimal]] | None = None
    for label, count, amount in sheet.iter_rows(min_col=1, max_col=3, values_only=True):
        if count == "exceptions":
            current = tables.setdefault(label, {})
        elif current is not None and label is not None and label != "total":
            current[label] = (count, Decimal(repr(amount)))
        elif label is None:
            current = None
    return tables


def test_summary_figures_match_the_review_state(world, tmp_path):
    with world.connect() as con:
        apply_changes(con, [Change("e2", status=Status.INVESTIGATING),
                            Change("e3", status=Status.WAIVED, reason="billing error")],
                      "erin", now=T0 + dt.timedelta(days=1))
    world.run([*ROWS, Row("e6", "AMOUNT_MISMATCH", "invoice:in_6", "US01", "USD", "2025-12",
                          Decimal("1.00"), Decimal("2.25"), Decimal("1.2500"))],
              "run-2", T0 + dt.timedelta(days=35))
    path = tmp_path / "summary.xlsx"
    export(world, path, now=T0 + dt.timedelta(days=40))

    tables = _summary_tables(path)

    with world.connect() as con:
        def expected(column_sql: str) -> dict[str, tuple[int, Decimal]]:
            rows = con.execute(f"SELECT {column_sql}, count(*), sum(abs(difference_reporting)) "
                               "FROM ops.exception_review GROUP BY 1").fetchall()
            return {key: (count, amount) for key, count, amount in rows}

        by_rule, by_entity, by_status = (expected("rule"), expected("entity"),
                                         expected("status"))
    assert tables["rule"] == by_rule
    assert tables["entity"] == by_entity
    assert {k: v for k, v in tables["status"].items() if v[0]} == by_status
    assert tables["status"]["resolved"] == (0, Decimal(0))
    assert tables["ageing"]["0-7 days"] == (1, Decimal("1.25"))  # e6, first seen 5 days ago
    assert tables["ageing"]["31-60 days"] == (5, Decimal("5667.24"))
    sheet = openpyxl.load_workbook(path)[SUMMARY_SHEET]
    info = {row[0]: row[1] for row in sheet.iter_rows(min_row=3, max_row=9, max_col=2,
                                                      values_only=True)}
    assert info == {"Company": "Acme Inc", "Warehouse": str(world.warehouse),
                    "Period": "all periods", "Exported at (UTC)": "2026-02-14 06:00:00",
                    "Exported by": "ann", "Reporting currency": "USD",
                    "Exceptions exported": 6}


def test_sheets_are_protected_with_only_the_review_cells_unlocked(exported):
    book = openpyxl.load_workbook(exported)
    assert book.sheetnames[0] == SUMMARY_SHEET
    assert book[META_SHEET].sheet_state == "veryHidden"
    assert all(book[name].sheet_state == "visible" for name in book.sheetnames[:-1])
    sheet = book["SCHEDULE_MISSING"]  # e4, JPY
    assert sheet.protection.sheet
    assert not sheet.protection.autoFilter and not sheet.protection.sort  # allowed
    header = [c.value for c in sheet[1]]
    assert header == list(COLUMN_NAMES)
    cells = {name: sheet.cell(2, i + 1) for i, name in enumerate(header)}
    assert cells["exception_id"].value == "e4" and cells["exception_id"].protection.locked
    for name in ("billing_amount", "difference_reporting", "revision", "period", "reason"):
        assert cells[name].protection.locked, name
    for name in ("status", "owner", "note", "change_reason"):
        assert not cells[name].protection.locked, name
    assert sheet.freeze_panes == "B2"
    assert sheet.auto_filter.ref == f"A1:{get_column_letter(len(COLUMN_NAMES))}2"
    assert cells["billing_amount"].number_format == "#,##0"  # yen: no decimals
    assert cells["billing_amount"].value == 34000
    assert cells["difference_reporting"].number_format == "#,##0.00"  # in USD
    assert cells["first_seen"].value == dt.datetime(2026, 1, 5, 6, 0)
    [validation] = sheet.data_validations.dataValidation
    assert validation.type == "list"
    assert str(validation.sqref) == ref("x", "status", 2).removeprefix("x!")
    assert validation.formula1 == '"open,investigating,resolved,waived"'
    usd = book["AMOUNT_MISMATCH"]
    assert usd.cell(2, COLUMN_NAMES.index("billing_amount") + 1).number_format == "#,##0.00"
    assert usd.protection.sheet and book[SUMMARY_SHEET].protection.sheet


def test_rule_sheets_hold_the_rows_largest_difference_first(exported):
    book = openpyxl.load_workbook(exported)
    ids = {name: [r[0] for r in book[name].iter_rows(min_row=2, values_only=True)]
           for name in book.sheetnames[1:-1]}
    assert ids == {"AMOUNT_MISMATCH": ["e1", "e2"], "AR_CUSTOMER_MISMATCH": ["e5"],
                   "INVOICE_MISSING_IN_ERP": ["e3"], "SCHEDULE_MISSING": ["e4"]}


def test_export_selection(world, tmp_path):
    def selected(selection: Selection) -> set[str]:
        with open_read_only(world.warehouse) as con:
            return {r["exception_id"] for r in select_rows(con, selection, NOW)}

    assert selected(Selection(period="2025-12")) == {"e1", "e2", "e3"}
    assert selected(Selection(rule="AMOUNT_MISMATCH")) == {"e1", "e2"}
    # e2 disappears: auto-resolved and gone, so history rather than work
    world.run([r for r in ROWS if r.exception_id != "e2"], "run-2", NOW)
    assert selected(Selection()) == {"e1", "e3", "e4", "e5"}
    assert selected(Selection(include_resolved=True)) == {"e1", "e2", "e3", "e4", "e5"}
    assert selected(Selection(status=Status.RESOLVED)) == {"e2"}
    # the workbook holds exactly the selected rows
    path = tmp_path / "current.xlsx"
    assert export(world, path).sheets == {"AMOUNT_MISMATCH": 1, "AR_CUSTOMER_MISMATCH": 1,
                                          "INVOICE_MISSING_IN_ERP": 1, "SCHEDULE_MISSING": 1}
    book = openpyxl.load_workbook(path)
    assert {r[0] for name in book.sheetnames[1:-1]
            for r in book[name].iter_rows(min_row=2, values_only=True)} == {
        "e1", "e3", "e4", "e5"}
    # nothing selected: a workbook with just its Summary, which imports as a no-op
    empty = tmp_path / "empty.xlsx"
    assert export(world, empty, Selection(period="2024-01")).rows == 0
    assert openpyxl.load_workbook(empty).sheetnames == [SUMMARY_SHEET, META_SHEET]
    assert run_import(world, empty, period="2024-01").rows_read == 0


def test_csv_export_has_the_same_columns_with_exact_amounts(world, tmp_path):
    path = tmp_path / "review.csv"
    with world.connect() as con:
        result = export_csv(con, path, Selection(period="2025-11"), now=NOW)
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert result.rows == 1 and list(rows[0]) == list(COLUMN_NAMES)
    assert {k: rows[0][k] for k in ("exception_id", "currency", "billing_amount", "other_amount",
                                    "difference", "difference_reporting", "is_material",
                                    "first_seen", "status", "change_reason")} == {
        "exception_id": "e4", "currency": "JPY", "billing_amount": "34000",
        "other_amount": "", "difference": "-34000", "difference_reporting": "-240.58",
        "is_material": "false", "first_seen": "2026-01-05 06:00:00", "status": "open",
        "change_reason": ""}


def test_a_failed_export_leaves_no_file_behind(world, tmp_path):
    target = tmp_path / "folder.xlsx"
    target.mkdir()  # cannot be replaced by a file
    with pytest.raises(InputError, match="cannot write"):
        export(world, target)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".partial")] == []


def test_sheet_names_fit_excel_and_stay_unique():
    long = "A_VERY_LONG_RULE_CODE_THAT_EXCEEDS_EXCEL"
    names = sheet_names([long, long[:31] + "_2", "SUMMARY", "X[1]"])
    assert names[long] == long[:31]
    assert names[long[:31] + "_2"] == long[:29] + "~2"
    assert names["SUMMARY"] == "SUMMARY~2"  # Excel names are case-insensitive
    assert names["X[1]"] == "X_1_"
    assert all(len(n) <= 31 for n in names.values())
