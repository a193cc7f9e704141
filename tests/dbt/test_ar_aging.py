"""fct_ar_aging on generated companies: it ties to the AR reconciliation on the run's date, and
the ERP's balances rolled back to past dates agree with billing's when the systems agree.

The second is the proof of the roll-back: a clean company's ERP only ever follows billing, so
on any past date every customer's aged balance must be the same on both sides, bucket by
bucket, except invoices voided after that date (the ERP zeroes a voided invoice; billing still
shows it open then), which are computed here from billing independently.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from seeds.generator import generate_company
from tieout.config import TieoutConfig, load_config
from tieout.extract.service import run_extraction
from tieout.transform.dbt_vars import PROJECT_DIR, dbt_vars
from tieout.transform.invocation import dbt_executable
from tieout.warehouse.connection import open_warehouse

pytestmark = pytest.mark.slow

PAST_DATES = ("2024-06-30", "2025-02-28", "2025-10-15")
EXPONENT = {"USD": 2, "EUR": 2, "GBP": 2, "JPY": 0}


def _company(tmp: Path, *, clean: bool) -> TieoutConfig:
    summary = generate_company(tmp / "co", seed=29, invoices=1500, clean=clean)
    cfg = load_config(summary.out_dir / "tieout.toml")
    con = open_warehouse(cfg.warehouse)
    try:
        run_extraction(con, cfg)
    finally:
        con.close()
    return cfg


def _build(cfg: TieoutConfig, tmp: Path, select: str, **extra: str) -> None:
    """dbt in a child process, as the pipeline runs it: no connection outlives the build."""
    variables = {**dbt_vars(cfg), **extra}
    done = subprocess.run([
        dbt_executable(), "build", "--project-dir", str(PROJECT_DIR),
        "--profiles-dir", str(PROJECT_DIR), "--select", select,
        "--indirect-selection", "cautious", "--exclude-resource-type", "unit_test",
        "--vars", json.dumps(variables), "--target-path", str(tmp / "target"),
        "--log-path", str(tmp / "logs"), "--quiet", "--no-send-anonymous-usage-stats",
    ], env={**os.environ, "TIEOUT_WAREHOUSE": str(cfg.warehouse)}, capture_output=True,
        text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]


def _aged(cfg: TieoutConfig) -> dict[tuple[str, str, str, str], tuple[Decimal, Decimal]]:
    with duckdb.connect(str(cfg.warehouse), read_only=True) as con:
        rows = con.execute("select customer_id, legal_entity_code, currency, bucket, erp_open, "
                           "billing_open from marts.fct_ar_aging").fetchall()
    return {(c, e, ccy, b): (erp, billing) for c, e, ccy, b, erp, billing in rows}


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TieoutConfig]:
    tmp = tmp_path_factory.mktemp("aging_clean")
    cfg = _company(tmp, clean=True)
    _build(cfg, tmp, "+fct_ar_aging")
    yield cfg


@pytest.fixture(scope="module")
def faulty(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[TieoutConfig, Path]]:
    tmp = tmp_path_factory.mktemp("aging_faulty")
    cfg = _company(tmp, clean=False)
    _build(cfg, tmp, "+fct_ar_aging +fct_ar_reconciliation")
    yield cfg, tmp


def _voided_since(cfg: TieoutConfig, date: str) -> dict[tuple[str, str], Decimal]:
    """Billing invoices open on ``date`` and voided after it, per customer and currency: the
    ERP zeroes a voided invoice, so these are the only balances it cannot roll back."""
    with duckdb.connect(str(cfg.warehouse), read_only=True) as con:
        rows = con.execute("""
            select customer_id, currency, sum(total_minor) from staging.stg_billing__invoices
            where status = 'void'
              and cast(timezone('America/Los_Angeles', finalized_at) as date) <= cast(? as date)
              and cast(timezone('America/Los_Angeles', voided_at) as date) > cast(? as date)
            group by all""", [date, date]).fetchall()
    return {(c, ccy): Decimal(t).scaleb(-EXPONENT[ccy]) for c, ccy, t in rows}


def test_clean_company_agrees_today_and_on_past_dates_but_for_later_voids(
        clean: TieoutConfig, tmp_path: Path) -> None:
    seen_open = 0
    for date in (None, *PAST_DATES):
        if date is not None:
            _build(clean, tmp_path, "fct_ar_aging", ar_as_of_date=date)
        aged = _aged(clean)
        assert aged, f"no open receivables on {date or 'the run date'}"
        differing: dict[tuple[str, str], Decimal] = {}
        for (customer, _, currency, _), (erp, billing) in aged.items():
            if erp != billing:
                key = (customer, currency)
                differing[key] = differing.get(key, Decimal(0)) + billing - erp
        expected = _voided_since(clean, date) if date is not None else {}
        assert differing == expected, date
        seen_open += sum(1 for erp, _ in aged.values() if erp)
    assert seen_open


def test_run_date_ties_to_the_ar_reconciliation(faulty: tuple[TieoutConfig, Path]) -> None:
    cfg, _ = faulty
    aged: dict[tuple[str, str], list[Decimal]] = {}
    for (customer, _, currency, _), (erp, billing) in _aged(cfg).items():
        sides = aged.setdefault((customer, currency), [Decimal(0), Decimal(0)])
        sides[0] += erp
        sides[1] += billing
    with duckdb.connect(str(cfg.warehouse), read_only=True) as con:
        balances = con.execute("select customer_id, currency, erp_open_minor, "
                               "billing_open_minor from intermediate.int_ar__customer_balances "
                               "where erp_open_minor <> 0 or billing_open_minor <> 0").fetchall()
    expected = {(c, ccy): [Decimal(e).scaleb(-EXPONENT[ccy]), Decimal(b).scaleb(-EXPONENT[ccy])]
                for c, ccy, e, b in balances}
    assert {k: v for k, v in aged.items() if any(v)} == expected
    assert any(erp != billing for erp, billing in expected.values()), "no AR fault planted"


def test_a_past_date_counts_invoices_paid_since_as_open(
        faulty: tuple[TieoutConfig, Path]) -> None:
    cfg, tmp = faulty
    _build(cfg, tmp, "fct_ar_aging", ar_as_of_date="2025-10-15")
    with duckdb.connect(str(cfg.warehouse), read_only=True) as con:
        [(paid_since, total)] = con.execute("""
            select count(*), sum(total_minor) from staging.stg_billing__invoices
            where status = 'paid'
              and cast(timezone('America/Los_Angeles', finalized_at) as date) <= date '2025-10-15'
              and cast(timezone('America/Los_Angeles', paid_at) as date) > date '2025-10-15'
            """).fetchall()
        [(as_of, documents)] = con.execute(
            "select min(as_of_date), sum(billing_documents) from marts.fct_ar_aging").fetchall()
    assert str(as_of) == "2025-10-15"
    assert paid_since > 0 and total > 0
    assert documents >= paid_since
