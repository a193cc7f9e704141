"""dbt staging layer: builds on an extracted 600-invoice company, tests pass, money is exact."""

from __future__ import annotations

import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from dbt.cli.main import dbtRunner

from seeds.generator import generate_company
from seeds.tables import SCHEMAS
from tieout.config import load_config
from tieout.extract.service import run_extraction
from tieout.warehouse.connection import open_warehouse
from tieout.warehouse.schema import raw_table

pytestmark = pytest.mark.slow

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"

# Staging model of each raw table (ERP entities take NetSuite's name in the plural).
ERP_MODELS = {"currency": "currencies", "subsidiary": "subsidiaries", "customer": "customers",
              "accountingperiod": "accountingperiods", "account": "accounts",
              "transaction": "transactions", "transactionline": "transactionlines"}


def staging_model(table: str) -> str:
    source, entity = table.split("/", 1)
    return f"stg_{source}__{ERP_MODELS.get(entity, entity) if source == 'erp' else entity}"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """An extracted company with `dbt build --select staging` run on it (target/logs in tmp)."""
    tmp = tmp_path_factory.mktemp("dbt_staging")
    summary = generate_company(tmp / "co", seed=21, invoices=600)
    cfg = load_config(summary.out_dir / "tieout.toml")
    con = open_warehouse(cfg.warehouse)
    run_extraction(con, cfg)
    con.close()

    previous = os.environ.get("TIEOUT_WAREHOUSE")
    os.environ["TIEOUT_WAREHOUSE"] = str(cfg.warehouse)
    try:
        result = dbtRunner().invoke([
            "build", "--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
            "--select", "staging", "--indirect-selection", "cautious",
            "--target-path", str(tmp / "target"),
            "--log-path", str(tmp / "logs"), "--quiet", "--no-send-anonymous-usage-stats",
        ])
    finally:
        if previous is None:
            os.environ.pop("TIEOUT_WAREHOUSE", None)
        else:
            os.environ["TIEOUT_WAREHOUSE"] = previous
    assert result.success, result.exception
    statuses = [(r.node.name, str(r.status)) for r in result.result]
    failed = [s for s in statuses if s[1] not in {"success", "pass"}]
    assert not failed, failed
    raw_models = [name for name, _ in statuses
                  if name.startswith("stg_") and not name.startswith("stg_ops__")]
    assert len(raw_models) == len(SCHEMAS)  # one per raw table (ops tables are tieout's own)
    # The data tests ran (relationships, accepted values, conversions: not what the gate
    # already guarantees, DECISIONLOG "Performance").
    assert sum(1 for s in statuses if s[1] == "pass") > 50
    yield Path(cfg.warehouse)


def rows(db: Path, query: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(db)) as con:
        return con.execute(query).fetchall()


def test_dbt_writes_nothing_into_the_repository(warehouse: Path) -> None:
    for leftover in ("target", "logs", ".user.yml"):
        assert not (PROJECT_DIR / leftover).exists(), leftover


@pytest.mark.parametrize("table", sorted(SCHEMAS))
def test_every_staging_model_keeps_every_raw_row(warehouse: Path, table: str) -> None:
    model = staging_model(table)
    [(raw, staged)] = rows(warehouse, f"select (select count(*) from {raw_table(table)}), "
                                      f"(select count(*) from staging.{model})")
    assert raw > 0
    assert staged == raw


def test_invoice_totals_convert_exactly_per_currency_exponent(warehouse: Path) -> None:
    [(column_type,)] = rows(warehouse, "select data_type from information_schema.columns "
                                       "where table_schema = 'staging' and table_name = "
                                       "'stg_billing__invoices' and column_name = 'total'")
    assert column_type.startswith("DECIMAL")
    invoices = rows(warehouse, "select currency, total_minor, total "
                               "from staging.stg_billing__invoices")
    seen = {currency for currency, _, _ in invoices}
    assert {"USD", "JPY"} <= seen
    for currency, minor, total in invoices:
        assert isinstance(total, Decimal)
        divisor = 1 if currency == "JPY" else 100
        assert total == Decimal(minor) / divisor, (currency, minor, total)


def test_invoice_sums_per_currency_equal_raw_sums(warehouse: Path) -> None:
    staged = dict(rows(warehouse, "select currency, sum(total) from staging.stg_billing__invoices "
                                  "group by currency"))
    raw = rows(warehouse, "select upper(currency), sum(total) from raw_billing.invoices "
                          "group by 1")
    assert len(staged) == len(raw) == 4
    for currency, raw_sum in raw:
        expected = Decimal(raw_sum).scaleb(-(0 if currency == "JPY" else 2))
        assert staged[currency] == expected, currency
