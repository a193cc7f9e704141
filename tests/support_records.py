"""Hand-built support platform records (organizations, service credits) for the tests.

Written through ``seeds.tables.conform`` so they follow the contract exactly like the
generator's output, small and with the awkward cases on purpose: runs of records sharing one
``updated_at`` (the cursor must fall back to ``id``), open-ended entitlements (no ``valid_to``),
an organization without ``external_id`` (not linked to billing), one covering no product
(``""``), JPY credits without decimals, credits with and without a credit note.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

from seeds.tables import conform

ORG_BASE = 360_000_000
CREDIT_BASE = 48_000_000
TIERS = ("standard", "premium", "enterprise")
SLA = {"standard": "standard_24h", "premium": "premium_4h", "enterprise": "enterprise_1h"}
START = dt.datetime(2025, 3, 1, 9, 0, tzinfo=dt.UTC)


def organizations(count: int = 60) -> pl.DataFrame:
    """``count`` organizations; ``updated_at`` ties in fives, newest last."""
    rows = []
    for i in range(count):
        tier = TIERS[i % 3]
        valid_from = dt.date(2025, 1 + i % 12, 1 + i % 27)
        rows.append({
            "id": ORG_BASE + i, "name": f"Customer {i}",
            "external_id": None if i == 7 else f"cus_{i:05d}",
            "support_tier": tier, "sla_policy": SLA[tier],
            "covered_products": "" if i == 11 else ("prod_core,prod_api" if i % 2 else
                                                    "prod_pro"),
            "entitlement_status": "suspended" if i % 13 == 5 else "active",
            "valid_from": valid_from,
            "valid_to": None if i % 4 == 0 else valid_from + dt.timedelta(days=364),
            "created_at": START + dt.timedelta(hours=i),
            "updated_at": START + dt.timedelta(days=1 + i // 5, microseconds=i % 2 * 250_000),
        })
    return conform("support/organizations", pl.DataFrame(rows))


def service_credits(count: int = 45, organizations: int = 60) -> pl.DataFrame:
    """``count`` service credits; ``updated_at`` ties in threes."""
    rows = []
    for i in range(count):
        currency = ("USD", "EUR", "GBP", "JPY")[i % 4]
        amount = f"{5000 + i * 100}" if currency == "JPY" else f"{50 + i}.{i % 100:02d}"
        rows.append({
            "id": CREDIT_BASE + i, "organization_id": ORG_BASE + (i * 7) % organizations,
            "amount": amount, "currency": currency,
            "reason": "SLA breach: first response time",
            "promised_date": dt.date(2025, 6, 1) + dt.timedelta(days=i),
            "credit_note_id": f"cn_{i:05d}" if i % 3 else None,
            "status": "applied" if i % 3 else "promised",
            "created_at": START + dt.timedelta(days=i),
            "updated_at": START + dt.timedelta(days=30 + i // 3),
        })
    return conform("support/service_credits", pl.DataFrame(rows))


def write_support(root: Path, *, organization_count: int = 60,
                  credit_count: int = 45) -> Path:
    """Write both support tables under ``root/support``; returns ``root``."""
    folder = root / "support"
    folder.mkdir(parents=True, exist_ok=True)
    organizations(organization_count).write_parquet(folder / "organizations.parquet")
    service_credits(credit_count, organization_count).write_parquet(
        folder / "service_credits.parquet")
    return root
