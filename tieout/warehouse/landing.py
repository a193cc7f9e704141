"""Landing gated batches: stage them, then upsert a whole unit in one short transaction.

Batches of a unit (a file, an API table group) are appended to staging tables as they arrive.
They are DuckDB temporary tables: never written to the warehouse file or its WAL, and spilled
to the temp directory past ``memory_limit``, so memory does not grow with the unit's size and
a crash leaves nothing behind.
The unit then lands in one transaction: a single MERGE from the de-duplicated staging rows
into the raw table (a row replaces the stored one only when its version is newer, or the
versions tie and its content differs, so identical re-reads change nothing, not even
lineage), its quarantined rows, and its ``ops.batches`` row; into an empty raw table (a first
load) it is a plain insert.  ``clear_staging`` also drops the on-disk staging schema that
versions before temporary staging could leave behind.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import polars as pl

from seeds.tables import KEYS, SCHEMAS

from .schema import INSERT_ONLY, VERSION_COLUMN, quarantine_table, raw_table

STAGING = "_landing"


@dataclass(frozen=True)
class LandedBatch:
    """What one unit did to one raw table."""

    batch_id: str
    table: str
    received: int
    landed: int
    quarantined: int
    inserted: int
    updated: int
    repeated: int = 0  # staged rows dropped because their key came again (newest kept)


def clear_staging(con: duckdb.DuckDBPyConnection) -> None:
    """Drop staging an interrupted run left behind (it never reached a raw table): this
    connection's temporary staging tables, and the on-disk staging schema of older versions."""
    for (name,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE temporary AND starts_with("
            "table_name, ?)", [f"{STAGING}:"]).fetchall():
        con.execute(f'DROP TABLE IF EXISTS temp.main."{name}"')
    con.execute(f"DROP SCHEMA IF EXISTS {STAGING} CASCADE")


def _stage_name(batch_id: str) -> str:
    return f"temp.main.\"{STAGING}:{batch_id}\""


def stage(con: duckdb.DuckDBPyConnection, table: str, clean: pl.DataFrame,
          quarantine: pl.DataFrame, *, batch_id: str, seq: int, source_label: str) -> None:
    """Append one gated batch to the unit's staging tables (its own small transaction)."""
    business = list(SCHEMAS[table])
    incoming = clean.select(business).with_columns(
        _batch_id=pl.lit(batch_id), _loaded_at=pl.lit(dt.datetime.now(dt.UTC)),
        _source=pl.lit(source_label), _row_hash=clean.select(business).hash_rows(seed=0),
        _seq=pl.lit(seq, pl.Int64),
    )
    rows, bad = _stage_name(batch_id), _stage_name(batch_id + "#quarantine")
    con.register("_incoming", incoming)
    con.register("_bad", quarantine.with_columns(_seq=pl.lit(seq, pl.Int64)))
    try:
        con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {rows} AS SELECT * FROM _incoming LIMIT 0")
        con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {bad} AS SELECT * FROM _bad LIMIT 0")
        con.execute(f"INSERT INTO {rows} SELECT * FROM _incoming")
        if quarantine.height:
            con.execute(f"INSERT INTO {bad} SELECT * FROM _bad")
    finally:
        con.unregister("_incoming")
        con.unregister("_bad")


def _changed(table: str) -> str:
    version = VERSION_COLUMN.get(table)
    if version is None:
        return "s._row_hash <> t._row_hash"
    v = f'"{version}"'
    return (f"(s.{v} > t.{v} OR (s.{v} IS NOT DISTINCT FROM t.{v} "
            "AND s._row_hash <> t._row_hash))")


def merge_staged(con: duckdb.DuckDBPyConnection, table: str, *, batch_id: str, run_id: str,
                 origin: str, mode: str) -> LandedBatch:
    """Upsert the unit's staged rows into the raw table; the caller owns the transaction."""
    rows, bad = _stage_name(batch_id), _stage_name(batch_id + "#quarantine")
    keys = ", ".join(f'"{k}"' for k in KEYS[table])
    version = VERSION_COLUMN.get(table)
    newest_first = (f'"{version}" DESC NULLS LAST, ' if version else "") + "_seq DESC"
    business = ", ".join([*(f'"{c}"' for c in SCHEMAS[table]), "_batch_id", "_loaded_at",
                          "_source", "_row_hash"])
    target = raw_table(table)
    # A key read twice in one unit (a page repeated, a record updated mid-scan): newest wins.
    # The window that picks it is the costliest step of a large unit, so it runs only when
    # the unit does hold a repeated key.
    [(repeated,)] = con.execute(
        f"SELECT count(*) - count(DISTINCT ({keys})) FROM {rows}").fetchall()
    source = (f"(SELECT {business} FROM {rows} QUALIFY row_number() OVER "
              f"(PARTITION BY {keys} ORDER BY {newest_first}) = 1)" if repeated
              else f"(SELECT {business} FROM {rows})")
    if not con.execute(f"SELECT 1 FROM {target} LIMIT 1").fetchall():
        # An empty raw table (a first load or a rebuild): every staged row is new.
        [(inserted,)] = con.execute(f"SELECT count(*) FROM {source}").fetchall()
        con.execute(f"INSERT INTO {target} BY NAME SELECT * FROM {source}").fetchall()
        updated = 0
    else:
        inserted, updated = _merge(con, table, source, target)
    now = dt.datetime.now(dt.UTC)
    con.execute(f"""INSERT INTO {quarantine_table(table)}
        SELECT "table", origin, "row", "check", "column", value, reason, record, ?, ?
        FROM {bad}""", [batch_id, now]).fetchall()
    landed = con.execute(f"SELECT count(*) FROM {rows}").fetchall()[0][0]
    quarantined = con.execute(
        f"SELECT count(*) FROM (SELECT DISTINCT _seq, \"row\" FROM {bad})").fetchall()[0][0]
    result = LandedBatch(batch_id, table, int(landed) + int(quarantined), int(landed),
                         int(quarantined), int(inserted), int(updated), int(repeated))
    con.execute("INSERT INTO ops.batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [batch_id, run_id, table, origin, mode, result.received, result.landed,
                 result.quarantined, result.inserted, result.updated, now]).fetchall()
    return result


def _merge(con: duckdb.DuckDBPyConnection, table: str, source: str,
           target: str) -> tuple[int, int]:
    """Upsert ``source`` into a non-empty raw table; (inserted, updated)."""
    on = " AND ".join(f't."{k}" = s."{k}"' for k in KEYS[table])
    first_key = f't."{KEYS[table][0]}"'
    changed = "FALSE" if table in INSERT_ONLY else _changed(table)
    inserted, updated = con.execute(f"""
        SELECT count(*) FILTER (WHERE {first_key} IS NULL),
               count(*) FILTER (WHERE {first_key} IS NOT NULL AND {changed})
        FROM {source} s LEFT JOIN {target} t ON {on}""").fetchall()[0]
    if inserted or updated:
        update = "" if table in INSERT_ONLY else f"WHEN MATCHED AND {changed} THEN UPDATE"
        con.execute(f"""MERGE INTO {target} AS t USING {source} AS s ON {on}
                        {update} WHEN NOT MATCHED THEN INSERT""").fetchall()
    return int(inserted), int(updated)


def drop_staged(con: duckdb.DuckDBPyConnection, batch_id: str) -> None:
    """Remove a unit's staging tables once it has landed."""
    con.execute(f"DROP TABLE IF EXISTS {_stage_name(batch_id)}")
    con.execute(f"DROP TABLE IF EXISTS {_stage_name(batch_id + '#quarantine')}")
