"""API connectors: billing (Stripe-shaped), ERP (NetSuite SuiteQL), revrec (plain REST),
support (Zendesk-shaped).

Every connector has the same shape, so the extract step drives them alike:

- ``connect(system, base_url, token, *, page_size=None, **client_options) -> Connector``
  builds the right auth headers and an ``HttpClient`` (retries, timeouts, stats, scrubbed
  errors - see ``http``).
- ``connector.system``: "billing" | "erp" | "revrec" | "support";
  ``connector.client.stats``: requests, retries, errors by status, pages, records, latency
  samples (``ClientStats``).
- ``connector.groups``: table group -> contract tables one ``extract`` call yields. A group is
  named after its parent contract table and also yields the child tables embedded in it
  ("billing/invoices" -> invoices and invoice_lines; "revrec/revenue_schedules" -> schedules
  and schedule lines; every ERP table and each support list is its own group).
- ``connector.tables``: every contract table the connector yields.
- ``connector.extract(table_group, since=None) -> Iterator[Batch]``: lazy, one ``Batch`` per
  page per table, frames built with ``loose_frame`` (every contract column, values as
  strings). ``since`` is an inclusive ``datetime`` watermark (naive = UTC); None reads
  everything. ``extract_all(since)`` runs every group.
- Failures are ``SourceError`` (a ``TieoutError``): one line naming the system, the HTTP status
  or connection problem, method, path and the server's message - never a token.

Batches may repeat a record (sources repeat records across pages; the revrec catch-up re-reads
recently changed schedules): landing upserts by ``seeds.tables.KEYS``. Obvious repeats (the
record a cursor named, re-read frontier ties) are dropped here and counted in
``stats.duplicates_suppressed``. Store ``next_watermark(started_at)`` after a successful run,
with ``started_at`` taken before extraction began (see ``base``).
"""

from tieout.connectors.base import WATERMARK_OVERLAP, Connector, as_utc, next_watermark
from tieout.connectors.billing import BillingConnector
from tieout.connectors.erp import ErpConnector
from tieout.connectors.factory import CONNECTORS, auth_headers, connect
from tieout.connectors.http import ClientStats, HttpClient, SourceError, parse_retry_after
from tieout.connectors.revrec import RevrecConnector
from tieout.connectors.support import SupportConnector

__all__ = [
    "CONNECTORS",
    "WATERMARK_OVERLAP",
    "BillingConnector",
    "ClientStats",
    "Connector",
    "ErpConnector",
    "HttpClient",
    "RevrecConnector",
    "SourceError",
    "SupportConnector",
    "as_utc",
    "auth_headers",
    "connect",
    "next_watermark",
    "parse_retry_after",
]
