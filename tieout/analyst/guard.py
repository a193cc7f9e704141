"""Accept one read-only SELECT (or WITH ... SELECT) over the snapshot's tables; refuse all else.

Parsed with sqlglot, never matched with regexes: the statement must be exactly one query
expression; every table it reads must be a table of the snapshot or one of its own CTEs
(which refuses ``FROM 'file.csv'`` and table functions such as ``read_csv`` or ``glob``), and
it may not call a function that reads files, the environment or runs SQL of its own.  The
connection that runs it is read-only with file access disabled and the configuration locked,
so the guard is the first of two locks, not the only one.
"""

from __future__ import annotations

from collections.abc import Collection

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from tieout.errors import InputError

# Functions that reach outside the snapshot (files, network, environment) or run other SQL.
_FORBIDDEN_PREFIXES = ("read_", "parquet_", "sniff_", "iceberg_", "delta_", "json_execute",
                       "duckdb_", "pragma_", "http", "s3", "current_setting", "which_secret")
_FORBIDDEN = frozenset({"glob", "query", "query_table", "getenv", "read_text", "read_blob",
                        "parquet_scan", "csv_scan", "json_scan", "sqlite_scan",
                        "postgres_scan", "mysql_scan", "load", "install", "checkpoint",
                        "force_checkpoint", "set_config", "system"})


class QueryRefused(InputError):
    """The statement is not one read-only query over the snapshot."""


def check_query(sql: str, tables: Collection[str]) -> exp.Query:
    """The parsed query if ``sql`` may run; ``QueryRefused`` with one reason otherwise.

    ``tables`` are the snapshot's relations as ``schema.name`` (lower case).
    """
    if not sql.strip():
        raise QueryRefused("the query is empty")
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except ParseError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "parse error"
        raise QueryRefused(f"not a valid query: {first}") from None
    if len(statements) != 1:
        raise QueryRefused(f"exactly one statement is allowed, found {len(statements)}")
    [statement] = statements
    if not isinstance(statement, exp.Query):
        kind = statement.key.upper() if statement.key else type(statement).__name__
        raise QueryRefused(f"only SELECT or WITH ... SELECT is allowed, not {kind}")
    for node in statement.walk():
        _check_node(node, tables, _cte_names(statement))
    return statement


def _cte_names(statement: exp.Expr) -> set[str]:
    return {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}


def _check_node(node: exp.Expr, tables: Collection[str], ctes: set[str]) -> None:
    if isinstance(node, (exp.Command, exp.Pragma, exp.Set, exp.Copy, exp.Insert, exp.Update,
                         exp.Delete, exp.Create, exp.Drop, exp.Alter, exp.Attach, exp.Detach,
                         exp.Merge, exp.Use, exp.Transaction, exp.Commit, exp.Rollback)):
        raise QueryRefused(f"{node.key.upper()} is not allowed inside a query")
    if isinstance(node, exp.Table):
        _check_table(node, tables, ctes)
    elif isinstance(node, exp.Func):
        name = _function_name(node)
        if name in _FORBIDDEN or name.startswith(_FORBIDDEN_PREFIXES):
            raise QueryRefused(f"function {name}() is not allowed: it reaches outside the "
                               "published snapshot")


def _check_table(table: exp.Table, tables: Collection[str], ctes: set[str]) -> None:
    if not isinstance(table.this, exp.Identifier):
        raise QueryRefused("table functions are not allowed; read the snapshot's tables")
    if table.args.get("catalog") is not None:
        raise QueryRefused(f"{table.sql('duckdb')}: other databases are not allowed")
    name = table.name.lower()
    schema = table.db.lower()
    if not schema and name in ctes:
        return
    qualified = f"{schema}.{name}" if schema else name
    if qualified in tables:
        return
    near = sorted(t for t in tables if t.split(".", 1)[-1] == name)
    hint = f"did you mean {' or '.join(near)}?" if near else "e.g. marts.fct_exceptions"
    raise QueryRefused(f"unknown table {table.sql('duckdb')}: query the snapshot's tables "
                       f"({hint})")


def _function_name(node: exp.Func) -> str:
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower()
    return node.sql_name().lower()
