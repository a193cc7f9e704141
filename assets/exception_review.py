"""``ops/exception_review``: the controllers' review state, carried across every rebuild.

Runs after the rule checks read ``marts.fct_exceptions``: new exceptions open, vanished ones
auto-resolve, resolved ones detected again reopen (``tieout.review.sync``), and the run's
counts per rule are kept for the trend.  It only appends to the audit log and never rebuilds
what people wrote, so owners, notes and waivers survive every nightly run.
"""

import dagster as dg
from dagster import AssetExecutionContext

from pipelines.resources import TieoutSettings
from tieout.metrics.exceptions import exception_metrics
from tieout.metrics.runs import recorded_step, run_id_of
from tieout.metrics.store import write_metrics
from tieout.review import sync_review
from tieout.warehouse.connection import open_for_edit

from .dbt_translator import model_key
from .operating_metrics import exception_metadata

REVIEW_KEY = dg.AssetKey(["ops", "exception_review"])


@dg.asset(key=REVIEW_KEY, group_name="review", kinds={"duckdb"},
          deps=[model_key("marts", "fct_exceptions")],
          description="Review state of every exception (status, owner, notes, first and last "
                      "seen) in ops.exception_review, with its audit log; refreshed, never "
                      "rebuilt, by each run.")
def exception_review(context: AssetExecutionContext,
                     tieout: TieoutSettings) -> dg.MaterializeResult:
    """Sync the review state with this run's exceptions, in one transaction; then store the
    run's exception metrics (by rule and severity) as a step of the run."""
    cfg = tieout.load()
    run_id = run_id_of(context.run.tags, context.run.run_id)
    con = open_for_edit(cfg.warehouse)
    try:
        with recorded_step(con, f"dagster:{context.run.run_id}:review", run_id):
            # the review state keeps naming the Dagster run that synced it (audit, trend)
            result = sync_review(con, context.run.run_id, cfg.accounting_timezone)
            metrics = exception_metrics(con, context.run.run_id)
            write_metrics(con, run_id, "review", metrics)
        [(active,)] = con.execute("SELECT count(*) FROM ops.exception_review WHERE status IN "
                                  "('open', 'investigating')").fetchall()
    finally:
        con.close()
    return dg.MaterializeResult(metadata={
        "detected": result.detected, "new": result.new, "reopened": result.reopened,
        "auto_resolved": result.auto_resolved, "open_or_investigating": int(active),
        **exception_metadata(metrics, run_id)})
