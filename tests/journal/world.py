"""A small, fully known usage world for the journal tests.

Two metered subscriptions - one per legal entity (US01 in USD, EU01 in EUR) - started on
2025-11-15 08:00 UTC, monthly, 100 units included per cycle, 2 minor units per unit beyond.
The warehouse is a real tieout warehouse whose dbt views (staging, int_usage__rated_windows,
fct_usage_journal_lines) are built once per window size by ``dbt run``; tests then insert
events into ``raw_usage.events`` and the views rate them live. The reference data and the
ERP the poster talks to come from a generated company, so account and subsidiary ids are the
sandbox's own.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tieout.config import load_config
from tieout.transform.dbt_vars import PROJECT_DIR, dbt_vars_arg
from tieout.transform.invocation import dbt_executable
from tieout.warehouse.connection import open_warehouse

UTC = dt.UTC
STARTED = dt.datetime(2025, 11, 15, 8, 0, tzinfo=UTC)
INCLUDED = 100
UNIT_MINOR = 2
ITEMS = {  # item -> (customer, legal entity, currency)
    "si_us": ("cus_us", "US01", "USD"),
    "si_eu": ("cus_eu", "EU01", "EUR"),
}
WAREHOUSE_NAME = "usage.duckdb"  # dbt views name their catalog after the file: keep it


@dataclass(frozen=True)
class Event:
    """One usage event as the product would send it."""

    event_id: str
    item: str
    quantity: int
    occurred_at: dt.datetime
    received_at: dt.datetime


def write_config(root: Path, *, base_url: str = "http://127.0.0.1:9", window_minutes: int = 60,
                 max_attempts: int = 5, post_from: str | None = None) -> Path:
    """A tieout.toml for the world's warehouse with the ERP in API mode at ``base_url``."""
    since = f'post_from = "{post_from}"\n' if post_from else ""
    path = root / "tieout.toml"
    path.write_text(f'''[company]
as_of = "2026-01-20T18:00:00Z"
accounting_timezone = "America/Los_Angeles"
reporting_currency = "USD"

[warehouse]
path = "{WAREHOUSE_NAME}"

[reconciliation]
grace_hours = 24

[reconciliation.absolute_tolerance]

[sources.erp]
mode = "api"
base_url = "{base_url}"
token_env = "TIEOUT_TEST_ERP_TOKEN"

[journal]
window_minutes = {window_minutes}
close_after_minutes = 0
max_attempts = {max_attempts}
backoff_seconds = "0.01"
{since}''')
    return path


def _epoch(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def build(root: Path, reference_dir: Path, window_minutes: int) -> Path:
    """Create the warehouse in ``root`` with the world's billing rows and the dbt views."""
    config = write_config(root, window_minutes=window_minutes)
    cfg = load_config(config)
    con = open_warehouse(cfg.warehouse)
    try:
        for table in ("legal_entities", "account_mapping", "chart_of_accounts", "currencies"):
            con.execute(f"insert into raw_reference.{table} by name "
                        f"select * from read_parquet('{reference_dir / table}.parquet')")
        created = _epoch(STARTED)
        for item, (customer, entity, currency) in ITEMS.items():
            sub, price = f"sub_{item}", f"price_{item}"
            con.execute("insert into raw_billing.customers (id, name, currency, legal_entity,"
                        " created, updated) values (?, ?, ?, ?, ?, ?)",
                        [customer, customer, currency.lower(), entity, created, created])
            con.execute("insert into raw_billing.subscriptions (id, customer, status, currency,"
                        " billing_interval, start_date, created, updated)"
                        " values (?, ?, 'active', ?, 'month', ?, ?, ?)",
                        [sub, customer, currency.lower(), created, created, created])
            con.execute("insert into raw_billing.prices (id, product, currency, unit_amount,"
                        " recurring_interval, usage_type, included_quantity, created, updated)"
                        " values (?, 'prod_api', ?, ?, 'month', 'metered', ?, ?, ?)",
                        [price, currency.lower(), UNIT_MINOR, INCLUDED, created, created])
            con.execute("insert into raw_billing.subscription_items (id, subscription, price,"
                        " product, quantity, created, updated)"
                        " values (?, ?, ?, 'prod_api', 1, ?, ?)",
                        [item, sub, price, created, created])
    finally:
        con.close()
    env = {**os.environ, "TIEOUT_WAREHOUSE": str(cfg.warehouse)}
    done = subprocess.run(
        [dbt_executable(), "run", "--select", "+fct_usage_journal_lines", "--project-dir",
         str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR), "--vars", dbt_vars_arg(cfg),
         "--target-path", str(root / "target"), "--log-path", str(root / "logs"), "--quiet",
         "--no-send-anonymous-usage-stats"],
        env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-3000:]
    return cfg.warehouse


def insert_events(con: duckdb.DuckDBPyConnection, events: list[Event]) -> None:
    """Land events the way extraction would (raw_usage.events, insert-only)."""
    rows = [[e.event_id, ITEMS[e.item][0], e.item, "api_calls", e.quantity, e.occurred_at,
             e.received_at] for e in events]
    if rows:
        con.executemany("insert into raw_usage.events (event_id, customer, subscription_item,"
                        " metric, quantity, occurred_at, received_at)"
                        " values (?, ?, ?, ?, ?, ?, ?)", rows)


def cycle_of(moment: dt.datetime) -> int:
    """Monthly cycle number since ``STARTED`` (the 15th, 08:00 UTC, never clamped)."""
    months = (moment.year - STARTED.year) * 12 + moment.month - STARTED.month
    boundary = STARTED.replace(year=STARTED.year + (STARTED.month - 1 + months) // 12,
                               month=(STARTED.month - 1 + months) % 12 + 1)
    return months - 1 if moment < boundary else months


def expected_revenue(events: list[Event]) -> dict[tuple[str, str], int]:
    """The oracle: per (entity, currency), sum over cycles of max(0, used - included) x price."""
    used: dict[tuple[str, int], int] = defaultdict(int)
    for event in events:
        used[(event.item, cycle_of(event.occurred_at))] += event.quantity
    revenue: dict[tuple[str, str], int] = defaultdict(int)
    for (item, _), quantity in used.items():
        _, entity, currency = ITEMS[item]
        revenue[(entity, currency)] += max(0, quantity - INCLUDED) * UNIT_MINOR
    return dict(revenue)
