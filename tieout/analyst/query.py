"""Run one guarded query on the published snapshot, on a locked-down read-only connection."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from tieout.errors import TieoutError

from .guard import check_query

# The second lock behind the guard: no files, no extensions, no configuration changes.
LOCKED_DOWN = {"enable_external_access": False, "autoinstall_known_extensions": False,
               "autoload_known_extensions": False, "lock_configuration": True}
MAX_ROWS = 100_000  # a terminal or a pipe is no place for more; use the snapshot directly


@dataclass(frozen=True)
class QueryResult:
    """Column names and rows (values as DuckDB returns them: Decimal for money)."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    truncated: bool


def run_query(snapshot: Path, sql: str) -> QueryResult:
    """Check ``sql`` against the snapshot's tables, then run it read-only."""
    if not snapshot.is_file():
        raise TieoutError(f"no published snapshot at {snapshot}: a successful `tieout run` "
                          "publishes it")
    try:
        con = duckdb.connect(str(snapshot), read_only=True, config=dict(LOCKED_DOWN))
    except duckdb.Error as exc:
        raise TieoutError(f"snapshot {snapshot} cannot be opened: "
                          f"{' '.join(str(exc).split())}") from None
    try:
        tables = {f"{s}.{n}".lower() for s, n in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables").fetchall()}
        check_query(sql, tables)
        try:
            cursor = con.execute(sql)
            columns = tuple(d[0] for d in cursor.description or ())
            rows = cursor.fetchmany(MAX_ROWS + 1)
        except duckdb.Error as exc:
            raise TieoutError(f"query failed: {' '.join(str(exc).split())[:300]}") from None
    finally:
        con.close()
    return QueryResult(columns, rows[:MAX_ROWS], len(rows) > MAX_ROWS)
