"""Support connector: Zendesk-shaped organizations (entitlements) and service credits.

``GET /api/v2/organizations`` and ``GET /api/v2/service_credits`` page with Zendesk's cursor
pagination: ``page[size]`` (at most 100), then ``links.next`` while ``meta.has_more``. The
records are ordered by (``updated_at``, ``id``) and the cursor is the last record's key, not a
position, so - as with billing's ``starting_after`` - a record that changes while we page
moves behind the cursor and is read again in its new version, and nothing unchanged can slide
across a page boundary: no catch-up pass is needed (revrec's page numbers need one).

Incremental runs send ``updated_since`` (ISO 8601, inclusive) = the stored watermark, which
``tieout.extract.api`` takes from the clock before the group started, minus the source's
``overlap_seconds``, like every API source.

What the connector does beyond following links:

- The record the cursor named may be repeated at the top of the next page (a retry at the
  source, the sandbox's ``duplicate`` fault): an exact repeat of the previous page's last
  record (same ``id`` and ``updated_at``) is dropped and counted in
  ``stats.duplicates_suppressed``. A repeat in a newer version is a change and is kept;
  landing keeps the newest version per id.
- A record older than ``updated_since`` means the API ignored the filter: the extraction
  fails rather than land a window it did not ask for.
- Organizations carry the entitlement in ``organization_fields`` (Zendesk's custom fields);
  those are lifted to the contract's columns, and ``covered_products`` (a multiselect field:
  a list of product ids) is joined with "," as the contract holds it. Everything else stays
  loose for the gate: a malformed value quarantines its record, never the page.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar

from tieout.connectors.base import Connector, iso_z, parse_timestamp
from tieout.extract.batch import Batch, loose_text

MAX_PAGE_SIZE = 100  # Zendesk's cursor pagination limit
ORGANIZATIONS = "support/organizations"
SERVICE_CREDITS = "support/service_credits"
ENTITLEMENT_FIELDS = ("support_tier", "sla_policy", "covered_products", "entitlement_status",
                      "valid_from", "valid_to")
_RESOURCES = {  # group -> (path, key of the records list in the answer)
    ORGANIZATIONS: ("/api/v2/organizations", "organizations"),
    SERVICE_CREDITS: ("/api/v2/service_credits", "service_credits"),
}


def flatten_organization(record: dict[str, Any]) -> dict[str, Any]:
    """A Zendesk organization as one flat contract record (entitlement fields lifted)."""
    flat = {key: value for key, value in record.items() if key != "organization_fields"}
    fields = record.get("organization_fields")
    for name in ENTITLEMENT_FIELDS:
        flat[name] = fields.get(name) if isinstance(fields, dict) else None
    products = flat["covered_products"]
    if isinstance(products, list):
        flat["covered_products"] = ",".join(loose_text(p) or "" for p in products)
    return flat


class SupportConnector(Connector):
    """Zendesk-shaped support platform; one group per list endpoint (see module docstring)."""

    system: ClassVar[str] = "support"
    groups: ClassVar[dict[str, tuple[str, ...]]] = {group: (group,) for group in _RESOURCES}
    max_page_size: ClassVar[int] = MAX_PAGE_SIZE

    def _extract(self, group: str, since: datetime | None) -> Iterator[Batch]:
        path, key = _RESOURCES[group]
        params: dict[str, Any] = {"page[size]": self.page_size}
        if since is not None:
            params["updated_since"] = iso_z(since)
        boundary: tuple[object, object] | None = None  # (id, updated_at) the cursor named
        page = 0
        while True:
            page += 1
            body = self.client.get_json(path, params)
            records, has_more, next_link = self._page(path, key, body)
            fresh = [r for r in records if (r.get("id"), r.get("updated_at")) != boundary]
            self.client.count_duplicates(len(records) - len(fresh))
            self._check_window(path, fresh, since)
            if group == ORGANIZATIONS:
                fresh = [flatten_organization(r) for r in fresh]
            window = iso_z(since) if since is not None else "start"
            yield self._batch(group, fresh, f"GET {path} page {page} (updated_since {window})")
            if not has_more:
                return
            if not records or not next_link:
                raise self.client.error("GET", path, "meta.has_more is true but the page "
                                        "has no records or no links.next")
            boundary = (records[-1].get("id"), records[-1].get("updated_at"))
            path, params = self.client.relative(next_link)

    def _page(self, path: str, key: str,
              body: dict[str, Any]) -> tuple[list[dict[str, Any]], bool, str | None]:
        """(records, has_more, next link) of one answer, or a ``SourceError`` naming what is
        missing from it."""
        records = body.get(key)
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise self.client.error("GET", path, f"the answer has no {key} list of objects")
        meta, links = body.get("meta"), body.get("links")
        has_more = meta.get("has_more") if isinstance(meta, dict) else None
        if not isinstance(has_more, bool):
            raise self.client.error("GET", path, "the answer has no meta.has_more flag")
        link = links.get("next") if isinstance(links, dict) else None
        return records, has_more, str(link) if link else None

    def _check_window(self, path: str, records: list[dict[str, Any]],
                      since: datetime | None) -> None:
        """Refuse records changed before ``since``: the API did not filter as asked."""
        if since is None:
            return
        for record in records:
            stamp = parse_timestamp(record.get("updated_at"))
            if stamp is not None and stamp < since:
                raise self.client.error("GET", path, f"record {record.get('id')} was updated "
                                        f"before updated_since; the API does not filter by it")
