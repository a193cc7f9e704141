"""Period sign-off (``tieout close``): who closed which period, when, on what figures.

A period cannot be signed off while material exceptions of it are still open or under
investigation, unless the closer overrides with a reason; either way the sign-off, the
figures at that moment and any override are recorded once and never changed.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb

from tieout.errors import InputError

from .queries import Filters, list_review
from .status import ACTIVE


class CloseRefused(InputError):
    """Material exceptions remain open for the period and no override was given."""

    def __init__(self, period: str, blocking: list[dict[str, Any]]) -> None:
        self.period = period
        self.blocking = blocking
        super().__init__(f"period {period} has {len(blocking)} material exception(s) still "
                         "open or investigating; resolve or waive them, or close with "
                         "--override --reason")


@dataclass(frozen=True)
class SignOff:
    """A recorded close."""

    period: str
    closed_at: dt.datetime
    closed_by: str
    figures: dict[str, Any]
    material_open: int
    override: bool
    override_reason: str | None


def period_figures(con: duckdb.DuckDBPyConnection, period: str) -> dict[str, Any]:
    """Counts and amounts of the period's exceptions by status (amounts as strings)."""
    rows = list_review(con, Filters(period=period))
    by_status: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = by_status.setdefault(row["status"], {"count": 0, "amount_reporting": "0"})
        entry["count"] += 1
        entry["amount_reporting"] = str(Decimal(entry["amount_reporting"])
                                        + abs(row["difference_reporting"] or Decimal(0)))
    material_active = [r for r in rows if r["is_material"] and r["status"] in ACTIVE]
    return {"period": period, "exceptions": len(rows), "by_status": by_status,
            "material_open": len(material_active)}


def blocking_exceptions(con: duckdb.DuckDBPyConnection, period: str) -> list[dict[str, Any]]:
    """Material exceptions of the period that are open or investigating, largest first."""
    from .queries import Sort

    return [r for r in list_review(con, Filters(period=period), sort=Sort.amount)
            if r["is_material"] and r["status"] in ACTIVE]


def get_close(con: duckdb.DuckDBPyConnection, period: str) -> SignOff | None:
    """The recorded sign-off of a period, or None."""
    rows = con.execute("SELECT period, closed_at, closed_by, figures, material_open, "
                       "override, override_reason FROM ops.period_closes WHERE period = ?",
                       [period]).fetchall()
    if not rows:
        return None
    p, at, by, figures, material, override, reason = rows[0]
    return SignOff(p, at, by, json.loads(figures), int(material), bool(override), reason)


def close_period(con: duckdb.DuckDBPyConnection, period: str, actor: str, *,
                 override: bool = False, reason: str | None = None,
                 now: dt.datetime | None = None) -> SignOff:
    """Record the sign-off of ``period``, or refuse (``CloseRefused``) while material
    exceptions remain active and there is no override with a reason."""
    if not actor.strip():
        raise InputError("the actor is empty: set --actor or TIEOUT_USER")
    if override and not (reason or "").strip():
        raise InputError("--override needs --reason: say why the period closes with "
                         "material exceptions open")
    if not has_been_reconciled(con):
        raise InputError("no reconciliation run has recorded exceptions in this warehouse "
                         "yet: run `tieout run` first")
    now = now or dt.datetime.now(dt.UTC)
    con.execute("BEGIN TRANSACTION")
    try:
        existing = get_close(con, period)
        if existing is not None:
            raise InputError(f"period {period} was already closed by {existing.closed_by} "
                             f"at {existing.closed_at:%Y-%m-%d %H:%M UTC}")
        blocking = blocking_exceptions(con, period)
        if blocking and not override:
            raise CloseRefused(period, blocking)
        figures = period_figures(con, period)
        con.execute("INSERT INTO ops.period_closes VALUES (?, ?, ?, ?, ?, ?, ?, NULL)",
                    [period, now, actor, json.dumps(figures, sort_keys=True), len(blocking),
                     bool(blocking) and override,
                     (reason or "").strip() or None]).fetchall()
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    signoff = get_close(con, period)
    assert signoff is not None
    return signoff


def has_been_reconciled(con: duckdb.DuckDBPyConnection) -> bool:
    """True once any run has refreshed the review state (a clean period may have none)."""
    [(runs,)] = con.execute("SELECT count(*) FROM ops.exception_runs").fetchall()
    return bool(runs)


def default_close_period(as_of: dt.datetime | None, timezone: str) -> str:
    """The period a controller closes at ``as_of`` (default now): the month before the one
    ``as_of`` falls in, in the accounting time zone."""
    import zoneinfo

    moment = (as_of or dt.datetime.now(dt.UTC)).astimezone(zoneinfo.ZoneInfo(timezone))
    year, month = (moment.year, moment.month - 1) if moment.month > 1 else (moment.year - 1, 12)
    return f"{year:04d}-{month:02d}"
