"""Landing gated batches: upsert by natural key, keep the newest version, record the batch.

A row replaces the stored one only when its version column is newer, or when the versions
tie (or there is none) and its content differs; identical re-reads change nothing, not even
lineage columns, so re-running an extraction leaves the raw tables exactly as they were.
The caller owns the transaction: the data, the quarantine rows and the ``ops.batches`` row of
a batch commit together or not at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb
import polars as pl

from seeds.tables import KEYS, SCHEMAS

from .schema import INSERT_ONLY, VERSION_COLUMN, quarantine_table, raw_table


@dataclass(frozen=True)
class LandedBatch:
    """What one batch did to the warehouse."""

    batch_id: str
    table: str
    received: int
    landed: int
    quarantined: int
    inserted: int
    updated: int


def _changed(table: str) -> str:
    version = VERSION_COLUMN.get(table)
    if version is None:
        return "s._row_hash <> t._row_hash"
    v = f'"{version}"'
    return (f"(s.{v} > t.{v} OR (s.{v} IS NOT DISTINCT FROM t.{v} "
            "AND s._row_hash <> t._row_hash))")


def land(con: duckdb.DuckDBPyConnection, table: str, clean: pl.DataFrame,
         quarantine: pl.DataFrame, *, batch_id: str, run_id: str, origin: str, mode: str,
         source_label: str) -> LandedBatch:
    """Upsert ``clean`` into the raw table and file ``quarantine``; returns the counts."""
    now = dt.datetime.now(dt.UTC)
    business = list(SCHEMAS[table])
    incoming = clean.select(business).with_columns(
        _batch_id=pl.lit(batch_id), _loaded_at=pl.lit(now), _source=pl.lit(source_label),
        _row_hash=clean.select(business).hash_rows(seed=0),
    )
    target = raw_table(table)
    on = " AND ".join(f't."{k}" = s."{k}"' for k in KEYS[table])
    first_key = f't."{KEYS[table][0]}"'
    con.register("_incoming", incoming)
    try:
        changed = "FALSE" if table in INSERT_ONLY else _changed(table)
        inserted, updated = con.execute(f"""
            SELECT count(*) FILTER (WHERE {first_key} IS NULL),
                   count(*) FILTER (WHERE {first_key} IS NOT NULL AND {changed})
            FROM _incoming s LEFT JOIN {target} t ON {on}""").fetchall()[0]
        if inserted or updated:
            update = "" if table in INSERT_ONLY else \
                f"WHEN MATCHED AND {changed} THEN UPDATE"
            con.execute(f"""MERGE INTO {target} AS t USING _incoming AS s ON {on}
                            {update} WHEN NOT MATCHED THEN INSERT""").fetchall()
    finally:
        con.unregister("_incoming")
    if quarantine.height:
        q = quarantine.with_columns(batch_id=pl.lit(batch_id), quarantined_at=pl.lit(now))
        con.register("_quarantine", q)
        try:
            con.execute(f"""INSERT INTO {quarantine_table(table)}
                SELECT "table" AS table_name, origin, "row", "check", "column", value, reason,
                       record, batch_id, quarantined_at FROM _quarantine""").fetchall()
        finally:
            con.unregister("_quarantine")
    received = clean.height + _rows_quarantined(quarantine)
    result = LandedBatch(batch_id, table, received, clean.height, received - clean.height,
                         int(inserted), int(updated))
    con.execute("INSERT INTO ops.batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [batch_id, run_id, table, origin, mode, result.received, result.landed,
                 result.quarantined, result.inserted, result.updated, now]).fetchall()
    return result


def _rows_quarantined(quarantine: pl.DataFrame) -> int:
    """Distinct rows in a quarantine frame (a row may fail several checks)."""
    return quarantine.select(pl.col("row").n_unique()).item() if quarantine.height else 0
