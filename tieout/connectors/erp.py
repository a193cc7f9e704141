"""ERP connector: NetSuite SuiteQL, paged by key.

SuiteQL (``POST /services/rest/query/v1/suiteql?limit=&offset=`` with ``{"q": ...}``) caps a
query at 100,000 results however it is paged, and offset paging over a table that changes
while we read it repeats or skips rows. So every table is read by key: each request is
``... WHERE id > :last ORDER BY id`` with ``offset=0`` and ``limit`` rows, and the next
request starts after the last id received. Every request is a fresh, short query - no result
cap, no drift, and a retried page is simply asked for again.

Columns are listed explicitly (the contract's, from ``seeds.tables.SCHEMAS``) rather than
``SELECT *``: real NetSuite returns dozens of extra columns and the contract is what landing
expects. Values arrive as strings (``"T"``/``"F"``, plain decimals, ``YYYY-MM-DD[ HH:MM:SS]``)
and NULL columns are left out of an item; ``loose_frame`` turns both into contract columns.

Incremental (``since`` given): ``transaction`` and ``customer`` filter on
``lastmodifieddate >= TO_TIMESTAMP(...)``; ``transactionline`` takes lines whose
``linelastmodifieddate`` is at/after the watermark *or* whose transaction's
``lastmodifieddate`` is (editing a transaction header does not always touch its lines, and
the lines are what the reconciliation sums); the small reference tables (subsidiary, currency,
account, accountingperiod) are always read in full - they have no reliable change date
(closing a period is exactly the change we must not miss) and are a few hundred rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar

from seeds.tables import SCHEMAS
from tieout.connectors.base import Connector
from tieout.extract.batch import Batch

SUITEQL_PATH = "/services/rest/query/v1/suiteql"
MAX_PAGE_SIZE = 1000  # SuiteQL's limit
_TS_FORMAT = "YYYY-MM-DD HH24:MI:SS"
_REFERENCE = ("subsidiary", "currency", "account", "accountingperiod")
_INCREMENTAL = ("customer", "transaction", "transactionline")
_ALIASES = {"transaction": "t", "transactionline": "tl", "customer": "c",
            "subsidiary": "s", "currency": "cur", "account": "a", "accountingperiod": "p"}


def _timestamp(since: datetime) -> str:
    """A SuiteQL timestamp expression for ``since`` (aware UTC), floored to the second."""
    text = since.strftime("%Y-%m-%d %H:%M:%S")
    return f"TO_TIMESTAMP('{text}', '{_TS_FORMAT}')"


def page_query(table: str, after_id: int | None, since: datetime | None) -> str:
    """The SuiteQL for one key-ordered page of ``table`` (ids after ``after_id``)."""
    alias = _ALIASES[table]
    columns = ", ".join(f"{alias}.{column}" for column in SCHEMAS[f"erp/{table}"])
    conditions: list[str] = []
    if after_id is not None:
        conditions.append(f"{alias}.id > {int(after_id)}")
    if since is not None and table in _INCREMENTAL:
        stamp = _timestamp(since)
        if table == "transactionline":
            conditions.append(
                f"({alias}.linelastmodifieddate >= {stamp} OR {alias}.transaction IN "
                f"(SELECT t.id FROM transaction t WHERE t.lastmodifieddate >= {stamp}))"
            )
        else:
            conditions.append(f"{alias}.lastmodifieddate >= {stamp}")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"SELECT {columns} FROM {table} {alias}{where} ORDER BY {alias}.id"


class ErpConnector(Connector):
    """NetSuite-shaped ERP via SuiteQL; one group per ERP table (see module docstring)."""

    system: ClassVar[str] = "erp"
    groups: ClassVar[dict[str, tuple[str, ...]]] = {
        f"erp/{table}": (f"erp/{table}",) for table in (*_REFERENCE, *_INCREMENTAL)
    }
    max_page_size: ClassVar[int] = MAX_PAGE_SIZE

    def _extract(self, group: str, since: datetime | None) -> Iterator[Batch]:
        table = group.split("/", 1)[1]
        after: int | None = None
        page = 0
        while True:
            page += 1
            body = self.client.post_json(
                SUITEQL_PATH, {"limit": self.page_size, "offset": 0},
                {"q": page_query(table, after, since)},
            )
            items = body.get("items")
            if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
                raise self.client.error("POST", SUITEQL_PATH, f"{table}: the answer has no "
                                        "items list")
            records = self._after(table, items, after)
            origin = f"POST {SUITEQL_PATH} {table} page {page} (id > {after or 0})"
            yield self._batch(group, records, origin)
            if not body.get("hasMore"):
                return
            if not records:
                raise self.client.error("POST", SUITEQL_PATH, f"{table}: hasMore is true on a "
                                        "page with no new ids")
            after = max(int(record["id"]) for record in records)

    def _after(self, table: str, items: list[dict[str, Any]],
               after: int | None) -> list[dict[str, Any]]:
        """Items with an integer id above ``after`` (anything else repeated is dropped)."""
        records = []
        for item in items:
            try:
                item_id = int(item["id"])
            except (KeyError, TypeError, ValueError):
                raise self.client.error("POST", SUITEQL_PATH,
                                        f"{table}: an item has no integer id") from None
            if after is None or item_id > after:
                records.append(item)
        self.client.count_duplicates(len(items) - len(records))
        return records
