"""The ERP's journal entry record API, as the poster needs it: post once, look up, reference.

Two clients on purpose. The POST client makes exactly one attempt per call: whether and when
to try again is the poster's decision, because a lost response may mean the entry *was*
committed, and only a look-up by ``externalId`` may tell (never a second POST). Look-ups and
the SuiteQL reference reads are idempotent, so they use the usual retrying client.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from tieout.connectors.erp import SUITEQL_PATH
from tieout.connectors.factory import auth_headers
from tieout.connectors.http import HttpClient, SourceError
from tieout.failpoints import failpoint

RECORD_PATH = "/services/rest/record/v1/journalentry"


@dataclass(frozen=True)
class PostOutcome:
    """What one POST attempt came to.

    ``kind``: ``created`` (2xx), ``duplicate`` (the ERP already holds this externalId),
    ``retryable`` (429/5xx: nothing was committed), ``unknown`` (no answer: timeout, dropped
    connection, truncated body - it may have been committed) or ``rejected`` (any other 4xx:
    trying again cannot help).
    """

    kind: str
    status: int | None
    error: str | None = None
    erp_id: int | None = None  # the new entry's internal id, when the answer says it


@dataclass(frozen=True)
class Period:
    """An ERP accounting period (months only; quarters, years and adjustments are skipped)."""

    erp_id: int
    name: str
    start: dt.date
    end: dt.date
    closed: bool

    @property
    def key(self) -> str:
        """'YYYY-MM', how tieout names a period."""
        return self.start.strftime("%Y-%m")


@dataclass(frozen=True)
class ErpReference:
    """ERP internal ids the journal body needs, read live at the start of a posting run."""

    currencies: dict[str, int]
    accounts: dict[str, int]
    periods: tuple[Period, ...]


class JournalApi:
    """Journal entries in a NetSuite-shaped ERP at ``base_url`` with ``token``."""

    def __init__(self, base_url: str, token: str, **client_options: Any) -> None:
        headers = auth_headers("erp", token)
        self.post_client = HttpClient("erp", base_url, headers,
                                      **{**client_options, "max_attempts": 1})
        self.read_client = HttpClient("erp", base_url, headers, **client_options)

    def close(self) -> None:
        """Close both sessions."""
        self.post_client.close()
        self.read_client.close()

    def post(self, body: dict[str, Any]) -> PostOutcome:
        """One POST attempt of a journal entry body (``erp_id`` from the answer's Location)."""
        failpoint("journal.post.before_request")
        try:
            answer = self.post_client.post_json(RECORD_PATH, None, body)
        except SourceError as exc:
            message = str(exc)
            if exc.status is None or (200 <= exc.status < 300):
                return PostOutcome("unknown", exc.status, message)
            if exc.status == 400 and "DUP_RCRD" in message:
                return PostOutcome("duplicate", exc.status, message)
            if exc.status in (429, 500, 502, 503, 504):
                return PostOutcome("retryable", exc.status, message)
            return PostOutcome("rejected", exc.status, message)
        location = str(answer.get("Location") or answer.get("id") or "")
        tail = location.rstrip("/").rsplit("/", 1)[-1]
        failpoint("journal.post.after_erp_commit")
        return PostOutcome("created", 204, erp_id=int(tail) if tail.isdigit() else None)

    def lookup(self, external_id: str) -> dict[str, Any] | None:
        """The journal entry carrying ``external_id``, or None when the ERP has none."""
        path = f"{RECORD_PATH}/{quote('eid:' + external_id, safe=':')}"
        try:
            return self.read_client.get_json(path)
        except SourceError as exc:
            if exc.status == 404:
                return None
            raise

    def reference(self) -> ErpReference:
        """Currencies, accounts and month periods, read in full (a few hundred rows)."""
        currencies = {str(row["symbol"]).upper(): int(row["id"])
                      for row in self._query("SELECT id, symbol FROM currency")}
        accounts = {str(row["acctnumber"]): int(row["id"])
                    for row in self._query("SELECT id, acctnumber FROM account")}
        periods = []
        for row in self._query("SELECT id, periodname, startdate, enddate, closed, isquarter,"
                               " isyear, isadjust FROM accountingperiod"):
            if "T" in (row.get("isquarter"), row.get("isyear"), row.get("isadjust")):
                continue
            periods.append(Period(
                erp_id=int(row["id"]), name=str(row.get("periodname")),
                start=dt.date.fromisoformat(str(row["startdate"])[:10]),
                end=dt.date.fromisoformat(str(row["enddate"])[:10]),
                closed=row.get("closed") == "T"))
        return ErpReference(currencies, accounts, tuple(sorted(periods, key=lambda p: p.start)))

    def _query(self, sql: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            body = self.read_client.post_json(SUITEQL_PATH, {"limit": 1000, "offset": offset},
                                              {"q": sql})
            items = body.get("items") or []
            rows.extend(item for item in items if isinstance(item, dict))
            if not body.get("hasMore") or not items:
                return rows
            offset += len(items)
