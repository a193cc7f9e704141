"""Publish the marts as a read-only snapshot file, swapped into place atomically.

Analysts (``tieout query``, BI tools) read the snapshot, never the working warehouse: a
reader holding the old file open keeps reading it (POSIX rename leaves its inode alone) and
never blocks the nightly run, and nobody sees a half-built warehouse, because the new file is
complete and fsynced before ``os.replace`` makes it the published one.  A run that fails
before this step publishes nothing; the previous snapshot stays.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tieout.config import TieoutConfig
from tieout.failpoints import failpoint

# What analysts get: every mart, plus the review state, journal ledger and run history the
# report uses (runs and their operating metrics, so trends can be queried too).
PUBLISHED_SCHEMAS = ("marts",)
PUBLISHED_OPS = ("exception_review", "exception_audit", "exception_runs", "period_closes",
                 "journal_batches", "runs", "run_metrics")


@dataclass(frozen=True)
class Published:
    """A snapshot that was swapped into place."""

    path: Path
    tables: int
    published_at: dt.datetime


def snapshot_path(cfg: TieoutConfig) -> Path:
    """Where the published snapshot of ``cfg``'s warehouse lives (beside the warehouse)."""
    return cfg.warehouse.with_name(cfg.warehouse.stem + ".published.duckdb")


def publish_snapshot(con: duckdb.DuckDBPyConnection, target: Path, run_id: str,
                     now: dt.datetime | None = None) -> Published:
    """Copy the published relations from ``con``'s warehouse into a new file and rename it
    over ``target``."""
    now = now or dt.datetime.now(dt.UTC)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(target)
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
    relations = _relations(con)
    try:
        con.execute(f"ATTACH '{_quote(temporary)}' AS tieout_snapshot")
        try:
            for schema, name in relations:
                con.execute(f"CREATE SCHEMA IF NOT EXISTS tieout_snapshot.{schema}")
                con.execute(f"CREATE TABLE tieout_snapshot.{schema}.{name} AS "
                            f"SELECT * FROM {schema}.{name}")
            con.execute("CREATE TABLE tieout_snapshot.main.snapshot_info AS SELECT "
                        "?::VARCHAR AS run_id, ?::TIMESTAMPTZ AS published_at, "
                        "?::BIGINT AS tables", [run_id, now, len(relations)])
        finally:
            con.execute("DETACH tieout_snapshot")
        _fsync(temporary)
        failpoint("analyst.publish.before_swap")
        os.replace(temporary, target)
        _fsync(target.parent)
    finally:
        temporary.unlink(missing_ok=True)
        temporary.with_name(temporary.name + ".wal").unlink(missing_ok=True)
    return Published(target, len(relations), now)


def _remove_abandoned(target: Path) -> None:
    """Delete half-published files a crashed publish left beside ``target`` (each is a whole
    snapshot's size).  Publishes run one at a time under the run lock, so none is in use."""
    for leftover in target.parent.glob(f".{target.name}.*.tmp*"):
        leftover.unlink(missing_ok=True)


def _relations(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    marts = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE "
        "table_catalog = current_database() AND table_schema IN (SELECT unnest(?)) "
        "ORDER BY 1, 2", [list(PUBLISHED_SCHEMAS)]).fetchall()
    ops = con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables WHERE "
        "table_catalog = current_database() AND table_schema = 'ops' AND "
        "table_name IN (SELECT unnest(?)) ORDER BY 2", [list(PUBLISHED_OPS)]).fetchall()
    return [(str(s), str(n)) for s, n in [*marts, *ops]]


def _quote(path: Path) -> str:
    return str(path).replace("'", "''")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
