"""Writing a generated company to disk: Parquet per table, usage partitions, truth, config.

Tables are cast to ``seeds.tables`` and sorted by their natural key before writing, so the
same arguments give byte-for-byte the same content; ``manifest.json`` records an
order-independent digest of every table's rows for tests and later tie-outs to compare.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import polars as pl

from seeds.tables import KEYS, conform

from .calendar import ACCOUNTING_TZ, AS_OF, GRACE_HOURS, REPORTING_CURRENCY
from .support import SERVICE_CREDIT_GRACE_DAYS, SUPPORT_PAST_DUE_DAYS


def table_digest(frame: pl.DataFrame) -> str:
    """SHA-256 over the sorted row hashes: equal for equal row multisets, whatever the order."""
    if frame.is_empty():
        return hashlib.sha256(b"").hexdigest()
    hashes = frame.hash_rows(seed=0).sort()
    return hashlib.sha256(hashes.to_numpy().tobytes()).hexdigest()


def write_table(out: Path, name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Conform, sort and write one table as ``<out>/<name>.parquet``; returns what was written."""
    shaped = conform(name, frame).sort(list(KEYS[name]))
    path = out / f"{name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    shaped.write_parquet(path, statistics=True)
    return shaped


def write_usage(out: Path, events: pl.DataFrame) -> pl.DataFrame:
    """Usage events as ``usage/date=YYYY-MM-DD/`` partitions by the day they were received."""
    shaped = conform("usage/events", events).sort("event_id")
    target = out / "usage"
    if target.exists():
        shutil.rmtree(target)
    shaped.with_columns(date=pl.col("received_at").dt.date().cast(pl.String)).sort(
        "date", "event_id").write_parquet(target, partition_by="date")
    return shaped


def write_truth(out: Path, truth: pl.DataFrame) -> None:
    """``ground_truth.csv``: expected_reported=false rows are the quiet cases."""
    truth.write_csv(out / "ground_truth.csv")


def write_config(out: Path, *, seed: int, invoices: int, mode: str = "files",
                 base_url: str = "http://127.0.0.1:8765", name: str = "tieout.toml",
                 warehouse: str = "warehouse.duckdb") -> Path:
    """A ready configuration for this company; files mode by default, or API mode against a
    sandbox at ``base_url`` (the demo and tests write one once the sandbox has its port).

    The support source is optional (``tieout.config.OPTIONAL_SOURCES``): its block is written
    when the company has a ``support/`` folder, so a company generated before the support
    platform gets a configuration that still loads and runs.
    """
    support = f'''
[sources.support]
mode = "{mode}"
path = "support"
base_url = "{base_url}"
token_env = "TIEOUT_SUPPORT_TOKEN"
''' if (out / "support").is_dir() else ""
    text = f'''# tieout configuration for a generated company (seed {seed}, ~{invoices} invoices).
# Files mode reads the Parquet exports next to this file.  For API mode start the sandbox
# (tieout sandbox serve --data . --port 8765), set mode = "api" and export the tokens named
# by *_env; secrets are only ever read from the environment.

[company]
name = "Tieout Demo"
as_of = "{AS_OF.strftime('%Y-%m-%dT%H:%M:%SZ')}"
accounting_timezone = "{ACCOUNTING_TZ}"
reporting_currency = "{REPORTING_CURRENCY}"

[warehouse]
path = "{warehouse}"
memory_limit = "1GB"  # DuckDB's cap; larger sources spill to disk instead of growing memory

[reconciliation]
grace_hours = {GRACE_HOURS}
relative_tolerance = "0.0001"
materiality = "1000.00"
# support: a paid entitlement should be suspended once an invoice is this many days past due;
# a service credit promised in support may wait this many days for its billing credit note
support_past_due_days = {SUPPORT_PAST_DUE_DAYS}
service_credit_grace_days = {SERVICE_CREDIT_GRACE_DAYS}

[reconciliation.absolute_tolerance]
USD = "0.01"
EUR = "0.01"
GBP = "0.01"
JPY = "1"

[reference]
path = "reference"

[sources.billing]
mode = "{mode}"
path = "billing"
base_url = "{base_url}"
token_env = "TIEOUT_BILLING_API_KEY"

[sources.erp]
mode = "{mode}"
path = "erp"
base_url = "{base_url}"
token_env = "TIEOUT_ERP_TOKEN"

[sources.revrec]
mode = "{mode}"
path = "revrec"
base_url = "{base_url}"
token_env = "TIEOUT_REVREC_API_KEY"
{support}
[sources.usage]
mode = "files"
path = "usage"

[journal]
window_minutes = 60
# Go-live of usage journal postings: the first open ERP period.  Windows close (and post)
# close_after_minutes after they end; a batch failing max_attempts times is dead-lettered.
post_from = "2026-01-01"
close_after_minutes = 15
max_attempts = 5
'''
    (out / name).write_text(text)
    return out / name


def write_manifest(out: Path, manifest: dict[str, object]) -> None:
    """Arguments, counts and digests of what was written."""
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
