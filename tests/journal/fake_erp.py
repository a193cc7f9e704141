"""An in-process ERP with the ``JournalApi`` interface and seeded faults, for property tests.

It behaves like the sandbox on the points exactly-once depends on: a duplicate externalId is
refused, a look-up finds what was committed, and a fault either happens before the commit
(429/503: nothing stored) or after it (lost answer: stored, but the caller hears nothing).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from tieout.journal.erp_api import ErpReference, Period, PostOutcome

ACCOUNTS = {"1150": 3, "4100": 7}
CURRENCIES = {"USD": 1, "EUR": 2, "GBP": 3, "JPY": 4}


def periods(closed_through: str = "2025-12") -> tuple[Period, ...]:
    """Monthly periods 2025-01 .. 2026-03, closed up to ``closed_through``."""
    out = []
    for index in range(15):
        year, month = 2025 + index // 12, index % 12 + 1
        start = dt.date(year, month, 1)
        end = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1))
        out.append(Period(erp_id=100 + index, name=start.strftime("%b %Y"), start=start,
                          end=end, closed=start.strftime("%Y-%m") <= closed_through))
    return tuple(out)


class FakeErp:
    """Stores entries by externalId; ``fault_rate`` of POSTs fail in one of three ways."""

    def __init__(self, seed: int = 0, fault_rate: float = 0.0) -> None:
        self.random = random.Random(seed)
        self.fault_rate = fault_rate
        self.entries: dict[str, dict[str, Any]] = {}
        self.creates: list[str] = []  # every externalId ever stored, in order
        self.faults: dict[str, int] = {"before_commit": 0, "after_commit": 0, "rejected": 0}

    def reference(self) -> ErpReference:
        return ErpReference(CURRENCIES, ACCOUNTS, periods())

    def post(self, body: dict[str, Any]) -> PostOutcome:
        fault = self.random.random() < self.fault_rate
        kind = self.random.choice(("before_commit", "after_commit")) if fault else None
        if kind == "before_commit":
            self.faults[kind] += 1
            return PostOutcome("retryable", 503, "HTTP 503 (fake)")
        external_id = body["externalId"]
        if external_id in self.entries:
            return PostOutcome("duplicate", 400, f"DUP_RCRD {external_id}")
        debits = sum(Decimal(i.get("debit", "0")) for i in body["line"]["items"])
        credits = sum(Decimal(i.get("credit", "0")) for i in body["line"]["items"])
        if debits != credits:
            self.faults["rejected"] += 1
            return PostOutcome("rejected", 400, "out of balance")
        self.entries[external_id] = {**body, "id": str(len(self.creates) + 1)}
        self.creates.append(external_id)
        if kind == "after_commit":
            self.faults[kind] += 1
            return PostOutcome("unknown", None, "connection dropped (fake)")
        return PostOutcome("created", 204)

    def lookup(self, external_id: str) -> dict[str, Any] | None:
        entry = self.entries.get(external_id)
        if entry is None:
            return None
        return {"id": entry["id"], "externalId": external_id, "memo": entry.get("memo"),
                "postingPeriod": entry["postingPeriod"]}

    def close(self) -> None:
        """Nothing to close."""

    def revenue_minor(self, exponent: int = 2) -> dict[tuple[int, str], int]:
        """Net credits to usage revenue (account 4100) per (currency id, account) in minor."""
        out: dict[tuple[int, str], int] = {}
        for entry in self.entries.values():
            currency = int(entry["currency"]["id"])
            for item in entry["line"]["items"]:
                if item["account"]["id"] != str(ACCOUNTS["4100"]):
                    continue
                amount = Decimal(item.get("credit", "0")) - Decimal(item.get("debit", "0"))
                key = (currency, "4100")
                out[key] = out.get(key, 0) + int(amount.scaleb(exponent))
        return out
