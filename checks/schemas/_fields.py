"""Building blocks for the raw-table models: fields and named checks.

Every check carries a ``name`` (what the quarantine records in its ``check`` column) and a
``description`` (the end of the one-line ``reason``: "<column> '<value>' <description>").
The gate reads both back from the compiled schema, so a model is the single place where a
rule and its wording live.

Check names used here: ``required``, ``enum``, ``currency``, ``date_range``, ``date_order``,
``non_negative``, ``positive``, ``decimal_amount``, ``period_format``, ``exponent``,
``unique_key_in_batch`` (pandera's own ``not_nullable`` is reported as ``required`` by the
gate).

All checks are vectorised polars expressions over the typed frame; nulls pass every check
except nullability (``ignore_na``), so a missing value is reported once, as ``required``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandera.polars as pa
import polars as pl

from tieout.money import CURRENCY_EXPONENTS

# Date sanity: every date, timestamp and epoch lies in [2000-01-01, 2100-01-01).
FIRST_YEAR, LAST_YEAR = 2000, 2099
EPOCH_MIN, EPOCH_MAX = 946_684_800, 4_102_444_799  # 2000-01-01T00:00:00Z .. 2099-12-31T23:59:59Z
KNOWN_CURRENCIES = tuple(sorted(CURRENCY_EXPONENTS))
MAX_EXPONENT = max(CURRENCY_EXPONENTS.values())
AMOUNT_PATTERN = r"^-?[0-9]{1,18}(\.[0-9]+)?$"  # fits DECIMAL(20, 2) once validated

CheckFn = Callable[[pa.PolarsData], pl.LazyFrame]


def required() -> Any:
    """A field the source always sends: null (or an empty string, see ``not_empty``) fails."""
    return pa.Field(nullable=False)


def optional() -> Any:
    """A field the source may leave out."""
    return pa.Field(nullable=True)


def _column_check(columns: Sequence[str], name: str, description: str,
                  expr: Callable[[pl.Expr], pl.Expr]) -> classmethod:
    """A named column check applying ``expr(pl.col(column))`` to each of ``columns``."""

    def check(cls: type, data: pa.PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(expr(pl.col(data.key)))

    check.__name__ = f"_{name}"
    return pa.check(*columns, name=name, description=description)(check)


def not_empty(*columns: str) -> classmethod:
    """Required text fields: a blank string counts as missing."""
    return _column_check(columns, "required", "is required but empty",
                         lambda c: c.str.strip_chars().str.len_chars() > 0)


def enum(*columns: str, values: Sequence[str]) -> classmethod:
    """Values from a closed set (statuses, types, NetSuite "T"/"F" flags)."""
    allowed = list(values)
    return _column_check(columns, "enum", "is not one of: " + ", ".join(allowed),
                         lambda c: c.is_in(allowed))


def flags(*columns: str) -> classmethod:
    """NetSuite booleans: "T" or "F"."""
    return _column_check(columns, "enum", "is not a NetSuite flag (T or F)",
                         lambda c: c.is_in(["T", "F"]))


def currency(*columns: str, lower: bool) -> classmethod:
    """ISO 4217 codes tieout has an exponent for, in the source's case."""
    codes = [c.lower() for c in KNOWN_CURRENCIES] if lower else list(KNOWN_CURRENCIES)
    case = "lowercase" if lower else "uppercase"
    return _column_check(
        columns, "currency",
        f"is not a currency tieout knows ({case} ISO 4217: {', '.join(codes)})",
        lambda c: c.is_in(codes))


def currency_list(*columns: str) -> classmethod:
    """Comma-separated uppercase currency codes, each one known."""
    codes = list(KNOWN_CURRENCIES)
    return _column_check(
        columns, "currency",
        f"lists a currency tieout does not know (uppercase ISO 4217: {', '.join(codes)})",
        lambda c: c.str.split(",").list.eval(pl.element().is_in(codes)).list.all())


def epoch_range(*columns: str) -> classmethod:
    """Epoch seconds within the sane date range."""
    return _column_check(
        columns, "date_range",
        f"is outside {FIRST_YEAR}-01-01..{LAST_YEAR + 1}-01-01 "
        f"(epoch seconds {EPOCH_MIN}..{EPOCH_MAX})",
        lambda c: c.is_between(EPOCH_MIN, EPOCH_MAX))


def date_range(*columns: str) -> classmethod:
    """Dates and UTC timestamps within the sane date range."""
    return _column_check(
        columns, "date_range", f"is outside {FIRST_YEAR}-01-01..{LAST_YEAR + 1}-01-01",
        lambda c: c.dt.year().is_between(FIRST_YEAR, LAST_YEAR))


def non_negative(*columns: str) -> classmethod:
    """Counts and amounts that cannot be negative."""
    return _column_check(columns, "non_negative", "is negative", lambda c: c >= 0)


def non_negative_decimal(*columns: str) -> classmethod:
    """Decimal *strings* (amounts kept as text) that cannot be negative; "-0.00" is zero.
    Malformed text is left to ``decimal_amount``."""
    return _column_check(columns, "non_negative", "is negative",
                         lambda c: ~(c.str.starts_with("-") & c.str.contains(r"[1-9]")))


def not_before(column: str, *, start: str) -> classmethod:
    """The end of a validity window must not precede its start (``start``, same row).

    A missing end is an open window and a missing start is reported as ``required``, so both
    pass here.  Attached to the end column, so the quarantine names the value that is wrong.
    """

    def check(cls: type, data: pa.PolarsData) -> pl.LazyFrame:
        end, begin = pl.col(data.key), pl.col(start)
        return data.lazyframe.select(end.is_null() | begin.is_null() | (end >= begin))

    check.__name__ = "_date_order"
    return pa.check(column, name="date_order", description=f"is before {start}")(check)


def positive(*columns: str) -> classmethod:
    """Quantities and rates that must be greater than zero."""
    return _column_check(columns, "positive", "is not greater than 0", lambda c: c > 0)


def period_format(*columns: str) -> classmethod:
    """Accounting periods as "YYYY-MM" within the sane range."""
    return _column_check(
        columns, "period_format",
        f"is not a period YYYY-MM between {FIRST_YEAR}-01 and {LAST_YEAR}-12",
        lambda c: c.str.contains(r"^20[0-9]{2}-(0[1-9]|1[0-2])$"))


def decimal_amount(column: str, *, currency_column: str | None) -> classmethod:
    """A decimal string with no more places than its currency's exponent.

    With ``currency_column`` None (a table without a currency) the most any known currency
    allows is the limit.  Unknown currencies are left to the ``currency`` check; their amounts
    only need to be well-formed here.  Places are counted as written: the string lands as is.
    """
    exponents = dict(CURRENCY_EXPONENTS)
    places = ", ".join(f"{code} {exp}" for code, exp in sorted(exponents.items()))
    description = (f"is not a plain decimal amount with at most the currency's decimal places "
                   f"({places})")

    def check(cls: type, data: pa.PolarsData) -> pl.LazyFrame:
        amount = pl.col(data.key)
        written = amount.str.extract(r"\.([0-9]+)$", 1).str.len_chars().fill_null(0)
        if currency_column is None:
            limit: pl.Expr = pl.lit(MAX_EXPONENT)
        else:
            limit = pl.col(currency_column).replace_strict(
                exponents, default=None, return_dtype=pl.Int64)
        ok = amount.str.contains(AMOUNT_PATTERN) & (limit.is_null() | (written <= limit))
        return data.lazyframe.select(pl.when(amount.is_null()).then(None).otherwise(ok))

    check.__name__ = "_decimal_amount"
    return pa.check(column, name="decimal_amount", description=description)(check)


def currency_exponent(column: str, *, code_column: str) -> classmethod:
    """Reference currencies: the exponent must be tieout's for that code."""
    exponents = dict(CURRENCY_EXPONENTS)

    def check(cls: type, data: pa.PolarsData) -> pl.LazyFrame:
        expected = pl.col(code_column).replace_strict(exponents, default=None,
                                                      return_dtype=pl.Int64)
        ok = expected.is_null() | (pl.col(data.key).cast(pl.Int64) == expected)
        return data.lazyframe.select(pl.when(pl.col(data.key).is_null()).then(None).otherwise(ok))

    check.__name__ = "_exponent"
    return pa.check(column, name="exponent",
                    description="is not the currency's ISO 4217 exponent")(check)


def unique_key(*columns: str) -> classmethod:
    """The natural key occurs once in the batch (rows with a missing key part are skipped:
    they already fail ``required`` or ``type``).

    Attached to the key's first column (it reads the others from the frame) rather than to
    the frame, so pandera reports one value per failing row instead of whole rows.
    """
    keys = list(columns)

    def check(cls: type, data: pa.PolarsData) -> pl.LazyFrame:
        incomplete = pl.any_horizontal([pl.col(k).is_null() for k in keys])
        duplicated = pl.struct(keys).is_duplicated() if len(keys) > 1 else pl.col(
            keys[0]).is_duplicated()
        return data.lazyframe.select((incomplete | ~duplicated).alias(keys[0]))

    check.__name__ = "_unique_key_in_batch"
    return pa.check(
        keys[0], name="unique_key_in_batch",
        description="occurs more than once in this batch",
        statistics={"columns": keys},
    )(check)
