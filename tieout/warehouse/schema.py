"""Warehouse layout: raw tables per source, quarantine per entity, and the ``ops`` tables.

Raw tables have the contract's columns (``seeds.tables``) plus lineage: ``_batch_id``,
``_loaded_at``, ``_source`` and ``_row_hash`` (used to keep unchanged rows untouched on
re-runs, so a re-extraction leaves the raw tables byte-for-byte the same).  ``ops`` holds what
dbt must never rebuild: runs, batches, watermarks, the usage-file manifest, the journal ledger,
the review state and the runs' operating metrics.
"""

from __future__ import annotations

import duckdb

from seeds.tables import SCHEMAS, duckdb_type

RAW_SCHEMAS = {"billing": "raw_billing", "erp": "raw_erp", "revrec": "raw_revrec",
               "usage": "raw_usage", "reference": "raw_reference",
               "support": "raw_support"}
META_COLUMNS = {"_batch_id": "VARCHAR", "_loaded_at": "TIMESTAMPTZ", "_source": "VARCHAR",
                "_row_hash": "UBIGINT"}

# The column that says which version of a record is newer; None: the latest arrival wins.
VERSION_COLUMN: dict[str, str | None] = {
    "billing/customers": "updated", "billing/subscriptions": "updated",
    "billing/subscription_items": "updated", "billing/invoices": "updated",
    "billing/credit_notes": "updated", "billing/products": "updated",
    "billing/prices": "updated",
    "erp/transaction": "lastmodifieddate", "erp/customer": "lastmodifieddate",
    "erp/transactionline": "linelastmodifieddate",
    "revrec/revenue_schedules": "updated_at",
    "support/organizations": "updated_at", "support/service_credits": "updated_at",
}
# Tables whose records never change once written: land each key once.
INSERT_ONLY = frozenset({"usage/events"})


def relation_exists(con: duckdb.DuckDBPyConnection, relation: str) -> bool:
    """Whether ``schema.table`` exists: readers of marts and ``ops`` tables must cope with a
    warehouse built before a table was added (or never built that far)."""
    schema, table = relation.split(".")
    [(count,)] = con.execute("SELECT count(*) FROM information_schema.tables WHERE "
                             "table_schema = ? AND table_name = ?", [schema, table]).fetchall()
    return bool(count)


def raw_table(table: str) -> str:
    """Qualified raw table name, e.g. ``raw_billing.invoices``."""
    source, entity = table.split("/", 1)
    return f"{RAW_SCHEMAS[source]}.{entity}"


def quarantine_table(table: str) -> str:
    """Qualified quarantine table name, e.g. ``quarantine.billing_invoices``."""
    return "quarantine." + table.replace("/", "_")


OPS_DDL = """
CREATE TABLE IF NOT EXISTS ops.runs (
    run_id VARCHAR PRIMARY KEY, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ,
    status VARCHAR NOT NULL, scope VARCHAR, error VARCHAR);
CREATE TABLE IF NOT EXISTS ops.batches (
    batch_id VARCHAR PRIMARY KEY, run_id VARCHAR NOT NULL, table_name VARCHAR NOT NULL,
    origin VARCHAR NOT NULL, mode VARCHAR NOT NULL, received BIGINT NOT NULL,
    landed BIGINT NOT NULL, quarantined BIGINT NOT NULL, inserted BIGINT NOT NULL,
    updated BIGINT NOT NULL, loaded_at TIMESTAMPTZ NOT NULL,
    CHECK (received = landed + quarantined));
CREATE TABLE IF NOT EXISTS ops.watermarks (
    source VARCHAR NOT NULL, entity VARCHAR NOT NULL, value VARCHAR NOT NULL,
    run_id VARCHAR NOT NULL, updated_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (source, entity));
CREATE TABLE IF NOT EXISTS ops.usage_files (
    path VARCHAR PRIMARY KEY, sha256 VARCHAR NOT NULL, size BIGINT NOT NULL,
    batch_id VARCHAR NOT NULL, processed_at TIMESTAMPTZ NOT NULL);
-- Usage journal batches tieout posts to the ERP (tieout.journal): one row per batch version;
-- a version is never changed after it is posted (late usage makes a new version).  Status:
-- pending -> posted | failed -> dead_letter.  amount is the version's net usage revenue.
CREATE TABLE IF NOT EXISTS ops.journal_batches (
    batch_id VARCHAR NOT NULL, batch_version INTEGER NOT NULL, external_id VARCHAR NOT NULL,
    legal_entity VARCHAR NOT NULL, currency VARCHAR NOT NULL, window_start TIMESTAMPTZ NOT NULL,
    window_end TIMESTAMPTZ NOT NULL, posting_period VARCHAR NOT NULL,
    amount DECIMAL(20, 4) NOT NULL, status VARCHAR NOT NULL, erp_transaction_id BIGINT,
    created_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (batch_id, batch_version));
ALTER TABLE ops.journal_batches ADD COLUMN IF NOT EXISTS kind VARCHAR;
ALTER TABLE ops.journal_batches ADD COLUMN IF NOT EXISTS tran_date DATE;
ALTER TABLE ops.journal_batches ADD COLUMN IF NOT EXISTS accounting_period VARCHAR;
ALTER TABLE ops.journal_batches ADD COLUMN IF NOT EXISTS memo VARCHAR;
ALTER TABLE ops.journal_batches ADD COLUMN IF NOT EXISTS attempts INTEGER DEFAULT 0;
ALTER TABLE ops.journal_batches ADD COLUMN IF NOT EXISTS last_error VARCHAR;
ALTER TABLE ops.journal_batches ADD COLUMN IF NOT EXISTS posted_at TIMESTAMPTZ;
-- The lines of each batch version: signed like the ERP (debit positive, credit negative).
CREATE TABLE IF NOT EXISTS ops.journal_batch_lines (
    batch_id VARCHAR NOT NULL, batch_version INTEGER NOT NULL, line_number INTEGER NOT NULL,
    account_number VARCHAR NOT NULL, product_id VARCHAR NOT NULL, amount_minor BIGINT NOT NULL,
    quantity BIGINT NOT NULL, billable_quantity BIGINT NOT NULL, event_count BIGINT NOT NULL,
    PRIMARY KEY (batch_id, batch_version, line_number));
-- Every attempt to post or confirm a batch version, kept for ever (the audit of the ledger).
CREATE TABLE IF NOT EXISTS ops.journal_attempts (
    batch_id VARCHAR NOT NULL, batch_version INTEGER NOT NULL, attempt INTEGER NOT NULL,
    action VARCHAR NOT NULL, started_at TIMESTAMPTZ NOT NULL, finished_at TIMESTAMPTZ,
    http_status INTEGER, outcome VARCHAR NOT NULL, error VARCHAR, run_id VARCHAR,
    PRIMARY KEY (batch_id, batch_version, attempt));
-- Review state of every exception ever detected (tieout.review), keyed by exception_id: dbt
-- never touches it, every run only refreshes it.  The snapshot columns hold what the latest
-- run that saw the exception said, so resolved exceptions stay readable.  revision counts
-- changes: an edit made against an older revision is refused (no silent overwrite).
CREATE TABLE IF NOT EXISTS ops.exception_review (
    exception_id VARCHAR PRIMARY KEY, rule VARCHAR NOT NULL, severity VARCHAR NOT NULL,
    natural_key VARCHAR NOT NULL, entity VARCHAR, currency VARCHAR, period VARCHAR,
    timing_status VARCHAR, billing_amount DECIMAL(20, 4), other_system VARCHAR,
    other_amount DECIMAL(20, 4), difference DECIMAL(20, 4), reporting_currency VARCHAR,
    difference_reporting DECIMAL(20, 4), is_material BOOLEAN, reason VARCHAR,
    billing_ref VARCHAR, erp_ref VARCHAR, revrec_ref VARCHAR,
    status VARCHAR NOT NULL, owner VARCHAR, note VARCHAR, resolution VARCHAR,
    is_present BOOLEAN NOT NULL, first_seen_at TIMESTAMPTZ NOT NULL,
    first_seen_run VARCHAR NOT NULL, last_seen_at TIMESTAMPTZ NOT NULL,
    last_seen_run VARCHAR NOT NULL, status_changed_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL, updated_by VARCHAR NOT NULL,
    revision INTEGER NOT NULL);
ALTER TABLE ops.exception_review ADD COLUMN IF NOT EXISTS support_ref VARCHAR;
-- Every change to the review state, appended and never updated: who, when, old -> new, why.
CREATE SEQUENCE IF NOT EXISTS ops.exception_audit_seq;
CREATE TABLE IF NOT EXISTS ops.exception_audit (
    audit_id BIGINT PRIMARY KEY DEFAULT nextval('ops.exception_audit_seq'),
    exception_id VARCHAR NOT NULL, changed_at TIMESTAMPTZ NOT NULL, actor VARCHAR NOT NULL,
    action VARCHAR NOT NULL, field VARCHAR NOT NULL, old_value VARCHAR, new_value VARCHAR,
    reason VARCHAR, run_id VARCHAR, revision INTEGER NOT NULL);
-- One row per run that refreshed the review state and per rule: the trend over runs.
CREATE TABLE IF NOT EXISTS ops.exception_runs (
    run_id VARCHAR NOT NULL, synced_at TIMESTAMPTZ NOT NULL, rule VARCHAR NOT NULL,
    open_count BIGINT NOT NULL, amount_reporting DECIMAL(20, 4) NOT NULL,
    material_count BIGINT NOT NULL, new_count BIGINT NOT NULL, reopened_count BIGINT NOT NULL,
    auto_resolved_count BIGINT NOT NULL, PRIMARY KEY (run_id, rule));
-- The step rows of a run (an extraction per source, the journal posting, the review sync)
-- name the run they belong to: one `tieout run`, or one Dagster run (tieout.metrics.runs).
ALTER TABLE ops.runs ADD COLUMN IF NOT EXISTS parent_run_id VARCHAR;
-- Operating metrics (tieout.metrics.catalog): one row per run, stage and metric (per source,
-- endpoint and dimension), written by the run's own steps and kept for ever: dbt never
-- touches it and no run rewrites another run's rows.
CREATE TABLE IF NOT EXISTS ops.run_metrics (
    run_id VARCHAR NOT NULL, recorded_at TIMESTAMPTZ NOT NULL, stage VARCHAR NOT NULL,
    metric VARCHAR NOT NULL, source VARCHAR NOT NULL, endpoint VARCHAR NOT NULL,
    dimension VARCHAR NOT NULL, value DOUBLE NOT NULL, unit VARCHAR NOT NULL,
    PRIMARY KEY (run_id, stage, metric, source, endpoint, dimension));
-- Period sign-offs (tieout close): who, when, the figures at that moment, any override.
CREATE TABLE IF NOT EXISTS ops.period_closes (
    period VARCHAR PRIMARY KEY, closed_at TIMESTAMPTZ NOT NULL, closed_by VARCHAR NOT NULL,
    figures VARCHAR NOT NULL, material_open BIGINT NOT NULL, override BOOLEAN NOT NULL,
    override_reason VARCHAR, run_id VARCHAR);
"""

QUARANTINE_COLUMNS = ("table_name VARCHAR, origin VARCHAR, row BIGINT, \"check\" VARCHAR, "
                      "\"column\" VARCHAR, value VARCHAR, reason VARCHAR, record VARCHAR, "
                      "batch_id VARCHAR, quarantined_at TIMESTAMPTZ")


def ensure_ops_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``ops`` schema and tables only: for bookkeeping on a warehouse whose raw
    schemas a stage must not create (``tieout run --only transform`` on a warehouse that was
    never extracted has to fail in dbt, not find empty raw tables)."""
    con.execute("CREATE SCHEMA IF NOT EXISTS ops")
    con.execute(OPS_DDL)


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create every schema and table that does not exist yet (safe to call on each run)."""
    for schema in (*RAW_SCHEMAS.values(), "quarantine", "ops"):
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    con.execute(OPS_DDL)
    for table, columns in SCHEMAS.items():
        if table.split("/", 1)[0] not in RAW_SCHEMAS:
            continue
        cols = [f'"{c}" {duckdb_type(t)}' for c, t in columns.items()]
        cols += [f"{c} {t}" for c, t in META_COLUMNS.items()]
        con.execute(f"CREATE TABLE IF NOT EXISTS {raw_table(table)} ({', '.join(cols)})")
        con.execute(f"CREATE TABLE IF NOT EXISTS {quarantine_table(table)} "
                    f"({QUARANTINE_COLUMNS})")
