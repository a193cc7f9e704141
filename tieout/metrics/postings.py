"""A posting run's operating metrics, read back from the posting ledger it just wrote.

The ledger (``ops.journal_batches`` and ``ops.journal_attempts``, every attempt tagged with
the run's id) is the record of what was sent and answered, so the success rate, the lag and
the end-to-end time are measured from it rather than from counters kept on the side:

- **success rate**: POSTs answered ``created`` or ``duplicate`` over every POST of the run; a
  lost answer (``unknown``), a 429/5xx (``retryable``) and a rejection all count against it.
- **posting lag**: ``posted_at`` minus the window's end, over the versions the run posted.
- **usage to journal**: for each usage event of a window, legal entity and currency the run
  posted, the time from ``occurred_at`` to the posting of its journal - the first version of
  that scope posted at or after the event landed in the warehouse (the version that carries
  it: a version is planned from the events landed before it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb

from .catalog import Metric

if TYPE_CHECKING:
    from tieout.journal.poster import PostingReport

SOURCE = "erp"
ENDPOINT = "/services/rest/record/v1/journalentry"  # tieout.journal.erp_api.RECORD_PATH
POSTED_OUTCOMES = ("created", "duplicate", "found")  # the attempt that settled it posted

_RUN_POSTED = f"""
    SELECT b.batch_id, b.batch_version, b.window_start, b.window_end, b.posted_at
    FROM ops.journal_batches AS b
    WHERE b.status = 'posted' AND EXISTS (
        SELECT 1 FROM ops.journal_attempts AS a
        WHERE a.batch_id = b.batch_id AND a.batch_version = b.batch_version
          AND a.run_id = $run AND a.outcome IN {POSTED_OUTCOMES})
"""


def _put(rows: list[Metric], name: str, value: float | None, dimension: str = "") -> None:
    if value is not None:
        rows.append(Metric(name, float(value), SOURCE, ENDPOINT, dimension))


def posting_metrics(con: duckdb.DuckDBPyConnection, run_id: str,
                    report: PostingReport | None, window_minutes: int) -> list[Metric]:
    """Metric rows of the posting run ``run_id`` (``report``: the poster's own counts)."""
    rows: list[Metric] = []
    if report is not None:
        _put(rows, "journal_batches_posted", report.posted, "created")
        _put(rows, "journal_batches_posted", report.confirmed, "confirmed")
        _put(rows, "journal_batches_failed", report.failed)
        _put(rows, "journal_batches_dead_lettered", report.dead_lettered)
    outcomes = con.execute(
        "SELECT outcome, count(*) FROM ops.journal_attempts WHERE run_id = ? AND action = "
        "'post' GROUP BY outcome ORDER BY outcome", [run_id]).fetchall()
    for outcome, count in outcomes:
        _put(rows, "journal_post_attempts", count, str(outcome))
    attempts = sum(int(n) for _, n in outcomes)
    if attempts:
        good = sum(int(n) for outcome, n in outcomes if outcome in ("created", "duplicate"))
        _put(rows, "posting_success_rate", round(good / attempts, 6))
    [(versions, lag50, lag95)] = con.execute(f"""
        WITH posted AS ({_RUN_POSTED})
        SELECT count(*), quantile_disc(epoch(posted_at) - epoch(window_end), 0.5),
               quantile_disc(epoch(posted_at) - epoch(window_end), 0.95)
        FROM posted""", {"run": run_id}).fetchall()
    if versions:
        _put(rows, "posting_lag_p50", round(lag50, 3))
        _put(rows, "posting_lag_p95", round(lag95, 3))
        rows.extend(_usage_to_journal(con, run_id, window_minutes))
    return rows


def _usage_to_journal(con: duckdb.DuckDBPyConnection, run_id: str,
                      window_minutes: int) -> list[Metric]:
    """End-to-end time of the usage events in the versions the run posted."""
    window_us = int(window_minutes) * 60 * 1_000_000
    [(events, p50, p95)] = con.execute(f"""
        WITH run_posted AS ({_RUN_POSTED}),
        span AS (SELECT min(window_start) AS lo, max(window_end) AS hi FROM run_posted),
        scopes AS (
            SELECT b.batch_id, b.batch_version, b.legal_entity, b.currency, b.window_start,
                   b.posted_at
            FROM ops.journal_batches AS b, span
            WHERE b.status = 'posted' AND b.window_start >= span.lo AND b.window_start < span.hi
        ),
        usage AS (
            SELECT e.event_id, e.occurred_at,
                   coalesce(e._loaded_at, '-infinity'::TIMESTAMPTZ) AS landed,
                   upper(c.legal_entity) AS legal_entity, upper(s.currency) AS currency,
                   to_timestamp((epoch_us(e.occurred_at) // {window_us})
                                * {window_us // 1_000_000}) AS window_start
            FROM raw_usage.events AS e
            JOIN raw_billing.subscription_items AS i ON i.id = e.subscription_item
            JOIN raw_billing.subscriptions AS s ON s.id = i.subscription
            JOIN raw_billing.customers AS c ON c.id = s.customer
            CROSS JOIN span
            WHERE e.occurred_at >= span.lo AND e.occurred_at < span.hi
        ),
        carried AS (
            SELECT u.event_id, any_value(u.occurred_at) AS occurred_at,
                   arg_min(sc.batch_id || ':v' || sc.batch_version, sc.posted_at) AS version,
                   min(sc.posted_at) AS posted_at
            FROM usage AS u JOIN scopes AS sc
              ON sc.legal_entity = u.legal_entity AND sc.currency = u.currency
             AND sc.window_start = u.window_start AND sc.posted_at >= u.landed
            GROUP BY u.event_id
        )
        SELECT count(*), quantile_disc(epoch(c.posted_at) - epoch(c.occurred_at), 0.5),
               quantile_disc(epoch(c.posted_at) - epoch(c.occurred_at), 0.95)
        FROM carried AS c
        WHERE c.version IN (SELECT batch_id || ':v' || batch_version FROM run_posted)
        """, {"run": run_id}).fetchall()
    rows: list[Metric] = []
    _put(rows, "usage_events_journaled", events)
    if events:
        _put(rows, "usage_to_journal_p50", round(p50, 3))
        _put(rows, "usage_to_journal_p95", round(p95, 3))
    return rows
