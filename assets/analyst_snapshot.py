"""``ops/analyst_snapshot``: the marts analysts query, published only after a good run.

Last step of the rules stage, downstream of the review state: when anything before it fails,
Dagster skips it and the previous snapshot stays published (``tieout.analyst.snapshot``).
"""

import dagster as dg
from dagster import AssetExecutionContext

from pipelines.resources import TieoutSettings
from tieout.analyst import publish_snapshot, snapshot_path
from tieout.warehouse.connection import open_for_edit

from .exception_review import REVIEW_KEY

SNAPSHOT_KEY = dg.AssetKey(["ops", "analyst_snapshot"])


@dg.asset(key=SNAPSHOT_KEY, group_name="review", kinds={"duckdb"}, deps=[REVIEW_KEY],
          description="Read-only copy of the marts, the review state and the journal ledger, "
                      "written to a new DuckDB file and renamed into place atomically; what "
                      "`tieout query` and analysts read.")
def analyst_snapshot(context: AssetExecutionContext,
                     tieout: TieoutSettings) -> dg.MaterializeResult:
    """Publish the snapshot of this run."""
    cfg = tieout.load()
    con = open_for_edit(cfg.warehouse)
    try:
        published = publish_snapshot(con, snapshot_path(cfg), context.run.run_id)
    finally:
        con.close()
    return dg.MaterializeResult(metadata={"path": str(published.path),
                                          "tables": published.tables})
