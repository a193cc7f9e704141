"""Keyed comparison on tiny hand-made relations: one test per way two systems disagree."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from tieout.compare import CompareResult, CompareSpec, compare_keyed

SPEC = CompareSpec(
    key="invoice_id",
    amount="amount",
    currency="currency",
    fields=("currency", "customer_id", "status"),
    absolute_tolerance={"USD": Decimal("0.01"), "EUR": Decimal("0.01"), "JPY": Decimal("1")},
    default_tolerance=Decimal("0.01"),
)

Row = tuple[str | None, str | None, str | None, str | None, str | None]


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect()
    yield connection
    connection.close()


def table(con: duckdb.DuckDBPyConnection, name: str, rows: list[Row],
          amount_type: str = "DECIMAL(18,2)") -> str:
    """A table of (invoice_id, amount as text, currency, customer_id, status)."""
    con.execute(f"CREATE TABLE {name} (invoice_id VARCHAR, amount {amount_type}, "
                "currency VARCHAR, customer_id VARCHAR, status VARCHAR)")
    if rows:
        con.executemany(f"INSERT INTO {name} VALUES (?, CAST(? AS {amount_type}), ?, ?, ?)",
                        rows)
    return name


def compare(con: duckdb.DuckDBPyConnection, left: list[Row], right: list[Row],
            spec: CompareSpec = SPEC) -> CompareResult:
    return compare_keyed(con, table(con, "billing", left), table(con, "erp", right), spec)


def only(result: CompareResult, **expected: int) -> None:
    """The counts are exactly ``expected``, every other kind zero."""
    assert result.counts == {kind: expected.get(kind, 0) for kind in SPEC.kinds}


def kinds_by_key(con: duckdb.DuckDBPyConnection, result: CompareResult) -> dict[str, list[str]]:
    rows = result.exceptions(con).select("invoice_id, kinds").fetchall()
    return {key: sorted(kinds) for key, kinds in rows}


def test_identical_sides_have_no_exception(con) -> None:
    rows = [("A", "10.00", "USD", "C1", "paid"), ("B", "500", "JPY", "C2", None)]
    result = compare(con, rows, rows)
    only(result)
    assert result.exceptions(con).count("*").fetchall() == [(0,)]


def test_missing_on_each_side(con) -> None:
    result = compare(con, [("A", "1.00", "USD", "C", "paid"), ("B", "2.00", "USD", "C", "paid")],
                     [("B", "2.00", "USD", "C", "paid"), ("Z", "3.00", "USD", "C", "paid")])
    only(result, missing_in_right=1, missing_in_left=1)
    assert kinds_by_key(con, result) == {"A": ["missing_in_right"], "Z": ["missing_in_left"]}


def test_duplicates_are_reported_per_side_and_never_paired(con) -> None:
    # B twice on the right with different amounts, C twice on the left: pairing either by row
    # order would report one amount difference and one "missing" copy.  Neither happens.
    left = [("B", "10.00", "USD", "C", "paid"),
            ("C", "5.00", "USD", "C", "paid"), ("C", "7.00", "USD", "X", "void")]
    right = [("B", "10.00", "USD", "C", "paid"), ("B", "99.00", "EUR", "Y", "open"),
             ("C", "5.00", "USD", "C", "paid")]
    result = compare(con, left, right)
    only(result, duplicate_left=1, duplicate_right=1)
    rows = result.exceptions(con).select(
        "invoice_id, left_rows, right_rows, left_amount, right_amount, amount_diff"
    ).order("invoice_id").fetchall()
    # The duplicated side shows no value (there is no single one); the unique side does.
    assert rows == [("B", 1, 2, Decimal("10.00"), None, None),
                    ("C", 2, 1, None, Decimal("5.00"), None)]


def test_duplicate_key_missing_on_the_other_side_is_both(con) -> None:
    result = compare(con, [("D", "1.00", "USD", "C", "paid"), ("D", "1.00", "USD", "C", "paid")],
                     [])
    only(result, duplicate_left=1, missing_in_right=1)


def test_exactly_one_cent_inside_a_one_cent_tolerance_is_a_match(con) -> None:
    # In float64, 100.01 - 100.00 = 0.010000000000005116 > 0.01: a float comparer flags it.
    left = [("A", "100.01", "USD", "C", "paid"), ("B", "0.03", "USD", "C", "paid"),
            ("C", "1234567.89", "EUR", "C", "paid")]
    right = [("A", "100.00", "USD", "C", "paid"), ("B", "0.02", "USD", "C", "paid"),
             ("C", "1234567.90", "EUR", "C", "paid")]
    only(compare(con, left, right))


def test_one_cent_beyond_the_tolerance_is_flagged(con) -> None:
    result = compare(con, [("A", "100.02", "USD", "C", "paid"), ("B", "5.00", "GBP", "C", "x")],
                     [("A", "100.00", "USD", "C", "paid"), ("B", "5.02", "GBP", "C", "x")])
    only(result, amount=2)  # GBP is not configured: the default tolerance applies
    [(diff, tolerance)] = result.exceptions(con).filter("invoice_id = 'A'").select(
        "amount_diff, tolerance").fetchall()
    assert (diff, tolerance) == (Decimal("0.02"), Decimal("0.01"))


def test_jpy_tolerance_is_one_yen(con) -> None:
    left = [("A", "1000", "JPY", "C", "paid"), ("B", "1000", "JPY", "C", "paid")]
    right = [("A", "1001", "JPY", "C", "paid"), ("B", "1002", "JPY", "C", "paid")]
    result = compare(con, left, right)
    only(result, amount=1)
    assert kinds_by_key(con, result) == {"B": ["amount"]}


def test_currency_mismatch_takes_the_smaller_tolerance(con) -> None:
    # A 1-unit difference is inside JPY's tolerance but not USD's: a currency mismatch must not
    # hide an amount difference, so the stricter one applies.
    result = compare(con, [("A", "1000", "JPY", "C", "paid")], [("A", "1001", "USD", "C", "paid")])
    only(result, amount=1, currency=1)


def test_field_mismatches_are_counted_per_field(con) -> None:
    left = [("A", "1.00", "USD", "C1", "paid"), ("B", "1.00", "USD", "C1", "paid"),
            ("C", "1.00", "USD", "C1", "paid")]
    right = [("A", "1.00", "EUR", "C1", "paid"), ("B", "1.00", "USD", "C2", "paid"),
             ("C", "1.00", "USD", "C2", "void")]
    result = compare(con, left, right)
    only(result, currency=1, customer_id=2, status=1)
    assert kinds_by_key(con, result) == {"A": ["currency"], "B": ["customer_id"],
                                         "C": ["customer_id", "status"]}


def test_null_against_a_value_differs_and_null_against_null_does_not(con) -> None:
    left = [("A", "1.00", "USD", "C", None), ("B", "1.00", "USD", "C", "paid"),
            ("C", "1.00", "USD", None, None), ("D", None, "USD", "C", "paid"),
            ("E", None, "USD", "C", "paid")]
    right = [("A", "1.00", "USD", "C", "paid"), ("B", "1.00", "USD", "C", None),
             ("C", "1.00", "USD", None, None), ("D", "1.00", "USD", "C", "paid"),
             ("E", None, "USD", "C", "paid")]
    result = compare(con, left, right)
    only(result, status=2, amount=1)
    assert kinds_by_key(con, result) == {"A": ["status"], "B": ["status"], "D": ["amount"]}


def test_null_keys_are_counted_in_rows_and_never_matched(con) -> None:
    result = compare(con, [(None, "1.00", "USD", "C", "paid"), (None, "2.00", "USD", "C", "paid"),
                           ("A", "1.00", "USD", "C", "paid")],
                     [(None, "1.00", "USD", "C", "paid"), ("A", "1.00", "USD", "C", "paid")])
    only(result, null_key_left=2, null_key_right=1)


def test_tolerance_finer_than_the_amounts_is_kept_exactly(con) -> None:
    # DuckDB's common type of DECIMAL(38,2) and DECIMAL(38,3) has scale 2, which would turn a
    # 0.001 tolerance into 0.00 and flag nothing-differences as matches or the reverse.
    spec = CompareSpec("invoice_id", "amount", "currency", (),
                       {"USD": Decimal("0.001")}, Decimal("0"))
    con.execute("CREATE TABLE l AS SELECT 'A' AS invoice_id, 1.000::DECIMAL(38,3) AS amount, "
                "'USD' AS currency UNION ALL SELECT 'B', 1.000, 'USD'")
    con.execute("CREATE TABLE r AS SELECT 'A' AS invoice_id, 1.001::DECIMAL(38,3) AS amount, "
                "'USD' AS currency UNION ALL SELECT 'B', 1.002, 'USD'")
    result = compare_keyed(con, "l", "r", spec)
    assert result.counts["amount"] == 1


def test_float_amounts_are_refused(con) -> None:
    left = table(con, "billing", [("A", "1.0", "USD", "C", "paid")], amount_type="DOUBLE")
    right = table(con, "erp", [("A", "1.0", "USD", "C", "paid")])
    with pytest.raises(TypeError, match="never floating point"):
        compare_keyed(con, left, right, SPEC)


def test_integer_minor_unit_amounts_are_accepted(con) -> None:
    result = compare_keyed(
        con, table(con, "billing", [("A", "100", "USD", "C", "paid")], amount_type="BIGINT"),
        table(con, "erp", [("A", "101", "USD", "C", "paid")], amount_type="BIGINT"),
        CompareSpec("invoice_id", "amount", "currency", (), {}, Decimal("1")))
    assert result.counts["amount"] == 0


def test_parquet_relations_and_a_named_exceptions_table(con, tmp_path) -> None:
    table(con, "billing", [("A", "1.00", "USD", "C", "paid"), ("B", "1.00", "USD", "C", "paid")])
    table(con, "erp", [("A", "1.50", "USD", "C", "paid")])
    for name in ("billing", "erp"):
        con.execute(f"COPY {name} TO '{tmp_path / name}.parquet' (FORMAT parquet)")
    result = compare_keyed(con, f"read_parquet('{tmp_path / 'billing'}.parquet')",
                           f"read_parquet('{tmp_path / 'erp'}.parquet')", SPEC,
                           exceptions_table="invoice_exceptions")
    only(result, amount=1, missing_in_right=1)
    assert result.exceptions_table == "invoice_exceptions"
    assert con.table("invoice_exceptions").count("*").fetchall() == [(2,)]
    assert result.total == 2


@pytest.mark.parametrize("bad", [
    {"default_tolerance": 0.01},
    {"default_tolerance": Decimal("-0.01")},
    {"absolute_tolerance": {"USD": Decimal("NaN")}},
    {"fields": ("invoice_id",)},
    {"fields": ("status", "status")},
    {"fields": ("amount",)},
])
def test_specs_that_could_only_answer_wrongly_are_refused(bad) -> None:
    args = {"key": "invoice_id", "amount": "amount", "currency": "currency", **bad}
    with pytest.raises((TypeError, ValueError)):
        CompareSpec(**args)
