"""The close report's operating metrics: how the pipeline itself ran over the recent runs,
from ``ops.run_metrics`` (``tieout.metrics``).

A controller signing off a month wants to know the numbers came through a healthy pipeline:
how much was extracted, whether the APIs were slow or failing, whether journals posted, and
how much the gate held back.  Each run is a point; a run that did not extract (or post) has
no point on the extraction (or posting) charts rather than a misleading zero.  Values are
metrics, not money: they are carried as ``Decimal`` only because the chart helpers print
exact ticks from ``Decimal``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import duckdb

from tieout.metrics.history import EndpointFigures, endpoint_figures, metrics_of
from tieout.warehouse.schema import relation_exists

MAX_RUNS = 30  # runs charted


@dataclass(frozen=True)
class RunOperations:
    """One run's headline operating figures (None: the run did not measure it)."""

    run_id: str
    recorded_at: dt.datetime
    records: Decimal | None  # received by the gate, every source
    latency_p95_ms: Decimal | None  # the slowest endpoint's p95
    retries: Decimal
    errors: Decimal
    posting_success_rate: Decimal | None  # 0..1
    quarantined: Decimal | None


@dataclass(frozen=True)
class OperationsFigures:
    """What the operating metrics section shows."""

    runs: tuple[RunOperations, ...]  # oldest first
    last_extract_run: str | None  # the run the endpoint table describes
    endpoints: tuple[EndpointFigures, ...]



def _dec(value: float | None, places: int = 3) -> Decimal | None:
    """A measured float as a Decimal of ``places`` decimals (0: a whole number)."""
    if value is None:
        return None
    return Decimal(round(float(value))) if places == 0 else Decimal(
        str(round(float(value), places)))


def operations_figures(con: duckdb.DuckDBPyConnection,
                       limit: int = MAX_RUNS) -> OperationsFigures | None:
    """The section's figures, or None when the warehouse predates ``ops.run_metrics``."""
    if not relation_exists(con, "ops.run_metrics"):
        return None
    rows = con.execute("""
        WITH runs AS (
            SELECT run_id, min(recorded_at) AS first_at FROM ops.run_metrics GROUP BY run_id
            ORDER BY first_at DESC, run_id DESC LIMIT ?)
        SELECT r.run_id, r.first_at,
               bool_or(m.stage = 'extract') AS extracted,
               sum(m.value) FILTER (WHERE m.metric = 'records_received'),
               max(m.value) FILTER (WHERE m.metric = 'latency_p95' AND m.stage = 'extract'),
               coalesce(sum(m.value) FILTER (WHERE m.metric = 'retries'), 0),
               coalesce(sum(m.value) FILTER (WHERE m.metric = 'errors'), 0),
               max(m.value) FILTER (WHERE m.metric = 'posting_success_rate'),
               coalesce(sum(m.value) FILTER (WHERE m.metric = 'records_quarantined'), 0)
        FROM runs AS r JOIN ops.run_metrics AS m USING (run_id)
        GROUP BY r.run_id, r.first_at ORDER BY r.first_at, r.run_id""", [limit]).fetchall()
    runs = tuple(
        RunOperations(run_id, at, _dec(records or 0, 0) if extracted else None,
                      _dec(p95, 1), Decimal(int(retries)), Decimal(int(errors)),
                      _dec(rate, 4), _dec(quarantined, 0) if extracted else None)
        for run_id, at, extracted, records, p95, retries, errors, rate, quarantined in rows)
    last = next((r.run_id for r in reversed(runs) if r.records is not None), None)
    endpoints = tuple(endpoint_figures(metrics_of(con, [last]))) if last else ()
    return OperationsFigures(runs, last, endpoints)
