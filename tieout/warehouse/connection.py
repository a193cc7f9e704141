"""Opening the working warehouse: one DuckDB file, UTC session, schema ensured."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tieout.errors import TieoutError

from .schema import ensure_schema


def open_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the warehouse file with every schema in place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path))
    except duckdb.IOException as exc:
        raise TieoutError(f"warehouse {path} cannot be opened: {exc}") from None
    con.execute("SET TimeZone = 'UTC'")
    ensure_schema(con)
    return con
