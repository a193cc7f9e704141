"""Reading runs and their metrics back: what ``tieout status`` and the close report show.

A run is what an operator started: a ``tieout run`` (its own ``ops.runs`` row, with its steps
pointing at it), a Dagster run launched from the UI or a schedule (only step rows, grouped by
the Dagster run id they name), or a programmatic extraction.  A run with its own row has the
status that row says; one made only of steps failed if a step failed, and is running while a
step is.  Everything here only reads, so it works on a read-only connection.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from tieout.warehouse.schema import relation_exists


@dataclass(frozen=True)
class RunRecord:
    """One run as ``ops.runs`` tells it."""

    run_id: str
    scope: str
    status: str  # running, succeeded or failed
    started_at: dt.datetime
    finished_at: dt.datetime | None
    error: str | None
    own_row: bool  # a ``tieout run`` (or extraction) row, not only Dagster step rows

    @property
    def seconds(self) -> float | None:
        """How long it took (None while running)."""
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


@dataclass(frozen=True)
class StoredMetric:
    """One row of ``ops.run_metrics``."""

    run_id: str
    recorded_at: dt.datetime
    stage: str
    metric: str
    source: str
    endpoint: str
    dimension: str
    value: float
    unit: str



def _has_parent_column(con: duckdb.DuckDBPyConnection) -> bool:
    [(count,)] = con.execute("SELECT count(*) FROM information_schema.columns WHERE "
                             "table_schema = 'ops' AND table_name = 'runs' AND "
                             "column_name = 'parent_run_id'").fetchall()
    return bool(count)


def recent_runs(con: duckdb.DuckDBPyConnection, limit: int) -> list[RunRecord]:
    """The latest ``limit`` runs, newest first (empty for a warehouse without ``ops.runs``).

    Step rows written before ``parent_run_id`` existed are grouped by the Dagster run id
    their scope names (``dagster:<run id>:<step>``); of a step Dagster retried, the last
    attempt decides.
    """
    if not relation_exists(con, "ops.runs"):
        return []
    parent = "parent_run_id" if _has_parent_column(con) else "NULL"
    rows = con.execute(f"""
        WITH steps AS (
            SELECT coalesce({parent}, CASE WHEN scope LIKE 'dagster:%:%'
                   THEN split_part(scope, ':', 2) ELSE run_id END) AS id, *
            FROM ops.runs),
        latest AS (  -- a step Dagster retried counts as its last attempt ended
            SELECT * FROM steps
            QUALIFY row_number() OVER (PARTITION BY id, scope ORDER BY started_at DESC) = 1),
        grouped AS (
            SELECT id, bool_or(run_id = id) AS own_row,
                   any_value(status) FILTER (WHERE run_id = id) AS own_status,
                   any_value(finished_at) FILTER (WHERE run_id = id) AS own_finished,
                   any_value(scope) FILTER (WHERE run_id = id) AS own_scope,
                   any_value(error) FILTER (WHERE run_id = id) AS own_error,
                   max(finished_at) AS last_finished,
                   bool_or(status = 'failed') AS any_failed,
                   bool_or(status = 'running') AS any_running,
                   arg_min(error, started_at) FILTER (WHERE status = 'failed') AS step_error,
                   string_agg(DISTINCT split_part(scope, ':', 3), ',' ORDER BY
                              split_part(scope, ':', 3)) AS step_names
            FROM latest GROUP BY id),
        started AS (SELECT id, min(started_at) AS first_start FROM steps GROUP BY id)
        SELECT id, coalesce(own_scope, 'dagster: ' || step_names),
               CASE WHEN own_row THEN own_status WHEN any_failed THEN 'failed'
                    WHEN any_running THEN 'running' ELSE 'succeeded' END,
               first_start,
               CASE WHEN own_row THEN own_finished WHEN any_running THEN NULL
                    ELSE last_finished END,
               CASE WHEN own_row THEN coalesce(own_error, step_error) ELSE step_error END,
               own_row
        FROM grouped JOIN started USING (id)
        ORDER BY first_start DESC, id DESC LIMIT ?""", [limit]).fetchall()
    return [RunRecord(*row) for row in rows]


def metrics_of(con: duckdb.DuckDBPyConnection,
               run_ids: Sequence[str]) -> list[StoredMetric]:
    """Every stored metric of ``run_ids``."""
    if not run_ids or not relation_exists(con, "ops.run_metrics"):
        return []
    rows = con.execute("""
        SELECT run_id, recorded_at, stage, metric, source, endpoint, dimension, value, unit
        FROM ops.run_metrics WHERE run_id IN (SELECT unnest(?))
        ORDER BY run_id, stage, source, endpoint, metric, dimension""",
                       [list(run_ids)]).fetchall()
    return [StoredMetric(*row) for row in rows]


def last_landed(con: duckdb.DuckDBPyConnection,
                sources: Sequence[str]) -> dict[str, dt.datetime | None]:
    """When each source last landed a batch (``ops.batches``), None if it never did."""
    found: dict[str, dt.datetime | None] = dict.fromkeys(sources)
    if not sources or not relation_exists(con, "ops.batches"):
        return found
    for source, at in con.execute("""
            SELECT split_part(table_name, '/', 1) AS source, max(loaded_at)
            FROM ops.batches WHERE split_part(table_name, '/', 1) IN (SELECT unnest(?))
            GROUP BY 1""", [list(sources)]).fetchall():
        found[str(source)] = at
    return found


@dataclass(frozen=True)
class EndpointFigures:
    """One API endpoint's figures in one run's extraction (what status and the report list)."""

    source: str
    endpoint: str
    records: float
    pages: float
    throughput: float | None
    latency_p50: float | None
    latency_p95: float | None
    retries: float
    errors: dict[str, float]  # by HTTP status or problem
    duplicates: float  # exact repeats the connector dropped

    @property
    def error_text(self) -> str:
        """``429:4 503:1``, or an empty string."""
        return " ".join(f"{k}:{v:,.0f}" for k, v in sorted(self.errors.items()))


def endpoint_figures(metrics: Sequence[StoredMetric]) -> list[EndpointFigures]:
    """The extraction's rows per source and API endpoint, in source and endpoint order."""
    rows: dict[tuple[str, str], dict[str, float]] = {}
    errors: dict[tuple[str, str], dict[str, float]] = {}
    for m in metrics:
        if m.stage != "extract" or not m.endpoint.startswith("/"):
            continue
        key = (m.source, m.endpoint)
        row = rows.setdefault(key, {})
        if m.metric == "errors":
            errors.setdefault(key, {})[m.dimension] = m.value
        else:
            row[m.metric] = row.get(m.metric, 0.0) + m.value
    return [EndpointFigures(
        source, endpoint, row.get("records_fetched", 0.0), row.get("pages_fetched", 0.0),
        row.get("throughput"), row.get("latency_p50"), row.get("latency_p95"),
        row.get("retries", 0.0), errors.get((source, endpoint), {}),
        row.get("duplicates_suppressed", 0.0)) for (source, endpoint), row in sorted(rows.items())]
