"""Which run a step belongs to: one ``tieout run``, or one Dagster run launched elsewhere.

``tieout run`` executes several in-process Dagster runs (sources, usage days, dbt, journals,
rules) but is one run to an operator: it records itself in ``ops.runs`` and tags each Dagster
run it starts with ``RUN_TAG``, so every step's metrics and ``ops.runs`` step rows carry the
same id.  A run launched from the Dagster UI, a schedule or a sensor has no tag, and its own
Dagster run id is the run id.  Steps that write the warehouse record themselves in
``ops.runs`` (``parent_run_id`` = the run), so ``tieout status`` can tell how a run went even
when no ``tieout run`` wrapped it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import duckdb

from tieout.alerts import scrub
from tieout.warehouse import ops

RUN_TAG = "tieout/run_id"


def run_id_of(tags: Mapping[str, str], dagster_run_id: str) -> str:
    """The run a Dagster run's steps belong to: its ``RUN_TAG``, else its own id."""
    return tags.get(RUN_TAG) or dagster_run_id


def one_line(error: BaseException | str) -> str:
    """An error as ``ops.runs`` keeps it: one line, secrets scrubbed, at most 500 characters."""
    return scrub(" ".join(str(error).split()))[:500]


@contextmanager
def recorded_step(con: duckdb.DuckDBPyConnection, scope: str, parent: str) -> Iterator[str]:
    """An ``ops.runs`` step row of run ``parent`` around a block (its id is yielded):
    ``succeeded``, or ``failed`` with the one-line error; the exception still propagates."""
    step_id = ops.new_run_id()
    ops.start_run(con, step_id, scope, parent)
    try:
        yield step_id
    except BaseException as exc:
        ops.finish_run(con, step_id, "failed", one_line(exc))
        raise
    ops.finish_run(con, step_id, "succeeded")
