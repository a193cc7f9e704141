"""Writing a run's operating metrics into ``ops.run_metrics``: one transaction per step.

Each step of a run (a source's extraction, the journal posting, the review sync) writes its
rows when it ends, in one transaction of its own, on the connection it already holds - after
its data committed, so a metric never describes data that was rolled back, and never
mixed into a landing transaction, so a metrics problem cannot undo landed data.  Rows are
keyed by (run, stage, metric, source, endpoint, dimension): another run never touches them,
and when Dagster retries a step inside the same run the catalogue decides how the retry's
measurement combines with the failed attempt's (counts add, percentiles and rates replace).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

import duckdb
import polars as pl

from .catalog import METRICS, Metric

log = logging.getLogger("tieout.metrics")

_KEY = ("metric", "source", "endpoint", "dimension")


def _merged(metrics: Iterable[Metric]) -> list[Metric]:
    """One row per key: additive metrics summed, the others the last value given."""
    rows: dict[tuple[str, str, str, str], Metric] = {}
    for m in metrics:
        key = (m.metric, m.source, m.endpoint, m.dimension)
        if key in rows and METRICS[m.metric].additive:
            m = Metric(m.metric, rows[key].value + m.value, m.source, m.endpoint, m.dimension)
        rows[key] = m
    return list(rows.values())


def write_metrics(con: duckdb.DuckDBPyConnection, run_id: str, stage: str,
                  metrics: Iterable[Metric], now: dt.datetime | None = None) -> int:
    """Store ``metrics`` of ``run_id``'s ``stage`` in one transaction; the rows written."""
    rows = _merged(metrics)
    if not rows:
        return 0
    at = now or dt.datetime.now(dt.UTC)
    frame = pl.DataFrame(
        {"run_id": [run_id] * len(rows), "recorded_at": [at] * len(rows),
         "stage": [stage] * len(rows), "metric": [m.metric for m in rows],
         "source": [m.source for m in rows], "endpoint": [m.endpoint for m in rows],
         "dimension": [m.dimension for m in rows], "value": [float(m.value) for m in rows],
         "unit": [m.unit for m in rows],
         "additive": [METRICS[m.metric].additive for m in rows]},
        schema={"run_id": pl.String, "recorded_at": pl.Datetime("us", "UTC"),
                "stage": pl.String, "metric": pl.String, "source": pl.String,
                "endpoint": pl.String, "dimension": pl.String, "value": pl.Float64,
                "unit": pl.String, "additive": pl.Boolean})
    con.register("_run_metrics", frame)
    try:
        con.execute("BEGIN TRANSACTION")
        try:
            for additive in (True, False):
                value = "ops.run_metrics.value + excluded.value" if additive else "excluded.value"
                con.execute(f"""
                    INSERT INTO ops.run_metrics
                    SELECT run_id, recorded_at, stage, metric, source, endpoint, dimension,
                           value, unit
                    FROM _run_metrics WHERE additive = {additive}
                    ON CONFLICT DO UPDATE SET value = {value},
                        recorded_at = excluded.recorded_at""").fetchall()
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        con.unregister("_run_metrics")
    return len(rows)


def write_metrics_after_failure(con: duckdb.DuckDBPyConnection, run_id: str, stage: str,
                                metrics: Iterable[Metric]) -> None:
    """``write_metrics`` while a step is failing: the step's own error is what must reach the
    operator, so a problem storing its metrics is logged instead of raised over it."""
    try:
        write_metrics(con, run_id, stage, metrics)
    except Exception as exc:  # the failure being reported matters more
        log.warning("could not store the operating metrics of failed step %s of run %s: %s",
                    stage, run_id, " ".join(str(exc).split()))
