"""The dbt ``--vars`` of a run, derived from ``tieout.toml`` in one place.

The dbt models never hard-code a time zone, a tolerance or "now": the Dagster assets, the
tests and the benchmark all pass these, so one configuration drives every rule.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from tieout.config import TieoutConfig
from tieout.money import CURRENCY_EXPONENTS, to_major

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"


def snapshot_time(cfg: TieoutConfig, now: dt.datetime | None = None) -> dt.datetime:
    """The moment timing rules measure against: the configured ``as_of`` or the wall clock."""
    if cfg.as_of is not None:
        return cfg.as_of.astimezone(dt.UTC)
    return (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC).replace(microsecond=0)


def dbt_vars(cfg: TieoutConfig, now: dt.datetime | None = None) -> dict[str, Any]:
    """Vars for ``dbt build``: periods, tolerances, grace period and snapshot time."""
    rec = cfg.reconciliation
    tolerance = {ccy: str(rec.absolute_tolerance.get(ccy, to_major(1, ccy)))
                 for ccy in sorted(CURRENCY_EXPONENTS)}
    return {
        "accounting_timezone": cfg.accounting_timezone,
        "reporting_currency": cfg.reporting_currency,
        "currency_exponents": dict(sorted(CURRENCY_EXPONENTS.items())),
        "as_of": snapshot_time(cfg, now).strftime("%Y-%m-%d %H:%M:%S+00:00"),
        "grace_hours": rec.grace_hours,
        "late_hours": rec.late_hours,
        "relative_tolerance": str(rec.relative_tolerance),
        "absolute_tolerance": tolerance,
        "materiality": str(rec.materiality),
        "journal_window_minutes": cfg.journal.window_minutes,
        "support_past_due_days": rec.support_past_due_days,
        "service_credit_grace_days": rec.service_credit_grace_days,
    }


def dbt_vars_arg(cfg: TieoutConfig, now: dt.datetime | None = None) -> str:
    """The vars as the JSON text dbt's ``--vars`` option takes."""
    return json.dumps(dbt_vars(cfg, now), sort_keys=True)

