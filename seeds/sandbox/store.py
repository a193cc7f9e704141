"""Load a generated company into one in-process DuckDB database the sandbox serves from.

The sandbox must answer a page of 100 invoices (with their lines) in a few milliseconds at a
million invoices, and it must never hold the whole company as Python objects. So every table
lives in DuckDB, physically sorted the way its pages are read, with precomputed order keys:

- billing lists: ``_seq`` = position in Stripe's newest-first order (``created`` desc, ``id``
  desc), dense from 0, plus an ART index on ``id`` for cursor look-ups; child tables (invoice
  lines, credit note lines, subscription items) carry their parent's ``_seq`` as ``_pseq`` and
  their 1-based position under it as ``_pos``, sorted by (``_pseq``, ``_pos``) so a page's
  children are one zone-map-pruned range scan.
- revrec schedules: ``_rseq`` = position in (``updated_at``, ``id``) order. A record whose
  ``updated_at`` is bumped gets the next ``_rseq``, so the order key stays consistent with the
  served order; ``_sidx`` is the stable key schedule lines hang off.
- support organizations and service credits: the contract columns, sorted by (``updated_at``,
  ``id``), the order their cursor pages are read in (the cursor is a key in that order, not a
  position, so no order key is kept). A company written before the support platform existed
  has no ``support/`` folder: the tables are then created empty, so the support endpoints
  answer empty lists and the other systems are served as before.
- ERP tables: exactly the contract columns (SuiteQL's ``SELECT *`` must show nothing else),
  timestamps as naive UTC ``TIMESTAMP``, and Oracle semantics for text: '' is stored as NULL.

After loading, external access is switched off and the configuration locked, so a SuiteQL query
can read these tables and nothing on the host.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
from polars._typing import PolarsDataType

from seeds.tables import SCHEMAS, duckdb_type


class DataDirError(ValueError):
    """The data directory is missing or does not hold a company the sandbox can serve."""


@dataclass(frozen=True)
class ListTable:
    """A billing table served as a Stripe list."""

    name: str          # contract name, e.g. "billing/invoices"
    object: str        # Stripe "object" value
    has_updated: bool  # whether mutate can bump an ``updated`` column


@dataclass(frozen=True)
class ChildTable:
    """A billing table embedded under a parent object."""

    name: str
    parent: str        # contract name of the parent table
    parent_key: str    # column holding the parent's id
    order_by: str      # order of children under one parent
    object: str


BILLING_LISTS: dict[str, ListTable] = {
    "customers": ListTable("billing/customers", "customer", True),
    "subscriptions": ListTable("billing/subscriptions", "subscription", True),
    "invoices": ListTable("billing/invoices", "invoice", True),
    "credit_notes": ListTable("billing/credit_notes", "credit_note", True),
    "products": ListTable("billing/products", "product", True),
    "prices": ListTable("billing/prices", "price", True),
}
BILLING_CHILDREN: dict[str, ChildTable] = {
    "subscription_items": ChildTable(
        "billing/subscription_items", "billing/subscriptions", "subscription",
        "created NULLS LAST, id", "subscription_item",
    ),
    "invoice_lines": ChildTable(
        "billing/invoice_lines", "billing/invoices", "invoice", "line_number NULLS LAST, id",
        "line_item",
    ),
    "credit_note_lines": ChildTable(
        "billing/credit_note_lines", "billing/credit_notes", "credit_note", "id",
        "credit_note_line_item",
    ),
}
ERP_TABLES: tuple[str, ...] = tuple(
    name.split("/", 1)[1] for name in SCHEMAS if name.startswith("erp/")
)
REVREC_SCHEDULES = "revrec/revenue_schedules"
REVREC_LINES = "revrec/revenue_schedule_lines"
SUPPORT_TABLES: tuple[str, ...] = tuple(name for name in SCHEMAS if name.startswith("support/"))
SERVED_TABLES: tuple[str, ...] = tuple(
    name for name in SCHEMAS if name.split("/", 1)[0] in {"billing", "erp", "revrec", "support"}
)


def sql_table(name: str) -> str:
    """The quoted DuckDB name of contract table ``name`` ("billing/invoices" -> schema.table)."""
    schema, table = name.split("/", 1)
    return f'"{schema}"."{table}"'


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def duck_type(dtype: PolarsDataType) -> str:
    """The DuckDB column type for a contract dtype (timestamps become naive UTC)."""
    return duckdb_type(dtype, timestamp="TIMESTAMP")


def public_columns(name: str) -> list[str]:
    """The contract columns of ``name``, in contract order."""
    return list(SCHEMAS[name])


class Store:
    """The company in DuckDB. Readers use ``cursor()``; writers also hold ``write_lock``."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = Path(data_dir)
        if not self.data_dir.is_dir():
            raise DataDirError(f"sandbox data directory {self.data_dir} does not exist")
        self.write_lock = threading.Lock()
        self._con = duckdb.connect(":memory:")
        try:
            self._load()
        except BaseException:
            self._con.close()
            raise
        self._closed = False

    # ---- loading ----------------------------------------------------------------------------
    def _parquet(self, name: str) -> str:
        path = self.data_dir / f"{name}.parquet"
        if not path.is_file():
            raise DataDirError(f"sandbox data directory {self.data_dir} is missing {name}.parquet")
        present = {
            row[0]
            for row in self._con.execute(
                "SELECT name FROM parquet_schema(?)", [str(path)]
            ).fetchall()
        }
        for column in SCHEMAS[name]:
            if column not in present:
                raise DataDirError(f"{path}: column {column!r} of table {name} is missing")
        return "read_parquet('" + str(path).replace("'", "''") + "')"

    def _select_list(self, name: str, *, empty_is_null: bool = False) -> str:
        parts = []
        for column, dtype in SCHEMAS[name].items():
            expr = f"CAST({quote(column)} AS {duck_type(dtype)})"
            if empty_is_null and dtype == pl.String:
                expr = f"NULLIF({expr}, '')"
            parts.append(f"{expr} AS {quote(column)}")
        return ", ".join(parts)

    def _load(self) -> None:
        con = self._con
        con.execute("SET GLOBAL TimeZone = 'UTC'")
        for schema in ("billing", "erp", "revrec", "support"):
            con.execute(f"CREATE SCHEMA {schema}")
        for spec in BILLING_LISTS.values():
            self._load_list(spec)
        for child in BILLING_CHILDREN.values():
            self._load_child(child)
        for table in ERP_TABLES:
            name = f"erp/{table}"
            select = self._select_list(name, empty_is_null=True)
            con.execute(
                f"CREATE TABLE {sql_table(name)} AS SELECT {select}"
                f" FROM {self._parquet(name)} ORDER BY id"
            )
        con.execute("CREATE VIEW erp.dual AS SELECT 'X' AS dummy")
        self._load_revrec()
        self._load_support()
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")

    def _load_list(self, spec: ListTable) -> None:
        self._con.execute(
            f"CREATE TABLE {sql_table(spec.name)} AS SELECT *,"
            " (row_number() OVER (ORDER BY created DESC NULLS LAST, id DESC) - 1)::BIGINT AS _seq"
            f" FROM (SELECT {self._select_list(spec.name)} FROM {self._parquet(spec.name)})"
            " ORDER BY _seq"
        )
        table = spec.name.split("/", 1)[1]
        self._con.execute(f"CREATE INDEX {table}_id ON {sql_table(spec.name)} (id)")

    def _load_child(self, child: ChildTable) -> None:
        columns = ", ".join(f"c.{quote(column)}" for column in SCHEMAS[child.name])
        order = ", ".join(f"c.{part.strip()}" for part in child.order_by.split(","))
        self._con.execute(
            f"CREATE TABLE {sql_table(child.name)} AS SELECT {columns}, p._seq AS _pseq,"
            f" (row_number() OVER (PARTITION BY c.{quote(child.parent_key)} ORDER BY {order}))"
            "::BIGINT AS _pos"
            f" FROM (SELECT {self._select_list(child.name)} FROM {self._parquet(child.name)}) c"
            f" LEFT JOIN {sql_table(child.parent)} p ON p.id = c.{quote(child.parent_key)}"
            " ORDER BY _pseq NULLS LAST, _pos"
        )

    def _load_revrec(self) -> None:
        self._con.execute(
            f"CREATE TABLE {sql_table(REVREC_SCHEDULES)} AS SELECT *,"
            " (row_number() OVER (ORDER BY updated_at NULLS FIRST, id) - 1)::BIGINT AS _rseq,"
            " (row_number() OVER (ORDER BY updated_at NULLS FIRST, id) - 1)::BIGINT AS _sidx"
            f" FROM (SELECT {self._select_list(REVREC_SCHEDULES)}"
            f" FROM {self._parquet(REVREC_SCHEDULES)}) ORDER BY _rseq"
        )
        columns = ", ".join(f"l.{quote(column)}" for column in SCHEMAS[REVREC_LINES])
        self._con.execute(
            f"CREATE TABLE {sql_table(REVREC_LINES)} AS SELECT {columns}, s._sidx AS _sidx"
            f" FROM (SELECT {self._select_list(REVREC_LINES)} FROM {self._parquet(REVREC_LINES)}) l"
            f" LEFT JOIN {sql_table(REVREC_SCHEDULES)} s ON s.id = l.schedule_id"
            " ORDER BY _sidx NULLS LAST, l.line_number"
        )

    def _load_support(self) -> None:
        present = (self.data_dir / "support").is_dir()
        for name in SUPPORT_TABLES:
            if present:  # a support folder must hold every support table (like any system)
                source = f"SELECT {self._select_list(name)} FROM {self._parquet(name)}"
            else:  # a company from before the support platform: empty lists
                columns = ", ".join(f"CAST(NULL AS {duck_type(dtype)}) AS {quote(column)}"
                                    for column, dtype in SCHEMAS[name].items())
                source = f"SELECT {columns} LIMIT 0"
            self._con.execute(f"CREATE TABLE {sql_table(name)} AS SELECT * FROM ({source})"
                              " ORDER BY updated_at NULLS FIRST, id")

    # ---- use ----------------------------------------------------------------------------------
    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new connection to the shared database, for one request thread."""
        return self._con.cursor()

    def close(self) -> None:
        """Close the database; idempotent."""
        if not self._closed:
            self._closed = True
            self._con.close()
