"""The workbook's shape, shared by the export and the import so the two can never disagree.

One row per exception on its rule's sheet, the columns below in this order: the snapshot
(locked: what the run found, never edited in Excel) and then the review fields a controller
fills in (``status``, ``owner``, ``note`` and ``change_reason``, the reason recorded with a
status change).  The very hidden ``_tieout`` sheet holds the originals of every cell, so the
import compares what a person typed with what was exported, cell by cell.  Changing anything
here changes the file format: bump ``FORMAT_VERSION`` so older workbooks are refused clearly.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum

from tieout.money import CURRENCY_EXPONENTS

FORMAT_VERSION = "1"
SUMMARY_SHEET = "Summary"
META_SHEET = "_tieout"  # very hidden: the format version, the period and every original
MAX_SHEET_NAME = 31  # Excel's limit
_FORBIDDEN_IN_SHEET_NAMES = str.maketrans({c: "_" for c in "[]:*?/\\'"})
DEFAULT_EXPONENT = 2  # a currency tieout has no exponent for shows cents, like the CLI

# The Summary sheet's label/value rows (column A/B, 1-based rows); the import points a
# period mismatch at the value cell of "Period".
SUMMARY_INFO = ("Company", "Warehouse", "Period", "Exported at (UTC)", "Exported by",
                "Reporting currency", "Exceptions exported")
SUMMARY_FIRST_INFO_ROW = 3
SUMMARY_PERIOD_ROW = SUMMARY_FIRST_INFO_ROW + SUMMARY_INFO.index("Period")
ALL_PERIODS = "all periods"
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"  # UTC, to the second (what a cell keeps exactly)


class Kind(StrEnum):
    """How a column's values are written, and so how the import compares them."""

    TEXT = "text"
    MONEY = "money"  # in the row's currency, shown at its exponent
    REPORTING = "reporting"  # in the reporting currency, shown at its exponent
    INTEGER = "integer"
    FLAG = "flag"  # yes / no
    TIMESTAMP = "timestamp"  # UTC, no time zone in the cell


@dataclass(frozen=True)
class Column:
    """One column of a rule sheet: its header, what it holds and whether people edit it."""

    name: str
    kind: Kind = Kind.TEXT
    editable: bool = False
    source: str | None = None  # the review-row key it comes from; None: the name itself
    width: int | None = None  # None: fitted to the content

    @property
    def key(self) -> str:
        """The ``list_review`` key the column reads (``change_reason`` reads nothing)."""
        return self.source or self.name


COLUMNS: tuple[Column, ...] = (
    Column("exception_id", width=18),
    Column("rule"),
    Column("severity", width=9),
    Column("natural_key"),
    Column("entity", width=8),
    Column("currency", width=9),
    Column("period", width=9),
    Column("timing_status"),
    Column("billing_amount", Kind.MONEY, width=16),
    Column("other_system", width=12),
    Column("other_amount", Kind.MONEY, width=16),
    Column("difference", Kind.MONEY, width=16),
    Column("difference_reporting", Kind.REPORTING, width=20),
    Column("is_material", Kind.FLAG, width=11),
    Column("reason", width=50),
    Column("billing_ref"),
    Column("erp_ref"),
    Column("revrec_ref"),
    Column("support_ref"),
    Column("first_seen", Kind.TIMESTAMP, source="first_seen_at", width=19),
    Column("age_days", Kind.INTEGER, width=9),
    Column("revision", Kind.INTEGER, width=9),
    Column("status", editable=True, width=14),
    Column("owner", editable=True, width=16),
    Column("note", editable=True, width=40),
    Column("change_reason", editable=True, width=40),
)
COLUMN_NAMES = tuple(c.name for c in COLUMNS)
INDEX = {c.name: i for i, c in enumerate(COLUMNS)}  # 0-based column positions
EDITABLE = tuple(c.name for c in COLUMNS if c.editable)
MAX_WIDTH = 50  # fitted widths stop here; the cell still holds everything

# The hidden sheet: key/value rows, one blank row, then this header and one row per exception.
META_KEYS = ("format_version", "period", "warehouse", "exported_at", "exported_by",
             "reporting_currency")
META_ROW_HEADER = ("sheet", "row", "exception_id", "revision", *COLUMN_NAMES)


def exponent_of(currency: str | None) -> int:
    """The currency's minor-unit exponent, cents for an unknown or missing currency."""
    return CURRENCY_EXPONENTS.get((currency or "").upper(), DEFAULT_EXPONENT)


def number_format(places: int) -> str:
    """Excel number format with ``places`` decimals: ``#,##0`` for JPY, ``#,##0.00`` else."""
    return "#,##0" + ("." + "0" * places if places else "")


def money_text(value: Decimal | None, currency: str | None) -> str:
    """An amount as exact text, at the currency's exponent when that loses nothing."""
    if value is None:
        return ""
    quantized = value.quantize(Decimal(1).scaleb(-exponent_of(currency)))
    return str(quantized if quantized == value else value)


def at_exponent(value: Decimal, currency: str | None) -> Decimal:
    """``value`` rounded half away from zero to the currency's exponent (for comparing)."""
    return value.quantize(Decimal(1).scaleb(-exponent_of(currency)), rounding=ROUND_HALF_UP)


def cell_timestamp(value: dt.datetime) -> dt.datetime:
    """A timestamp as a cell holds it: UTC, no time zone, whole seconds."""
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.replace(microsecond=0)


def sheet_names(rules: Iterable[str]) -> dict[str, str]:
    """A unique, valid sheet name per rule code (Excel: 31 characters, case-insensitive)."""
    taken = {SUMMARY_SHEET.lower(), META_SHEET.lower()}
    names: dict[str, str] = {}
    for rule in rules:
        base = (rule.translate(_FORBIDDEN_IN_SHEET_NAMES).strip() or "rule")[:MAX_SHEET_NAME]
        name, n = base, 1
        while name.lower() in taken:
            n += 1
            suffix = f"~{n}"
            name = base[:MAX_SHEET_NAME - len(suffix)] + suffix
        taken.add(name.lower())
        names[rule] = name
    return names


def column_letter(index: int) -> str:
    """Excel column letters of a 0-based column index (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def cell_ref(sheet: str, row: int | None = None, column: int | None = None) -> str:
    """``Sheet!C5`` (quoted when Excel would quote it), ``Sheet!5`` for a row, or ``Sheet``."""
    quoted = sheet if sheet.replace("_", "").isalnum() else "'" + sheet.replace("'", "''") + "'"
    if row is None:
        return quoted
    return f"{quoted}!{column_letter(column) if column is not None else ''}{row}"
