"""The strict loose-value parsers, one type at a time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from checks.parse import parse_column, parse_text

UTC = dt.UTC


def run(values: Sequence[object], target: pl.DataType,
        source: pl.DataType | None = None) -> list[tuple[object, str | None]]:
    series = pl.Series("v", values, dtype=source or pl.String)
    parsed = parse_column("v", series.dtype, target)
    out = pl.DataFrame([series]).select(value=parsed.value, problem=parsed.problem)
    return list(zip(out.get_column("value").to_list(), out.get_column("problem").to_list(),
                    strict=True))


def test_integers() -> None:
    got = run(["1250", "-3", "007", "9223372036854775807", None, ""], pl.Int64())
    assert got == [(1250, None), (-3, None), (7, None), (9223372036854775807, None),
                   (None, None), (None, None)]


@pytest.mark.parametrize("text", ["12.50", "1e3", "NaN", "nan", "Infinity", "-Infinity", "inf",
                                  "+5", " 5", "5 ", "0x10", "1_000", "١٢", "12,5", "true"])
def test_integer_rejects(text: str) -> None:
    assert run([text], pl.Int64()) == [(None, "is not an integer")]


def test_integer_range() -> None:
    assert run(["9223372036854775808", "-9223372036854775809"], pl.Int64()) == [
        (None, "is outside the Int64 range")] * 2
    assert run(["127", "128"], pl.Int8()) == [(127, None), (None, "is outside the Int8 range")]


def test_decimals() -> None:
    got = run(["12.34", "100", "12.5", "-0.01", "12.3400", "0", "000012.30",
               "999999999999999999.99"], pl.Decimal(20, 2))
    assert [v for v, _ in got] == [Decimal("12.34"), Decimal("100"), Decimal("12.5"),
                                   Decimal("-0.01"), Decimal("12.34"), Decimal(0),
                                   Decimal("12.3"), Decimal("999999999999999999.99")]
    assert all(problem is None for _, problem in got)


@pytest.mark.parametrize(("text", "problem"), [
    ("12.345", "has more than 2 decimal places"),
    ("0.001", "has more than 2 decimal places"),
    ("1e3", "is not a plain decimal number"),
    ("NaN", "is not a plain decimal number"),
    ("Infinity", "is not a plain decimal number"),
    (".5", "is not a plain decimal number"),
    ("5.", "is not a plain decimal number"),
    ("1,000.00", "is not a plain decimal number"),
    ("1000000000000000000", "is outside the Decimal(20, 2) range"),
])
def test_decimal_rejects(text: str, problem: str) -> None:
    assert run([text], pl.Decimal(20, 2)) == [(None, problem)]


def test_rates_keep_ten_places() -> None:
    assert run(["0.0063420910", "1.1941677952", "195.9561732447"], pl.Decimal(20, 10)) == [
        (Decimal("0.0063420910"), None), (Decimal("1.1941677952"), None),
        (Decimal("195.9561732447"), None)]
    assert run(["0.00000000001"], pl.Decimal(20, 10)) == [
        (None, "has more than 10 decimal places")]


def test_booleans() -> None:
    assert run(["true", "false", "TRUE", "False", "yes", "1", "T"], pl.Boolean()) == [
        (True, None), (False, None), (True, None), (False, None),
        (None, "is not a boolean (true/false)"), (None, "is not a boolean (true/false)"),
        (None, "is not a boolean (true/false)")]


def test_dates() -> None:
    assert run(["2025-01-31", "2024-02-29"], pl.Date()) == [
        (dt.date(2025, 1, 31), None), (dt.date(2024, 2, 29), None)]
    assert run(["2025-02-30", "2025-02-29", "2025-13-01"], pl.Date()) == [
        (None, "is not a real calendar date")] * 3
    assert run(["2025-1-31", "31/01/2025", "2025-01-31T00:00:00", "20250131"], pl.Date()) == [
        (None, "is not a date (YYYY-MM-DD)")] * 4


def test_timestamps() -> None:
    ts = pl.Datetime("us", "UTC")
    expected = dt.datetime(2025, 1, 31, 7, 30, tzinfo=UTC)
    texts = ["2025-01-31 07:30:00", "2025-01-31T07:30:00Z", "2025-01-31T07:30:00+00:00",
             "2025-01-31T08:30:00+01:00", "2025-01-31T02:30:00-0500",
             "2025-01-31T07:30:00.000000Z", "2025-01-31T07:30:00.000000000Z"]
    assert run(texts, ts) == [(expected, None)] * len(texts)
    assert run(["2025-01-31 07:30:00.5", "2025-01-31T07:30:00.123456Z"], ts) == [
        (expected.replace(microsecond=500000), None),
        (expected.replace(microsecond=123456), None)]
    assert run(["2025-01-31T00:30:00+01:00"], ts) == [
        (dt.datetime(2025, 1, 30, 23, 30, tzinfo=UTC), None)]


@pytest.mark.parametrize(("text", "problem"), [
    ("2025-02-30 07:30:00", "is not a real calendar date/time"),
    ("2025-01-31 24:00:00", "is not a timestamp (ISO 8601, e.g. 2025-01-31T07:30:00Z)"),
    ("2025-01-31 23:59:60", "is not a timestamp (ISO 8601, e.g. 2025-01-31T07:30:00Z)"),
    ("2025-01-31", "is not a timestamp (ISO 8601, e.g. 2025-01-31T07:30:00Z)"),
    ("1706686200", "is not a timestamp (ISO 8601, e.g. 2025-01-31T07:30:00Z)"),
    ("2025-01-31T07:30:00 UTC", "is not a timestamp (ISO 8601, e.g. 2025-01-31T07:30:00Z)"),
    ("2025-01-31T07:30:00+25:00", "is not a timestamp (ISO 8601, e.g. 2025-01-31T07:30:00Z)"),
    ("2025-01-31T07:30:00.123456789Z", "has more than microsecond precision"),
])
def test_timestamp_rejects(text: str, problem: str) -> None:
    assert run([text], pl.Datetime("us", "UTC")) == [(None, problem)]


def test_strings_are_kept_exactly() -> None:
    parsed = parse_text(pl.col("v"), pl.String())
    assert parsed.can_fail is False
    values = ["", "  x ", "ñ漢字🙂", None]
    out = pl.DataFrame({"v": values}).select(parsed.value).get_column("v").to_list()
    assert out == values


def test_already_typed_and_other_dtypes() -> None:
    assert run([1, None], pl.Int64(), pl.Int32()) == [(1, None), (None, None)]
    assert run([2**63], pl.Int64(), pl.UInt64()) == [(None, "is outside the Int64 range")]
    assert run([12], pl.Decimal(20, 2), pl.Int64()) == [(Decimal(12), None)]
    assert run([Decimal("12.3400")], pl.Decimal(20, 2), pl.Decimal(38, 4)) == [
        (Decimal("12.34"), None)]
    assert run([Decimal("12.3456")], pl.Decimal(20, 2), pl.Decimal(38, 4)) == [
        (None, "has more than 2 decimal places")]
    assert run([12.5], pl.Int64(), pl.Float64()) == [
        (None, "is a floating-point number, not an integer")]
    assert run([12.5], pl.Decimal(20, 2), pl.Float64()) == [
        (None, "is a floating-point number, not a decimal with at most 2 places")]
    assert run([None, None], pl.Int64(), pl.Null()) == [(None, None)] * 2
    naive = dt.datetime(2025, 1, 31, 7, 30)
    assert run([naive], pl.Datetime("us", "UTC"), pl.Datetime("ns")) == [
        (naive.replace(tzinfo=UTC), None)]
    berlin = dt.datetime(2025, 1, 31, 8, 30, tzinfo=ZoneInfo("Europe/Berlin"))
    assert run([berlin], pl.Datetime("us", "UTC"), pl.Datetime("ms", "Europe/Berlin")) == [
        (naive.replace(tzinfo=UTC), None)]
    assert run([dt.date(2025, 1, 31)], pl.Datetime("us", "UTC"), pl.Date()) == [
        (None, "is not a timestamp (ISO 8601, e.g. 2025-01-31T07:30:00Z)")]
    assert run([[1, 2]], pl.Int64(), pl.List(pl.Int64)) == [
        (None, "is a List(Int64), not an integer")]
    assert run([5], pl.String(), pl.Int64()) == [("5", None)]
