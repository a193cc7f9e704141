"""Which ERP period an entry posts to: its own month, or the next open one if that is closed.

Usage that arrives after the books of its month were closed must still reach the ledger, and
a closed period must never be reopened for it: the entry keeps its transaction date and is
posted to the first open month after it, and its memo and the ledger say so (DESIGN §7).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tieout.errors import TieoutError

from .erp_api import Period


@dataclass(frozen=True)
class PostingPeriod:
    """The period to post to, and the closed period it was rolled from (if any)."""

    period: Period
    rolled_from: Period | None


class NoOpenPeriod(TieoutError):
    """No open ERP period at or after the entry's date."""


def posting_period(periods: tuple[Period, ...], on: dt.date) -> PostingPeriod:
    """The period for an entry dated ``on`` (``periods`` sorted by start date)."""
    own = next((p for p in periods if p.start <= on <= p.end), None)
    if own is not None and not own.closed:
        return PostingPeriod(own, None)
    later = next((p for p in periods if not p.closed and p.start > on), None)
    if later is None:
        where = f"period {own.key} is closed" if own else "no ERP period contains it"
        raise NoOpenPeriod(f"no open ERP period for an entry dated {on.isoformat()} "
                           f"({where} and no later period is open)")
    return PostingPeriod(later, own)
