"""The analysts' snapshot: published atomically, never blocks a run, never half-built."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from tieout.analyst import publish_snapshot, snapshot_path
from tieout.config import load_config

from ..review.world import ROWS, T0, World, make_world

READER = textwrap.dedent("""
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    count = lambda: con.execute("SELECT count(*) FROM marts.fct_exceptions").fetchall()[0][0]
    print(count(), flush=True)
    sys.stdin.readline()          # the test publishes a new snapshot meanwhile
    print(count(), flush=True)    # this open connection still reads the old file
    con.close()
    print(duckdb.connect(sys.argv[1], read_only=True).execute(
        "SELECT count(*) FROM marts.fct_exceptions").fetchall()[0][0], flush=True)
""")


def _count(path: Path) -> int:
    with duckdb.connect(str(path), read_only=True) as con:
        return int(con.execute("SELECT count(*) FROM marts.fct_exceptions").fetchall()[0][0])


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def test_reader_open_during_a_publish_is_never_blocked_and_sees_whole_snapshots(
        world: World) -> None:
    target = snapshot_path(load_config(world.config))
    with world.connect() as con:
        publish_snapshot(con, target, "run-1")
    reader = subprocess.Popen([sys.executable, "-c", READER, str(target)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert reader.stdout is not None and reader.stdin is not None
    try:
        assert reader.stdout.readline().strip() == "5"
        world.run(ROWS[:2], "run-2", T0 + dt.timedelta(days=1))  # the run writes meanwhile
        with world.connect() as con:
            publish_snapshot(con, target, "run-2")
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "5"  # old file, complete
        assert reader.stdout.readline().strip() == "2"  # a new connection: the new one
    finally:
        reader.stdin.close()
        assert reader.wait(30) == 0
    assert [p.name for p in target.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_a_failed_publish_leaves_the_previous_snapshot(world: World) -> None:
    target = snapshot_path(load_config(world.config))
    with world.connect() as con:
        publish_snapshot(con, target, "run-1")
        con.execute("CREATE VIEW marts.broken AS SELECT 1 / 0 AS x FROM range(1) "
                    "WHERE error('boom') IS NULL")
        with pytest.raises(duckdb.Error, match="boom"):
            publish_snapshot(con, target, "run-2")
    assert _count(target) == 5
    with duckdb.connect(str(target), read_only=True) as con:
        assert con.execute("SELECT run_id FROM snapshot_info").fetchall() == [("run-1",)]
    assert [p.name for p in target.parent.iterdir() if ".tmp" in p.name] == []


def test_snapshot_holds_the_marts_and_the_review_state_only(world: World) -> None:
    target = snapshot_path(load_config(world.config))
    with world.connect() as con:
        publish_snapshot(con, target, "run-1")
    with duckdb.connect(str(target), read_only=True) as con:
        tables = {f"{s}.{n}" for s, n in con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables").fetchall()}
    assert {"marts.fct_exceptions", "ops.exception_review", "ops.exception_audit",
            "ops.runs", "ops.run_metrics", "main.snapshot_info"} <= tables
    assert not any(t.startswith(("raw_", "quarantine.", "ops.watermarks")) for t in tables)


def test_a_failed_run_does_not_publish(world: World) -> None:
    """The review step fails (its mart is gone), so Dagster never runs the publish step."""
    import dagster as dg

    from assets.analyst_snapshot import SNAPSHOT_KEY, analyst_snapshot
    from assets.exception_review import exception_review
    from pipelines.resources import TieoutSettings

    target = snapshot_path(load_config(world.config))
    resources = {"tieout": TieoutSettings(config_path=str(world.config))}
    ok = dg.materialize([exception_review, analyst_snapshot], resources=resources,
                        instance=dg.DagsterInstance.ephemeral())
    assert ok.success and _count(target) == 5
    with world.connect() as con:
        con.execute("DROP TABLE marts.fct_exceptions")
    failed = dg.materialize([exception_review, analyst_snapshot], resources=resources,
                            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert not failed.success
    assert SNAPSHOT_KEY not in {e.asset_key for e in failed.get_asset_materialization_events()}
    assert _count(target) == 5  # the previous snapshot stays published and readable
