"""Carry the review state across a run: new exceptions open, vanished ones auto-resolve.

``marts.fct_exceptions`` is rebuilt by every run; ``ops.exception_review`` is not.  After the
rule checks, one transaction compares the two, set-based, and writes an audit row for every
status it changes, so a controller's owner, notes and waivers survive every rebuild:

- detected for the first time: ``open``, first seen now (age counts from here);
- detected again after it was resolved (by a person or by a run): reopened;
- no longer detected while open, investigating or waived: resolved by the run
  (``resolution = 'auto'``); a waiver that is no longer needed is closed the same way;
- still detected: the snapshot columns take the run's values; status, owner, note stay.

It also records the run's counts per rule (``ops.exception_runs``), the trend the close
report draws.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from tieout.rules import RULES

from .status import SYSTEM_ACTOR

EXCEPTIONS = "marts.fct_exceptions"
REVIEW = "ops.exception_review"
AUDIT = "ops.exception_audit"

# The columns copied from fct_exceptions into the review state at every run that sees them.
SNAPSHOT_COLUMNS = (
    "rule", "severity", "natural_key", "entity", "currency", "period", "timing_status",
    "billing_amount", "other_system", "other_amount", "difference", "reporting_currency",
    "difference_reporting", "is_material", "reason", "billing_ref", "erp_ref", "revrec_ref",
    "support_ref",
)
_UNDATED_PERIOD = "coalesce(period, strftime(timezone(?, as_of), '%Y-%m')) AS period"


@dataclass(frozen=True)
class SyncResult:
    """What one run changed in the review state."""

    run_id: str
    detected: int  # exceptions in this run
    new: int
    reopened: int
    auto_resolved: int


def sync_review(con: duckdb.DuckDBPyConnection, run_id: str, timezone: str,
                now: dt.datetime | None = None) -> SyncResult:
    """Bring ``ops.exception_review`` up to date with ``marts.fct_exceptions`` atomically.

    ``timezone`` is the accounting time zone: an exception without a period (a balance as of
    the run, e.g. AR_CUSTOMER_MISMATCH) belongs to the period of its ``as_of`` there, so the
    close of that period weighs it.
    """
    now = now or dt.datetime.now(dt.UTC)
    columns = ", ".join(_UNDATED_PERIOD if c == "period" else c for c in SNAPSHOT_COLUMNS)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE current_exceptions AS "
                    f"SELECT exception_id, {columns} FROM {EXCEPTIONS}", [timezone]).fetchall()
        [(detected,)] = con.execute("SELECT count(*) FROM current_exceptions").fetchall()
        new = _insert_new(con, run_id, now)
        reopened = _reopen(con, run_id, now)
        _refresh(con, run_id, now)
        auto_resolved = _auto_resolve(con, run_id, now)
        _record_run(con, run_id, now)
        con.execute("DROP TABLE current_exceptions")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return SyncResult(run_id, int(detected), new, reopened, auto_resolved)


def _insert_new(con: duckdb.DuckDBPyConnection, run_id: str, now: dt.datetime) -> int:
    snapshot = ", ".join(SNAPSHOT_COLUMNS)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE new_exceptions AS
        SELECT c.* FROM current_exceptions c
        WHERE NOT EXISTS (SELECT 1 FROM {REVIEW} r WHERE r.exception_id = c.exception_id)""")
    con.execute(f"""
        INSERT INTO {REVIEW} (exception_id, {snapshot}, status, is_present, first_seen_at,
            first_seen_run, last_seen_at, last_seen_run, status_changed_at, updated_at,
            updated_by, revision)
        SELECT exception_id, {snapshot}, 'open', true, $now, $run, $now, $run, $now, $now,
               $actor, 1
        FROM new_exceptions""", {"now": now, "run": run_id, "actor": SYSTEM_ACTOR})
    con.execute(f"""
        INSERT INTO {AUDIT} (exception_id, changed_at, actor, action, field, old_value,
                             new_value, reason, run_id, revision)
        SELECT exception_id, $now, $actor, 'detected', 'status', NULL, 'open',
               'first detected by run ' || $run, $run, 1
        FROM new_exceptions""", {"now": now, "run": run_id, "actor": SYSTEM_ACTOR})
    [(count,)] = con.execute("SELECT count(*) FROM new_exceptions").fetchall()
    con.execute("DROP TABLE new_exceptions")
    return int(count)


def _reopen(con: duckdb.DuckDBPyConnection, run_id: str, now: dt.datetime) -> int:
    """Resolved exceptions that this run detects again go back to open."""
    return _transition(con, run_id, now, action="reopened", new_status="open",
                       where="r.status = 'resolved' AND r.exception_id IN "
                             "(SELECT exception_id FROM current_exceptions)",
                       reason="detected again by run ")


def _auto_resolve(con: duckdb.DuckDBPyConnection, run_id: str, now: dt.datetime) -> int:
    """Open, investigating or waived exceptions this run no longer detects are resolved."""
    return _transition(con, run_id, now, action="auto_resolved", new_status="resolved",
                       where="r.status IN ('open', 'investigating', 'waived') AND "
                             "r.exception_id NOT IN (SELECT exception_id FROM "
                             "current_exceptions)",
                       reason="no longer detected by run ")


def _transition(con: duckdb.DuckDBPyConnection, run_id: str, now: dt.datetime, *,
                action: str, new_status: str, where: str, reason: str) -> int:
    params = {"now": now, "run": run_id, "actor": SYSTEM_ACTOR, "status": new_status,
              "action": action, "reason": reason}
    con.execute(f"""
        INSERT INTO {AUDIT} (exception_id, changed_at, actor, action, field, old_value,
                             new_value, reason, run_id, revision)
        SELECT r.exception_id, $now, $actor, $action, 'status', r.status, $status,
               $reason || $run, $run, r.revision + 1
        FROM {REVIEW} r WHERE {where}""", params)
    resolution = "'auto'" if new_status == "resolved" else "NULL"
    rows = con.execute(f"""
        UPDATE {REVIEW} r SET status = $status, resolution = {resolution},
            status_changed_at = $now, updated_at = $now, updated_by = $actor,
            revision = r.revision + 1
        WHERE {where}""", {k: params[k] for k in ("now", "actor", "status")}).fetchall()
    return int(rows[0][0]) if rows else 0


def _refresh(con: duckdb.DuckDBPyConnection, run_id: str, now: dt.datetime) -> None:
    """Present exceptions take this run's values; absent ones are marked not present."""
    assignments = ", ".join(f"{c} = c.{c}" for c in SNAPSHOT_COLUMNS)
    con.execute(f"""
        UPDATE {REVIEW} r SET {assignments}, is_present = true, last_seen_at = $now,
            last_seen_run = $run
        FROM current_exceptions c WHERE r.exception_id = c.exception_id""",
                {"now": now, "run": run_id})
    con.execute(f"""
        UPDATE {REVIEW} SET is_present = false
        WHERE is_present AND exception_id NOT IN (SELECT exception_id FROM current_exceptions)
        """)


def _record_run(con: duckdb.DuckDBPyConnection, run_id: str, now: dt.datetime) -> None:
    """One row per rule (zero included) with this run's detections and transitions."""
    con.execute(f"""
        INSERT OR REPLACE INTO ops.exception_runs
        WITH detected AS (
            SELECT rule, count(*) AS open_count,
                   coalesce(sum(abs(difference_reporting)), 0) AS amount,
                   count(*) FILTER (WHERE is_material) AS material
            FROM current_exceptions GROUP BY rule),
        moved AS (
            SELECT r.rule, count(*) FILTER (WHERE x.action = 'detected') AS new_count,
                   count(*) FILTER (WHERE x.action = 'reopened') AS reopened,
                   count(*) FILTER (WHERE x.action = 'auto_resolved') AS auto_resolved
            FROM {AUDIT} x JOIN {REVIEW} r USING (exception_id)
            WHERE x.run_id = $run GROUP BY r.rule)
        SELECT $run, $now, rules.rule, coalesce(d.open_count, 0), coalesce(d.amount, 0),
               coalesce(d.material, 0), coalesce(m.new_count, 0), coalesce(m.reopened, 0),
               coalesce(m.auto_resolved, 0)
        FROM (SELECT unnest($rules) AS rule) rules
        LEFT JOIN detected d USING (rule) LEFT JOIN moved m USING (rule)""",
                {"run": run_id, "now": now, "rules": list(RULES)})
