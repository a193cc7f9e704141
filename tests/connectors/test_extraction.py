"""End to end against the sandbox: complete, value-exact, fault-proof and incremental extraction."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from seeds.sandbox import SandboxServer
from seeds.tables import SCHEMAS
from tests.connectors.helpers import (
    Sleeps,
    collect,
    dedup,
    expected_loose,
    key_set,
    make_connector,
)
from tieout.connectors import BillingConnector, ErpConnector, RevrecConnector, SupportConnector
from tieout.errors import InputError

SYSTEMS = ("billing", "erp", "revrec", "support")
SERVED = tuple(name for name in SCHEMAS if name.split("/", 1)[0] in SYSTEMS)
# Columns a ``mutate`` fault legitimately changes while we page.
VOLATILE = {"updated", "lastmodifieddate", "linelastmodifieddate", "updated_at"}
FAULTS = (
    "*:429=0.1,*:500=0.05,*:503=0.05,*:slow=0.05,*:drop=0.05,*:duplicate=0.25,*:mutate=0.25,"
    "slow_ms=5,retry_after=0"
)
SMALL_PAGES = {"billing": 20, "erp": 200, "revrec": 50, "support": 10}
RETRIED_KINDS = ("429", "500", "503", "drop")


@pytest.fixture(scope="session")
def clean(server: SandboxServer) -> dict[str, pl.DataFrame]:
    """Every served table extracted once from the fault-free sandbox (raw batches)."""
    tables: dict[str, pl.DataFrame] = {}
    for system in SYSTEMS:
        connector = make_connector(server.url, system)
        tables.update(collect(connector.extract_all()))
        connector.close()
    return tables


def test_connectors_cover_every_served_table() -> None:
    yielded = [t for c in (BillingConnector, ErpConnector, RevrecConnector, SupportConnector)
               for tables in c.groups.values() for t in tables]
    assert sorted(yielded) == sorted(SERVED)  # each contract table from exactly one group


@pytest.mark.parametrize("table", SERVED)
def test_fault_free_extraction_equals_the_generated_parquet(
    table: str, clean: dict[str, pl.DataFrame], company_dir: Path,
) -> None:
    expected = expected_loose(company_dir, table)
    got = clean[table]
    assert got.height == expected.height, "no faults: no record may repeat or go missing"
    deduped = dedup(table, got)
    assert deduped.height == expected.height
    assert key_set(table, deduped) == key_set(table, expected)
    # every value round-trips: the loose strings equal the Parquet values rendered the
    # way each API sends them (minor units, "T"/"F", ISO dates, SuiteQL timestamps...)
    assert_frame_equal(deduped, expected)


def test_spot_check_loose_values(clean: dict[str, pl.DataFrame]) -> None:
    """A few literal shapes, so a rendering bug in the test helper cannot hide one here."""
    invoices = clean["billing/invoices"]
    assert invoices["total"].str.contains(r"^-?\d+$").all()  # integer minor units
    assert invoices["currency"].is_in(["usd", "eur", "gbp", "jpy"]).all()
    tran = clean["erp/transaction"]
    assert tran["trandate"].str.contains(r"^\d{4}-\d{2}-\d{2}$").all()
    assert tran["lastmodifieddate"].str.contains(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}").all()
    assert tran["voided"].is_in(["T", "F"]).all()
    lines = clean["revrec/revenue_schedule_lines"]
    assert lines["schedule_id"].null_count() == 0
    assert lines["amount"].str.contains(r"^-?\d+(\.\d{2})?$").all()  # JPY: no decimals


@pytest.mark.parametrize("system", SYSTEMS)
def test_faults_on_every_endpoint_change_nothing(
    system: str, make_server: Any, clean: dict[str, pl.DataFrame],
) -> None:
    sandbox = make_server(faults=FAULTS, seed=5)
    sleeps = Sleeps()
    connector = make_connector(sandbox.url, system, page_size=SMALL_PAGES[system],
                               max_attempts=10, sleep=sleeps)
    got = collect(connector.extract_all())
    for table in connector.tables:
        want = dedup(table, clean[table])
        have = dedup(table, got[table])
        assert have.height == want.height, table
        assert key_set(table, have) == key_set(table, want), table
        stable = [c for c in SCHEMAS[table] if c not in VOLATILE]
        assert_frame_equal(have.select(stable), want.select(stable))

    injected = sandbox.fault_counts
    stats = connector.client.stats
    for kind in RETRIED_KINDS:
        seen = sum(n for (endpoint, k), n in injected.items() if k == kind)
        key = "truncated" if kind == "drop" else kind
        assert stats.errors_by_status[key] == seen, kind
    retried = sum(n for (_, k), n in injected.items() if k in RETRIED_KINDS)
    assert retried > 0 and stats.retries == retried
    assert stats.requests == stats.pages + retried
    assert len(sleeps) == retried and all(seconds >= 0 for seconds in sleeps)
    if system == "billing":
        kinds = {k for (_, k) in injected}
        assert kinds >= {"429", "500", "503", "slow", "drop", "duplicate", "mutate"}
        assert stats.duplicates_suppressed > 0
    if system == "erp":
        # key paging always asks for offset 0, where SuiteQL never repeats or shifts rows
        assert not {k for (_, k) in injected} & {"duplicate", "mutate"}


def test_extract_is_lazy_and_checks_the_group(server: SandboxServer) -> None:
    connector = make_connector(server.url, "billing")
    batches = connector.extract("billing/invoices")
    assert connector.client.stats.requests == 0
    first = next(batches)
    assert first.table == "billing/invoices" and first.origin.startswith("GET /v1/invoices")
    assert connector.client.stats.requests == 1
    with pytest.raises(InputError, match="unknown table group 'billing/nope'"):
        connector.extract("billing/nope")


# ---- incremental ---------------------------------------------------------------------------------
def _watermark(company_dir: Path, table: str, column: str) -> dt.datetime:
    """A watermark just below the newest records: an actual value near the 97th percentile."""
    values = pl.read_parquet(company_dir / f"{table}.parquet")[column]
    value = values.quantile(0.97, interpolation="nearest")
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(int(value), dt.UTC)
    assert isinstance(value, dt.datetime)
    return value


def _parquet(company_dir: Path, table: str) -> pl.DataFrame:
    return pl.read_parquet(company_dir / f"{table}.parquet")


def _ids(frame: pl.DataFrame, column: str = "id") -> set[str]:
    return {str(value) for value in frame[column].to_list()}


def _run(url: str, system: str, since: dt.datetime | None, **options: Any) -> tuple[Any, Any]:
    connector = make_connector(url, system, **options)
    tables = collect(connector.extract_all(since))
    return tables, connector.client.stats


def test_billing_incremental(server: SandboxServer, company_dir: Path) -> None:
    wm = _watermark(company_dir, "billing/invoices", "updated")
    _full, full_stats = _run(server.url, "billing", None)
    inc, inc_stats = _run(server.url, "billing", wm)
    epoch = int(wm.timestamp())
    parents = {"billing/customers": None, "billing/subscriptions": "billing/subscription_items",
               "billing/invoices": "billing/invoice_lines",
               "billing/credit_notes": "billing/credit_note_lines",
               "billing/products": None, "billing/prices": None}
    parent_key = {"billing/subscription_items": "subscription",
                  "billing/invoice_lines": "invoice", "billing/credit_note_lines": "credit_note"}
    for parent, child in parents.items():
        source = _parquet(company_dir, parent)
        want = _ids(source.filter(pl.col("updated") >= epoch))
        assert _ids(inc[parent]) == want, parent  # nothing at/after the watermark missed
        if child is not None:
            children = _parquet(company_dir, child)
            want_children = _ids(children.filter(pl.col(parent_key[child]).is_in(list(want))))
            assert _ids(inc[child]) == want_children, child
    newest = _parquet(company_dir, "billing/invoices").filter(pl.col("updated") == epoch)
    assert _ids(newest) <= _ids(inc["billing/invoices"])  # inclusive
    assert inc_stats.requests * 5 < full_stats.requests
    assert inc_stats.records * 5 < full_stats.records


def test_erp_incremental(server: SandboxServer, company_dir: Path) -> None:
    wm = _watermark(company_dir, "erp/transaction", "lastmodifieddate").replace(microsecond=0)
    full, full_stats = _run(server.url, "erp", None, page_size=100)
    inc, inc_stats = _run(server.url, "erp", wm, page_size=100)
    tran = _parquet(company_dir, "erp/transaction").filter(pl.col("lastmodifieddate") >= wm)
    assert _ids(inc["erp/transaction"]) == _ids(tran)
    customers = _parquet(company_dir, "erp/customer").filter(pl.col("lastmodifieddate") >= wm)
    assert _ids(inc["erp/customer"]) == _ids(customers)
    lines = _parquet(company_dir, "erp/transactionline").filter(
        (pl.col("linelastmodifieddate") >= wm) | pl.col("transaction").is_in(tran["id"].to_list())
    )
    assert _ids(inc["erp/transactionline"]) == _ids(lines)
    for table in ("erp/subsidiary", "erp/currency", "erp/account", "erp/accountingperiod"):
        assert inc[table].height == full[table].height  # reference tables always in full
    assert inc_stats.requests * 3 < full_stats.requests
    assert inc_stats.records * 5 < full_stats.records


def test_revrec_incremental(server: SandboxServer, company_dir: Path) -> None:
    wm = _watermark(company_dir, "revrec/revenue_schedules", "updated_at")
    _full, full_stats = _run(server.url, "revrec", None, page_size=50)
    inc, inc_stats = _run(server.url, "revrec", wm, page_size=50)
    schedules = _parquet(company_dir, "revrec/revenue_schedules").filter(
        pl.col("updated_at") >= wm)
    assert _ids(inc["revrec/revenue_schedules"]) == _ids(schedules)
    lines = _parquet(company_dir, "revrec/revenue_schedule_lines").filter(
        pl.col("schedule_id").is_in(schedules["id"].to_list()))
    assert key_set("revrec/revenue_schedule_lines", inc["revrec/revenue_schedule_lines"]) == {
        (sid, str(n)) for sid, n in lines.select("schedule_id", "line_number").iter_rows()
    }
    assert inc_stats.requests * 3 < full_stats.requests
    assert inc_stats.records * 5 < full_stats.records
