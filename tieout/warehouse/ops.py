"""The ``ops`` bookkeeping: runs, watermarks and the processed-file manifest.

Watermarks are written by the caller inside the same transaction as the rows they cover, so
a crash can only leave the old watermark with the old data, never a watermark ahead of it.
"""

from __future__ import annotations

import datetime as dt
import secrets

import duckdb


def new_run_id() -> str:
    """Sortable, unique run id: UTC time plus a random suffix."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ-") + secrets.token_hex(3)


def start_run(con: duckdb.DuckDBPyConnection, run_id: str, scope: str,
              parent: str | None = None) -> None:
    """Record that a run began (``parent``: the run this is a step of, if any)."""
    con.execute("INSERT INTO ops.runs (run_id, started_at, finished_at, status, scope, error,"
                " parent_run_id) VALUES (?, ?, NULL, 'running', ?, NULL, ?)",
                [run_id, dt.datetime.now(dt.UTC), scope, parent]).fetchall()


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str,
               error: str | None = None) -> None:
    """Record how a run ended (``succeeded`` or ``failed`` with a one-line error)."""
    con.execute("UPDATE ops.runs SET finished_at = ?, status = ?, error = ? WHERE run_id = ?",
                [dt.datetime.now(dt.UTC), status, error, run_id]).fetchall()


def get_watermark(con: duckdb.DuckDBPyConnection, source: str, entity: str) -> str | None:
    """The stored watermark of one source entity, or None before its first extraction."""
    rows = con.execute("SELECT value FROM ops.watermarks WHERE source = ? AND entity = ?",
                       [source, entity]).fetchall()
    return rows[0][0] if rows else None


def set_watermark(con: duckdb.DuckDBPyConnection, source: str, entity: str, value: str,
                  run_id: str) -> None:
    """Advance (never move back) a watermark; values compare as stored strings."""
    con.execute("""
        INSERT INTO ops.watermarks VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (source, entity) DO UPDATE SET
            value = greatest(ops.watermarks.value, excluded.value),
            run_id = excluded.run_id, updated_at = excluded.updated_at""",
                [source, entity, value, run_id, dt.datetime.now(dt.UTC)]).fetchall()


def seen_file(con: duckdb.DuckDBPyConnection, path: str, sha256: str) -> bool:
    """True when this exact file (same path and content) was landed before."""
    rows = con.execute("SELECT sha256 FROM ops.usage_files WHERE path = ?", [path]).fetchall()
    return bool(rows) and rows[0][0] == sha256


def record_file(con: duckdb.DuckDBPyConnection, path: str, sha256: str, size: int,
                batch_id: str) -> None:
    """Remember a landed file (a changed file at the same path replaces its entry)."""
    con.execute("""INSERT OR REPLACE INTO ops.usage_files VALUES (?, ?, ?, ?, ?)""",
                [path, sha256, size, batch_id, dt.datetime.now(dt.UTC)]).fetchall()
