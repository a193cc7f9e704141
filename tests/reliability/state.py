"""What "the same warehouse" means for the reliability suite: a content digest per table.

A run that survived faults or a crash must end where a fault-free run ends.  Lineage columns
(which batch, when, from where) legitimately differ between two runs, so they are left out;
everything else is hashed row by row and the row hashes are summed, which makes the digest
independent of row order (DuckDB stores rows in whatever order the parallel load produced)
while still counting every duplicate.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

LINEAGE = ("_batch_id", "_loaded_at", "_source", "_row_hash")
RAW_SCHEMAS = ("raw_reference", "raw_billing", "raw_erp", "raw_revrec", "raw_support",
               "raw_usage")
BUILT_SCHEMAS = ("intermediate", "marts")


def _tables(con: duckdb.DuckDBPyConnection, schemas: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(s, t) for s, t in con.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE' AND table_schema IN (SELECT unnest(?)) "
        "ORDER BY 1, 2", [list(schemas)]).fetchall()]


def table_digest(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    """``rows:sum-of-row-hashes`` of one table, lineage columns left out."""
    columns = [c for (c,) in con.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND "
        "table_name = ? ORDER BY ordinal_position", [schema, table]).fetchall()
        if c not in LINEAGE]
    row = ", ".join(f'"{c}"' for c in columns)
    [(rows, total)] = con.execute(
        f'SELECT count(*), coalesce(sum(hash({row})::HUGEINT), 0) FROM "{schema}"."{table}"'
    ).fetchall()
    return f"{rows}:{total}"


def warehouse_digest(warehouse: Path,
                     schemas: tuple[str, ...] = RAW_SCHEMAS + BUILT_SCHEMAS) -> dict[str, str]:
    """``schema.table`` -> digest for every base table of ``schemas`` (views are recomputed
    from tables, so they cannot differ when the tables do not)."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {f"{s}.{t}": table_digest(con, s, t) for s, t in _tables(con, schemas)}


def differences(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    """One line per table that is missing, extra or different, for an assertion message."""
    lines = [f"{name}: missing" for name in sorted(expected.keys() - actual.keys())]
    lines += [f"{name}: unexpected" for name in sorted(actual.keys() - expected.keys())]
    lines += [f"{name}: {expected[name]} != {actual[name]}"
              for name in sorted(expected.keys() & actual.keys())
              if expected[name] != actual[name]]
    return lines
