"""Malformed records, one at a time in an otherwise good batch: the bad row is quarantined
with the right check, column, value and a readable one-line reason; the rest lands."""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl
import pytest

from checks.gate import QUARANTINE_SCHEMA, GateResult, gate
from seeds.generator import CompanySummary
from tieout.extract.batch import Batch

from .loose import read_table, render_loose

ROW = 3  # the corrupted row in each case


def set_cell(frame: pl.DataFrame, row: int, column: str, value: str | None) -> pl.DataFrame:
    """``frame`` with one loose cell replaced."""
    hit = pl.int_range(pl.len()) == row
    return frame.with_columns(
        pl.when(hit).then(pl.lit(value, pl.String)).otherwise(pl.col(column)).alias(column))


@dataclass(frozen=True)
class Case:
    table: str
    column: str
    value: str | None
    check: str
    reason: str  # expected reason text (exactly)
    where: pl.Expr | None = None  # pick the corrupted row among rows matching this


CASES = [
    Case("billing/invoices", "currency", "xyz", "currency",
         "currency 'xyz' is not a currency tieout knows (lowercase ISO 4217: eur, gbp, jpy, usd)"),
    Case("billing/invoices", "currency", "USD", "currency",
         "currency 'USD' is not a currency tieout knows (lowercase ISO 4217: eur, gbp, jpy, usd)"),
    Case("revrec/revenue_schedules", "currency", "usd", "currency",
         "currency 'usd' is not a currency tieout knows (uppercase ISO 4217: EUR, GBP, JPY, USD)"),
    Case("billing/invoice_lines", "amount", "12.50", "type", "amount '12.50' is not an integer"),
    Case("billing/invoices", "total", "1250.0", "type", "total '1250.0' is not an integer"),
    Case("billing/invoices", "id", None, "required", "id is required but missing"),
    Case("erp/transaction", "id", None, "required", "id is required but missing"),
    Case("usage/events", "event_id", None, "required", "event_id is required but missing"),
    Case("billing/invoices", "id", "", "required", "id is required but empty"),
    Case("billing/invoices", "customer", "   ", "required", "customer is required but empty"),
    Case("erp/transaction", "foreigntotal", "", "required", "foreigntotal is required but empty"),
    Case("billing/invoice_lines", "amount", "", "required", "amount is required but empty"),
    Case("erp/transaction", "trandate", "2025-02-30", "type",
         "trandate '2025-02-30' is not a real calendar date"),
    Case("revrec/revenue_schedules", "document_date", "31/01/2025", "type",
         "document_date '31/01/2025' is not a date (YYYY-MM-DD)"),
    Case("erp/transaction", "createddate", "2025-02-30 07:30:00", "type",
         "createddate '2025-02-30 07:30:00' is not a real calendar date/time"),
    Case("usage/events", "occurred_at", "Jan 31 2025 07:30", "type",
         "occurred_at 'Jan 31 2025 07:30' is not a timestamp "
         "(ISO 8601, e.g. 2025-01-31T07:30:00Z)"),
    Case("usage/events", "quantity", "-5", "positive", "quantity '-5' is not greater than 0"),
    Case("usage/events", "quantity", "0", "positive", "quantity '0' is not greater than 0"),
    Case("billing/invoice_lines", "quantity", "NaN", "type", "quantity 'NaN' is not an integer"),
    Case("billing/invoice_lines", "amount", "Infinity", "type",
         "amount 'Infinity' is not an integer"),
    Case("billing/invoice_lines", "tax_amount", "-inf", "type",
         "tax_amount '-inf' is not an integer"),
    Case("billing/invoice_lines", "amount", "1e3", "type", "amount '1e3' is not an integer"),
    Case("erp/transaction", "foreigntotal", "NaN", "type",
         "foreigntotal 'NaN' is not a plain decimal number"),
    Case("erp/transaction", "foreigntotal", "Infinity", "type",
         "foreigntotal 'Infinity' is not a plain decimal number"),
    Case("erp/transactionline", "foreignamount", "12.345", "type",
         "foreignamount '12.345' has more than 2 decimal places"),
    Case("erp/transactionline", "foreignamount", "1e3", "type",
         "foreignamount '1e3' is not a plain decimal number"),
    Case("erp/transaction", "foreigntotal", "1234567890123456789", "type",
         "foreigntotal '1234567890123456789' is outside the Decimal(20, 2) range"),
    Case("billing/invoices", "total", "9223372036854775808", "type",
         "total '9223372036854775808' is outside the Int64 range"),
    Case("erp/transaction", "entity", "99999999999999999999999", "type",
         "entity '99999999999999999999999' is outside the Int64 range"),
    Case("revrec/revenue_schedules", "total_amount", "1500.5", "decimal_amount",
         "total_amount '1500.5' is not a plain decimal amount with at most the currency's "
         "decimal places (EUR 2, GBP 2, JPY 0, USD 2)", where=pl.col("currency") == "JPY"),
    Case("revrec/revenue_schedules", "total_amount", "12.345", "decimal_amount",
         "total_amount '12.345' is not a plain decimal amount with at most the currency's "
         "decimal places (EUR 2, GBP 2, JPY 0, USD 2)", where=pl.col("currency") == "USD"),
    Case("revrec/revenue_schedule_lines", "amount", "NaN", "decimal_amount",
         "amount 'NaN' is not a plain decimal amount with at most the currency's "
         "decimal places (EUR 2, GBP 2, JPY 0, USD 2)"),
    Case("billing/invoices", "status", "pending", "enum",
         "status 'pending' is not one of: draft, open, paid, void, uncollectible"),
    Case("erp/transaction", "type", "SalesOrd", "enum",
         "type 'SalesOrd' is not one of: CustInvc, CustCred, CustPymt, CustRfnd, Journal"),
    Case("erp/transaction", "voided", "Y", "enum", "voided 'Y' is not a NetSuite flag (T or F)"),
    Case("revrec/revenue_schedules", "recognition_method", "straight_line", "enum",
         "recognition_method 'straight_line' is not one of: ratable, point_in_time, usage"),
    Case("revrec/revenue_schedule_lines", "status", "done", "enum",
         "status 'done' is not one of: recognized, scheduled"),
    Case("revrec/revenue_schedule_lines", "period", "2025-13", "period_format",
         "period '2025-13' is not a period YYYY-MM between 2000-01 and 2099-12"),
    Case("billing/invoices", "created", "0", "date_range",
         "created '0' is outside 2000-01-01..2100-01-01 (epoch seconds 946684800..4102444799)"),
    Case("erp/transaction", "trandate", "1999-12-31", "date_range",
         "trandate '1999-12-31' is outside 2000-01-01..2100-01-01"),
    Case("usage/events", "occurred_at", "2100-01-01T00:00:00Z", "date_range",
         "occurred_at '2100-01-01T00:00:00Z' is outside 2000-01-01..2100-01-01"),
    Case("billing/invoice_lines", "proration", "yes", "type",
         "proration 'yes' is not a boolean (true/false)"),
    Case("billing/invoices", "amount_due", "-1", "non_negative", "amount_due '-1' is negative"),
    # support: tiers the rules can judge, a validity window that is one, credits as amounts
    Case("support/organizations", "support_tier", "gold", "enum",
         "support_tier 'gold' is not one of: standard, premium, enterprise"),
    Case("support/organizations", "entitlement_status", "expired", "enum",
         "entitlement_status 'expired' is not one of: active, suspended"),
    Case("support/organizations", "valid_to", "2001-01-01", "date_order",
         "valid_to '2001-01-01' is before valid_from"),
    Case("support/organizations", "id", "org-17", "type", "id 'org-17' is not an integer"),
    Case("support/service_credits", "amount", "-25.00", "non_negative",
         "amount '-25.00' is negative", where=pl.col("currency") != "JPY"),
    Case("support/service_credits", "amount", "25.5.0", "decimal_amount",
         "amount '25.5.0' is not a plain decimal amount with at most the currency's decimal "
         "places (EUR 2, GBP 2, JPY 0, USD 2)", where=pl.col("currency") != "JPY"),
    Case("support/service_credits", "currency", "usd", "currency",
         "currency 'usd' is not a currency tieout knows (uppercase ISO 4217: EUR, GBP, JPY, USD)",
         where=pl.col("currency") != "JPY"),
    Case("support/service_credits", "status", "refunded", "enum",
         "status 'refunded' is not one of: promised, applied", where=pl.col("id") > 0),
    Case("support/service_credits", "organization_id", None, "required",
         "organization_id is required but missing", where=pl.col("id") > 0),
]


def gate_with(company: CompanySummary, case: Case) -> tuple[GateResult, pl.DataFrame, int]:
    typed = read_table(company.out_dir, case.table)
    row = ROW if case.where is None else int(
        typed.with_row_index().filter(case.where).get_column("index")[0])
    loose = set_cell(render_loose(case.table, typed), row, case.column, case.value)
    return gate(Batch(case.table, loose, "test page 1")), typed, row


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.table}.{c.column}={c.value!r}")
def test_malformed_value_is_quarantined(company500: CompanySummary, case: Case) -> None:
    result, typed, row = gate_with(company500, case)

    assert result.quarantine.schema == QUARANTINE_SCHEMA
    assert result.quarantine.height == 1, result.quarantine.get_column("reason").to_list()
    got = result.quarantine.row(0, named=True)
    assert got["table"] == case.table
    assert got["origin"] == "test page 1"
    assert got["row"] == row
    assert (got["check"], got["column"], got["value"]) == (case.check, case.column, case.value)
    assert got["reason"] == case.reason
    assert json.loads(got["record"])[case.column] == case.value

    assert (result.received, result.landed, result.quarantined) == (
        typed.height, typed.height - 1, 1)
    good = pl.int_range(pl.len()) != row
    assert result.clean.equals(typed.filter(good))


def test_support_records_without_billing_link_or_end_date_land(
        company500: CompanySummary) -> None:
    """An organization with no external_id (no billing customer), an open-ended or one-day
    entitlement, no covered product, and a credit without a credit note all land: the support
    rules must see them; malformed is not the same as disagreeing with billing."""
    table = "support/organizations"
    typed = read_table(company500.out_dir, table)
    loose = render_loose(table, typed)
    loose = set_cell(loose, 1, "external_id", None)
    loose = set_cell(loose, 2, "valid_to", None)
    loose = set_cell(set_cell(loose, 3, "valid_from", "2025-05-01"), 3, "valid_to", "2025-05-01")
    loose = set_cell(loose, 4, "covered_products", "")
    assert gate(Batch(table, loose, "GET /api/v2/organizations")).quarantined == 0
    credits = render_loose("support/service_credits",
                           read_table(company500.out_dir, "support/service_credits"))
    credits = set_cell(set_cell(credits, 0, "credit_note_id", None), 0, "status", "promised")
    assert gate(Batch("support/service_credits", credits, "p")).quarantined == 0


def test_unicode_id_is_allowed_and_lands(company500: CompanySummary) -> None:
    typed = read_table(company500.out_dir, "billing/customers")
    odd = "cus_ñé漢字🙂\u200b"
    loose = set_cell(render_loose("billing/customers", typed), ROW, "id", odd)
    result = gate(Batch("billing/customers", loose, "GET /v1/customers"))
    assert result.quarantined == 0
    assert result.clean.get_column("id")[ROW] == odd
    expected = set_cell(typed, ROW, "id", odd)
    assert result.clean.equals(expected)


def test_duplicate_natural_key_quarantines_every_copy(company500: CompanySummary) -> None:
    typed = read_table(company500.out_dir, "billing/invoices")
    loose = render_loose("billing/invoices", typed)
    dup = loose.get_column("id")[7]
    loose = set_cell(set_cell(loose, 3, "id", dup), 11, "id", dup)
    result = gate(Batch("billing/invoices", loose, "GET /v1/invoices"))

    q = result.quarantine
    assert q.get_column("row").to_list() == [3, 7, 11]
    assert set(q.get_column("check")) == {"unique_key_in_batch"}
    assert set(q.get_column("column")) == {"id"}
    assert set(q.get_column("value")) == {dup}
    assert q.get_column("reason")[0] == f"id '{dup}' occurs 3 times in this batch"
    assert (result.received, result.landed, result.quarantined) == (
        typed.height, typed.height - 3, 3)
    assert result.clean.equals(typed.filter(~pl.int_range(pl.len()).is_in([3, 7, 11])))


def test_duplicate_composite_key(company500: CompanySummary) -> None:
    table = "revrec/revenue_schedule_lines"
    typed = read_table(company500.out_dir, table)
    loose = render_loose(table, typed)
    first = loose.row(0, named=True)
    loose = set_cell(set_cell(loose, 5, "schedule_id", first["schedule_id"]), 5, "line_number",
                     first["line_number"])
    result = gate(Batch(table, loose, "GET /api/v1/revenue_schedules?page=1"))
    q = result.quarantine
    assert q.get_column("row").to_list() == [0, 5]
    assert q.get_column("column").to_list() == ["schedule_id, line_number"] * 2
    assert q.get_column("value")[0] == f"{first['schedule_id']}, {first['line_number']}"
    assert result.quarantined == 2
    assert result.landed == typed.height - 2


def test_one_quarantine_row_per_failed_check_and_a_row_counts_once(
        company500: CompanySummary) -> None:
    typed = read_table(company500.out_dir, "billing/invoice_lines")
    loose = render_loose("billing/invoice_lines", typed)
    loose = set_cell(loose, 2, "amount", "12.50")
    loose = set_cell(loose, 2, "currency", "btc")
    loose = set_cell(loose, 2, "id", "")
    loose = set_cell(loose, 2, "period_end", "12")
    result = gate(Batch("billing/invoice_lines", loose, "p"))
    q = result.quarantine
    assert q.get_column("row").to_list() == [2, 2, 2, 2]
    # in contract column order
    assert q.select("column", "check").rows() == [
        ("id", "required"), ("amount", "type"), ("currency", "currency"),
        ("period_end", "date_range")]
    assert result.quarantined == 1
    assert result.landed == typed.height - 1
    assert all("\n" not in reason for reason in q.get_column("reason"))


def test_a_value_that_fails_type_is_not_also_reported_missing(
        company500: CompanySummary) -> None:
    typed = read_table(company500.out_dir, "usage/events")
    loose = set_cell(render_loose("usage/events", typed), 0, "quantity", "lots")
    result = gate(Batch("usage/events", loose, "usage/date=2025-01-31/0.parquet"))
    assert result.quarantine.select("check", "column").rows() == [("type", "quantity")]


def test_reasons_stay_on_one_line(company500: CompanySummary) -> None:
    typed = read_table(company500.out_dir, "billing/invoices")
    loose = set_cell(render_loose("billing/invoices", typed), 0, "status",
                     "paid\nDROP TABLE x;\r\t" + "z" * 200)
    result = gate(Batch("billing/invoices", loose, "p"))
    reason = result.quarantine.get_column("reason")[0]
    assert "\n" not in reason and "\r" not in reason
    assert reason.startswith(r"status 'paid\nDROP TABLE x;\r\t")
    assert len(reason) < 200
    assert result.quarantine.get_column("value")[0].startswith("paid\nDROP")
