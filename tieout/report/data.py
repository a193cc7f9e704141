"""The figures of one period's close report, read from the warehouse into plain dataclasses.

Everything the report prints is gathered here, read-only, in one place, so the HTML (and any
later output) only formats: the counts and amounts per status are the review state's own
(``list_review``), the close status is ``tieout close``'s (``get_close``,
``blocking_exceptions``), and every amount stays a ``Decimal``.  Amounts in the reporting
currency are sums of *absolute* differences, like ``period_figures`` and
``ops.exception_runs``: a positive and a negative difference must not net to "nothing to see".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import duckdb

from tieout.config import TieoutConfig
from tieout.errors import InputError, TieoutError
from tieout.review.close import blocking_exceptions, get_close
from tieout.review.queries import AGEING_BUCKETS, Filters, Sort, ageing_bucket, list_review
from tieout.review.status import ACTIVE, Status
from tieout.rules import RULES
from tieout.warehouse.schema import relation_exists

from .operations import OperationsFigures, operations_figures
from .receivables import AgingFigures, aging_figures
from .support import SupportFigures, support_figures

JOURNAL_STATUSES = ("pending", "posted", "failed", "dead_letter")  # tieout.journal.ledger
ROLLFORWARD = "marts.fct_deferred_revenue_rollforward"
TOP_COUNT = 10
MAX_RUNS = 60  # the trend shows at most this many of the latest runs
_PERIOD = re.compile(r"(\d{4})-(\d{2})")
ZERO = Decimal(0)


def parse_period(text: str) -> str:
    """``YYYY-MM`` with a real month, or an ``InputError`` naming ``--period``.

    A typo such as ``2026-1`` or ``2026-13`` would otherwise produce a report of nothing
    that looks like a clean period.
    """
    value = text.strip()
    match = _PERIOD.fullmatch(value)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise InputError(f"--period {text!r}: not an accounting period; write YYYY-MM "
                         "(e.g. 2026-01)")
    return value


@dataclass(frozen=True)
class StatusFigure:
    """The period's exceptions in one review status."""

    status: str
    count: int
    amount: Decimal  # sum of |difference in reporting currency|


@dataclass(frozen=True)
class GroupFigure:
    """The period's exceptions of one rule or one entity, by status."""

    key: str
    counts: dict[str, int]  # status -> count, every status present
    amounts: dict[str, Decimal]  # status -> sum of |difference in reporting currency|
    material_open: int  # material and open or investigating

    @property
    def total(self) -> int:
        """Every exception of the group, whatever its status."""
        return sum(self.counts.values())

    @property
    def open(self) -> int:
        """Exceptions still asking for work (open or investigating)."""
        return sum(self.counts[s] for s in ACTIVE)

    @property
    def open_amount(self) -> Decimal:
        """What is still unexplained, in the reporting currency."""
        return sum((self.amounts[s] for s in ACTIVE), ZERO)


@dataclass(frozen=True)
class AgeingFigure:
    """Open and investigating exceptions whose age falls in one bucket."""

    bucket: str
    open: int
    investigating: int
    material: int
    amount: Decimal

    @property
    def count(self) -> int:
        """Every active exception of the bucket."""
        return self.open + self.investigating


@dataclass(frozen=True)
class RunFigure:
    """One run's totals over every rule (all periods): a point of the trend."""

    run_id: str
    synced_at: dt.datetime
    open_count: int
    material_count: int
    amount: Decimal
    new: int
    reopened: int
    auto_resolved: int


@dataclass(frozen=True)
class RollforwardRow:
    """One entity and currency of the deferred-revenue roll-forward (amounts in currency)."""

    entity: str
    currency: str
    is_closed: bool | None
    revrec_opening: Decimal | None
    revrec_bookings: Decimal | None
    revrec_recognised: Decimal | None
    revrec_closing: Decimal | None
    erp_opening: Decimal | None
    erp_movement: Decimal | None
    erp_closing: Decimal | None
    movement_difference: Decimal | None
    is_break: bool


@dataclass(frozen=True)
class TopException:
    """One of the period's largest exceptions, as a controller reads it."""

    exception_id: str
    rule: str
    natural_key: str
    entity: str | None
    currency: str | None
    reason: str | None
    status: str
    owner: str | None
    age_days: int
    is_material: bool
    difference: Decimal | None  # in the exception's currency
    difference_reporting: Decimal | None


@dataclass(frozen=True)
class JournalFigure:
    """Usage journal batch versions of the period in one status and currency."""

    status: str
    currency: str
    batches: int
    amount: Decimal  # net usage revenue, in ``currency``


@dataclass(frozen=True)
class DeadLetter:
    """A batch version that gave up posting: it needs ``tieout journal replay``."""

    batch_id: str
    batch_version: int
    external_id: str
    legal_entity: str
    currency: str
    window_start: dt.datetime
    amount: Decimal
    attempts: int
    last_error: str | None


@dataclass(frozen=True)
class CloseState:
    """Whether the period is signed off, and what blocks it if not."""

    closed: bool
    closed_by: str | None
    closed_at: dt.datetime | None
    override: bool
    override_reason: str | None
    material_open_at_close: int | None
    blocking: int  # material exceptions open or investigating now


@dataclass(frozen=True)
class ReportData:
    """Everything one close report shows."""

    company: str
    period: str
    generated_at: dt.datetime
    timezone: str
    reporting_currency: str
    close: CloseState
    by_status: tuple[StatusFigure, ...]  # every status, in Status order
    material_open: int
    unconverted: int  # exceptions with no amount in the reporting currency (counted as 0)
    by_rule: tuple[GroupFigure, ...]
    by_entity: tuple[GroupFigure, ...]
    ageing: tuple[AgeingFigure, ...]  # every bucket, in AGEING_BUCKETS order
    runs: tuple[RunFigure, ...]  # oldest first
    rollforward: tuple[RollforwardRow, ...] | None  # None: the mart is not built
    top: tuple[TopException, ...]
    journal: tuple[JournalFigure, ...]
    dead_letters: tuple[DeadLetter, ...]
    support: SupportFigures | None  # None: the support marts are not built
    aging: AgingFigures | None  # None: fct_ar_aging is not built
    operations: OperationsFigures | None  # None: the warehouse has no ops.run_metrics

    @property
    def total(self) -> int:
        """Every exception of the period."""
        return sum(f.count for f in self.by_status)

    def count(self, status: str) -> int:
        """How many of the period's exceptions are in ``status``."""
        return next((f.count for f in self.by_status if f.status == status), 0)

    @property
    def open_amount(self) -> Decimal:
        """Sum of |difference in reporting currency| of open and investigating exceptions."""
        return sum((f.amount for f in self.by_status if f.status in ACTIVE), ZERO)

    @property
    def breaks(self) -> int:
        """Roll-forward rows of the period that break."""
        return sum(1 for r in self.rollforward or () if r.is_break)


def gather(con: duckdb.DuckDBPyConnection, cfg: TieoutConfig, period: str,
           now: dt.datetime | None = None) -> ReportData:
    """Read every figure of ``period``'s close report (``con`` may be read-only).

    ``now`` is when the report is generated; exception ages count up to it.
    """
    period = parse_period(period)
    now = now or dt.datetime.now(dt.UTC)
    if not relation_exists(con, "ops.exception_review"):
        raise TieoutError("the warehouse has no review state yet: run `tieout run` first")
    rows = list_review(con, Filters(period=period), sort=Sort.amount, now=now)
    return ReportData(
        company=cfg.company_name, period=period, generated_at=now,
        timezone=cfg.accounting_timezone, reporting_currency=cfg.reporting_currency,
        close=_close_state(con, period),
        by_status=tuple(_by_status(rows)),
        material_open=sum(1 for r in rows if r["is_material"] and r["status"] in ACTIVE),
        unconverted=sum(1 for r in rows if r["difference_reporting"] is None),
        by_rule=tuple(_groups(rows, "rule", order=list(RULES))),
        by_entity=tuple(_groups(rows, "entity")),
        ageing=tuple(_ageing(rows)),
        runs=tuple(_runs(con)),
        rollforward=_rollforward(con, period),
        top=tuple(_top(rows[:TOP_COUNT])),
        journal=tuple(_journal(con, period)),
        dead_letters=tuple(_dead_letters(con, period)),
        support=support_figures(con),
        aging=aging_figures(con),
        operations=operations_figures(con),
    )



def _amount(row: dict[str, Any]) -> Decimal:
    value = row["difference_reporting"]
    return abs(value) if value is not None else ZERO


def _by_status(rows: Iterable[dict[str, Any]]) -> list[StatusFigure]:
    counts = {s.value: 0 for s in Status}
    amounts = {s.value: ZERO for s in Status}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
        amounts[row["status"]] = amounts.get(row["status"], ZERO) + _amount(row)
    return [StatusFigure(s, counts[s], amounts[s]) for s in counts]


def _groups(rows: Sequence[dict[str, Any]], column: str,
            order: Sequence[str] | None = None) -> list[GroupFigure]:
    """One figure per value of ``column``; in ``order`` if given, else largest open first."""
    counts: dict[str, dict[str, int]] = {}
    amounts: dict[str, dict[str, Decimal]] = {}
    material: dict[str, int] = {}
    for row in rows:
        key = row[column] if row[column] is not None else "(none)"
        if key not in counts:
            counts[key] = {s.value: 0 for s in Status}
            amounts[key] = {s.value: ZERO for s in Status}
            material[key] = 0
        counts[key][row["status"]] = counts[key].get(row["status"], 0) + 1
        amounts[key][row["status"]] = amounts[key].get(row["status"], ZERO) + _amount(row)
        material[key] += bool(row["is_material"] and row["status"] in ACTIVE)
    figures = [GroupFigure(k, counts[k], amounts[k], material[k]) for k in counts]
    if order is not None:
        rank = {code: i for i, code in enumerate(order)}
        return sorted(figures, key=lambda f: (rank.get(f.key, len(rank)), f.key))
    return sorted(figures, key=lambda f: (-f.open_amount, -f.total, f.key))


def _ageing(rows: Iterable[dict[str, Any]]) -> list[AgeingFigure]:
    counts = {label: [0, 0, 0] for label, _, _ in AGEING_BUCKETS}  # open, investigating, material
    amounts = {label: ZERO for label, _, _ in AGEING_BUCKETS}
    for row in rows:
        if row["status"] not in ACTIVE:
            continue
        bucket = ageing_bucket(int(row["age_days"]))
        counts[bucket][0 if row["status"] == Status.OPEN else 1] += 1
        counts[bucket][2] += int(bool(row["is_material"]))
        amounts[bucket] += _amount(row)
    return [AgeingFigure(label, opened, investigating, material, amounts[label])
            for label, (opened, investigating, material) in counts.items()]


def _runs(con: duckdb.DuckDBPyConnection) -> list[RunFigure]:
    if not relation_exists(con, "ops.exception_runs"):
        return []
    rows = con.execute("""
        SELECT run_id, max(synced_at) AS synced_at, sum(open_count), sum(material_count),
               sum(amount_reporting), sum(new_count), sum(reopened_count),
               sum(auto_resolved_count)
        FROM ops.exception_runs GROUP BY run_id
        ORDER BY synced_at DESC, run_id DESC LIMIT ?""", [MAX_RUNS]).fetchall()
    return [RunFigure(run_id, at, int(count), int(material), Decimal(amount), int(new),
                      int(reopened), int(resolved))
            for run_id, at, count, material, amount, new, reopened, resolved
            in reversed(rows)]


def _rollforward(con: duckdb.DuckDBPyConnection,
                 period: str) -> tuple[RollforwardRow, ...] | None:
    if not relation_exists(con, ROLLFORWARD):
        return None
    rows = con.execute(f"""
        SELECT legal_entity_code, currency, is_closed, revrec_opening_balance, revrec_bookings,
               revrec_recognised, revrec_closing_balance, erp_opening_balance, erp_movement,
               erp_closing_balance, movement_difference, coalesce(is_break, false)
        FROM {ROLLFORWARD} WHERE period = ?
        ORDER BY legal_entity_code, currency""", [period]).fetchall()
    return tuple(RollforwardRow(*row) for row in rows)


def _top(rows: Iterable[dict[str, Any]]) -> list[TopException]:
    return [TopException(r["exception_id"], r["rule"], r["natural_key"], r["entity"],
                         r["currency"], r["reason"], r["status"], r["owner"],
                         int(r["age_days"]), bool(r["is_material"]), r["difference"],
                         r["difference_reporting"]) for r in rows]


_IN_PERIOD = "(accounting_period = $period OR posting_period = $period)"


def _journal(con: duckdb.DuckDBPyConnection, period: str) -> list[JournalFigure]:
    if not relation_exists(con, "ops.journal_batches"):
        return []
    rows = con.execute(f"""
        SELECT status, currency, count(*), sum(amount) FROM ops.journal_batches
        WHERE {_IN_PERIOD} GROUP BY status, currency""", {"period": period}).fetchall()
    rank = {s: i for i, s in enumerate(JOURNAL_STATUSES)}
    figures = [JournalFigure(status, currency, int(n), Decimal(amount))
               for status, currency, n, amount in rows]
    return sorted(figures, key=lambda f: (rank.get(f.status, len(rank)), f.status, f.currency))


def _dead_letters(con: duckdb.DuckDBPyConnection, period: str) -> list[DeadLetter]:
    if not relation_exists(con, "ops.journal_batches"):
        return []
    rows = con.execute(f"""
        SELECT batch_id, batch_version, external_id, legal_entity, currency, window_start,
               amount, coalesce(attempts, 0), last_error
        FROM ops.journal_batches WHERE status = 'dead_letter' AND {_IN_PERIOD}
        ORDER BY window_start, batch_id, batch_version""", {"period": period}).fetchall()
    return [DeadLetter(*row) for row in rows]


def _close_state(con: duckdb.DuckDBPyConnection, period: str) -> CloseState:
    blocking = len(blocking_exceptions(con, period))
    signoff = get_close(con, period) if relation_exists(con, "ops.period_closes") else None
    if signoff is None:
        return CloseState(False, None, None, False, None, None, blocking)
    return CloseState(True, signoff.closed_by, signoff.closed_at, signoff.override,
                      signoff.override_reason, signoff.material_open, blocking)
