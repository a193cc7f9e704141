"""Billing connector: Stripe-shaped list objects, cursor paging, embedded child lists.

Stripe lists answer ``{"object": "list", "data", "has_more", "url"}`` newest first; the next
page is asked for with ``starting_after=<last id>``. A cursor names a record, not a position,
so records created or changed while we page cannot shift a page boundary (unlike offsets):
this is why billing needs no catch-up pass. Two things still need care:

- Embedded lists are capped: an invoice (or credit note) carries at most a few ``lines`` with
  ``has_more`` and the ``url`` of the full list; when ``has_more`` is set the rest is read from
  that URL with its own ``starting_after`` cursor. Subscription ``items`` are followed the
  same way if a source ever caps them.
- A page may repeat the record the cursor named (retries at the source, the sandbox's
  ``duplicate`` fault); that one record is dropped here and counted in
  ``stats.duplicates_suppressed``. Anything else repeated is left to landing's upsert by key.

Incremental runs filter on ``updated[gte]`` (epoch seconds, the sandbox's extension of
Stripe's ``created`` filters; a record's ``updated`` moves whenever it changes), so a changed
invoice is re-read with all its lines. Children are only reachable through their parent, so a
group yields the parent table and its child table, one batch per page of each.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from tieout.connectors.base import Connector
from tieout.extract.batch import Batch

MAX_PAGE_SIZE = 100  # Stripe's limit


@dataclass(frozen=True)
class _Resource:
    path: str
    embed_key: str | None = None      # key of the embedded child list
    child_table: str | None = None
    parent_column: str | None = None  # child column holding the parent's id


_RESOURCES: dict[str, _Resource] = {
    "billing/products": _Resource("/v1/products"),
    "billing/prices": _Resource("/v1/prices"),
    "billing/customers": _Resource("/v1/customers"),
    "billing/subscriptions": _Resource(
        "/v1/subscriptions", "items", "billing/subscription_items", "subscription"),
    "billing/invoices": _Resource("/v1/invoices", "lines", "billing/invoice_lines", "invoice"),
    "billing/credit_notes": _Resource(
        "/v1/credit_notes", "lines", "billing/credit_note_lines", "credit_note"),
}


class BillingConnector(Connector):
    """Stripe-shaped billing API; groups are the six list endpoints (see module docstring)."""

    system: ClassVar[str] = "billing"
    groups: ClassVar[dict[str, tuple[str, ...]]] = {
        group: (group,) if spec.child_table is None else (group, spec.child_table)
        for group, spec in _RESOURCES.items()
    }
    max_page_size: ClassVar[int] = MAX_PAGE_SIZE

    def _extract(self, group: str, since: datetime | None) -> Iterator[Batch]:
        spec = _RESOURCES[group]
        params: dict[str, Any] = {"limit": self.page_size}
        if since is not None:
            params["updated[gte]"] = math.floor(since.timestamp())
        for page, records in enumerate(self._pages(spec.path, params), start=1):
            origin = f"GET {spec.path} page {page}"
            yield self._batch(group, records, origin)
            if spec.child_table is not None:
                yield from self._children(spec, records, origin)

    def _pages(self, path: str, params: dict[str, Any],
               cursor: str | None = None) -> Iterator[list[dict[str, Any]]]:
        """Records of each page of a list (after ``cursor``, if given), following
        ``starting_after`` until ``has_more`` ends; the repeated cursor record is dropped."""
        while True:
            query = dict(params)
            if cursor is not None:
                query["starting_after"] = cursor
            body = self.client.get_json(path, query)
            data = body.get("data")
            if not isinstance(data, list) or not all(
                isinstance(record, dict) and isinstance(record.get("id"), str)
                for record in data
            ):
                raise self.client.error("GET", path, "the answer is not a list object with"
                                        " records that have an id")
            records = [record for record in data if record["id"] != cursor]
            self.client.count_duplicates(len(data) - len(records))
            yield records
            if not body.get("has_more"):
                return
            if not data:
                raise self.client.error("GET", path, "has_more is true on an empty page")
            cursor = data[-1]["id"]

    def _children(self, spec: _Resource, parents: list[dict[str, Any]],
                  origin: str) -> Iterator[Batch]:
        """The embedded children of one page of parents, then the rest of any capped list."""
        assert spec.embed_key and spec.child_table and spec.parent_column
        children: list[dict[str, Any]] = []
        unfinished: list[tuple[str, str, str]] = []  # (parent id, list url, last child id)
        for parent in parents:
            embedded = parent.get(spec.embed_key)
            if embedded is None:
                continue
            data = embedded.get("data") if isinstance(embedded, dict) else None
            if not isinstance(data, list) or not all(isinstance(c, dict) for c in data):
                raise self.client.error("GET", spec.path, f"{parent['id']}: embedded "
                                        f"{spec.embed_key!r} is not a list object")
            for child in data:
                child.setdefault(spec.parent_column, parent["id"])
            children.extend(data)
            if embedded.get("has_more"):
                if not data or not isinstance(embedded.get("url"), str):
                    raise self.client.error("GET", spec.path, f"{parent['id']}: embedded "
                                            f"{spec.embed_key!r} has more but no url or cursor")
                unfinished.append((parent["id"], embedded["url"], str(data[-1]["id"])))
        if children:
            yield self._batch(spec.child_table, children, f"{origin} ({spec.embed_key})")
        for parent_id, url, last_id in unfinished:
            path, query = self.client.relative(url)
            query["limit"] = str(self.page_size)
            pages = self._pages(path, query, last_id)
            for page, records in enumerate(pages, start=1):
                if not records:
                    continue
                for child in records:
                    child.setdefault(spec.parent_column, parent_id)
                yield self._batch(spec.child_table, records, f"GET {path} page {page}")
