"""Two runs at once on one warehouse: one runs, the other refuses or waits; edits survive.

The run lock (``tieout.warehouse.run_lock``) makes a second ``tieout run`` on the same
warehouse refuse at once with one line naming the holder, or with ``--wait-lock`` wait its
turn, so two runs never interleave their writes and the warehouse ends as one run leaves it.
Review edits do not take the run lock: they wait for DuckDB's write lock and the run's review
sync keeps them.  Real processes (``python -m tieout run``) on a small files-mode company.

The lock is taken before any stage, whatever ``--only`` selects, so the races use the stages
that write the most often (extract: one connection per raw table) and the review sync
(rules); the dbt build, which would triple the time, is left out and the review state is
seeded the way ``tests/review`` seeds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from seeds.generator import generate_company
from tests.reliability.state import BUILT_SCHEMAS, RAW_SCHEMAS, differences, warehouse_digest
from tests.review.world import ROWS, T0, World
from tieout.cli.main import main
from tieout.config import load_config
from tieout.errors import TieoutError
from tieout.extract.service import run_extraction
from tieout.warehouse.connection import open_read_only, open_warehouse
from tieout.warehouse.run_lock import (
    Holder,
    RunLockedError,
    lock_path,
    read_holder,
    run_lock,
)

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

RUN_TIMEOUT = 240  # seconds; a full run of this company takes well under a minute
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class Run:
    """One ``tieout run`` process and what it printed."""

    proc: subprocess.Popen[bytes]
    out: Path
    err: Path
    started: float
    ended: float = 0.0

    def wait(self) -> int:
        code = self.proc.wait(RUN_TIMEOUT)
        self.ended = self.ended or time.monotonic()
        return code

    @property
    def stdout(self) -> str:
        return self.out.read_text()

    @property
    def stderr(self) -> str:
        return self.err.read_text()

    def dagster_runs(self) -> set[str]:
        """The Dagster run ids of the final "Dagster runs ..." line."""
        tail = self.stdout.split("Dagster runs", 1)
        return set(UUID.findall(tail[1])) if len(tail) == 2 else set()


def _env() -> dict[str, str]:
    """The test's environment, as a scheduler would start tieout: the default Dagster home
    beside the config (shared by both runs), no alert webhook, wide output."""
    env = {k: v for k, v in os.environ.items()
           if k not in {"DAGSTER_HOME", "TIEOUT_ALERT_WEBHOOK", "TIEOUT_WAREHOUSE"}}
    env["COLUMNS"] = "400"
    return env


def start(config: Path, name: str, *args: str) -> Run:
    """``python -m tieout run --config <config> <args>`` in the background."""
    out, err = config.parent / f"{name}.out", config.parent / f"{name}.err"
    with out.open("wb") as o, err.open("wb") as e:
        proc = subprocess.Popen([sys.executable, "-m", "tieout", "run", "--config", str(config),
                                 *args], stdout=o, stderr=e, env=_env(), cwd=config.parent)
    return Run(proc, out, err, time.monotonic())


def wait_all(runs: list[Run]) -> list[int]:
    """Exit codes, noting when each process ended (polled, so the order is known)."""
    deadline = time.monotonic() + RUN_TIMEOUT
    while any(r.proc.poll() is None for r in runs):
        for r in runs:
            if r.proc.poll() is not None and not r.ended:
                r.ended = time.monotonic()
        assert time.monotonic() < deadline, "runs did not finish"
        time.sleep(0.05)
    return [r.wait() for r in runs]


USAGE_DAYS = 8  # daily usage partitions kept: each costs a Dagster materialization


def copy_company(src: Path, dst: Path) -> Path:
    """A private copy of the generated company (no warehouse yet, the first usage days only);
    its config path."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("warehouse.duckdb*", ".tieout"))
    for day in sorted((dst / "usage").glob("date=*"))[USAGE_DAYS:]:
        shutil.rmtree(day)
    return dst / "tieout.toml"


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate_company(tmp_path_factory.mktemp("race") / "co", seed=17,
                            invoices=200).out_dir


@pytest.fixture(scope="module")
def reference(company: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Raw tables after one extraction on its own (in-process: same rows as a CLI run)."""
    cfg = load_config(copy_company(company, tmp_path_factory.mktemp("ref") / "co"))
    con = open_warehouse(cfg.warehouse)
    try:
        run_extraction(con, cfg)
    finally:
        con.close()
    return warehouse_digest(cfg.warehouse, RAW_SCHEMAS)


@dataclass
class Race:
    config: Path
    warehouse: Path
    winner: Run
    loser: Run
    codes: dict[str, int]


@pytest.fixture(scope="module")
def race(company: Path, tmp_path_factory: pytest.TempPathFactory) -> Race:
    """Two ``tieout run`` started at once on one new warehouse (no waiting)."""
    config = copy_company(company, tmp_path_factory.mktemp("both") / "co")
    runs = [start(config, "a", "--only", "extract"), start(config, "b", "--only", "extract")]
    codes = wait_all(runs)
    assert sorted(codes) == [0, 75], [(r.stdout[-2000:], r.stderr) for r in runs]
    winner, loser = runs if codes[0] == 0 else runs[::-1]
    return Race(config, load_config(config).warehouse, winner, loser,
                {"winner": winner.proc.returncode, "loser": loser.proc.returncode})


def _run_lock_is_free(warehouse: Path) -> bool:
    with lock_path(warehouse).open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        fcntl.flock(handle, fcntl.LOCK_UN)
        return True


def _extract_intervals(warehouse: Path) -> dict[str, tuple[float, float]]:
    """Dagster run id -> (first start, last finish) of its ops.runs extraction entries."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT split_part(scope, ':', 2), epoch(min(started_at)), epoch(max(finished_at)),"
            " count(*) FILTER (WHERE status <> 'succeeded') FROM ops.runs "
            "WHERE scope LIKE 'dagster:%' GROUP BY 1").fetchall()
    assert all(failed == 0 for *_, failed in rows), rows
    return {run: (float(first), float(last)) for run, first, last, _ in rows}


def test_the_second_run_refuses_at_once_in_one_line_and_writes_nothing(
        race: Race, reference: dict[str, str]) -> None:
    lines = [line for line in race.loser.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, race.loser.stderr
    line = lines[0]
    assert line.startswith("tieout: error: warehouse ") and "Traceback" not in line
    assert "being written by another tieout run" in line
    assert f"pid {race.winner.proc.pid}, started 20" in line, line
    assert "--wait-lock" in line
    assert "extract" not in race.loser.stdout  # not one stage started
    assert race.loser.ended < race.winner.ended  # refused, did not queue behind
    # Everything in the warehouse is the winner's: its Dagster runs, and raw tables exactly
    # as one extraction leaves them.
    assert set(_extract_intervals(race.warehouse)) <= race.winner.dagster_runs()
    assert differences(reference, warehouse_digest(race.warehouse, RAW_SCHEMAS)) == []
    assert "records landed" in race.winner.stdout
    assert _run_lock_is_free(race.warehouse)  # released when the winner exited


def test_waiting_runs_take_turns_and_review_edits_made_meanwhile_survive(
        race: Race, reference: dict[str, str]) -> None:
    """Two extractions and a rules run at once with --wait-lock, a controller editing all the
    while: all three run, one after another; every edit lands and outlives the review sync."""
    config, warehouse = race.config, race.warehouse
    World(config, warehouse).run(ROWS, "seed", T0)  # exceptions open for review
    exception_id = ROWS[0].exception_id
    built_before = warehouse_digest(warehouse, BUILT_SCHEMAS)
    edit = ["--config", str(config), "--actor", "controller"]

    extracts = [start(config, "x1", "--only", "extract", "--wait-lock", "120"),
                start(config, "x2", "--only", "extract", "--wait-lock", "120")]
    pids = {r.proc.pid for r in extracts}
    deadline = time.monotonic() + 60
    while read_holder(lock_path(warehouse)).pid not in pids:
        assert time.monotonic() < deadline, "no extraction took the run lock"
        time.sleep(0.02)
    assert any(r.proc.poll() is None for r in extracts)
    # Made while an extraction holds the run lock, before the rules run even starts.
    assert main(["exceptions", "assign", exception_id, "alice", *edit]) == 0
    rules = start(config, "r", "--only", "rules", "--wait-lock", "120")
    runs = [*extracts, rules]
    notes: list[str] = []
    while any(r.proc.poll() is None for r in runs) or len(notes) < 2:
        text = f"checked at step {len(notes) + 1}"
        assert main(["exceptions", "note", exception_id, text, *edit]) == 0
        notes.append(text)
        time.sleep(0.2)
    codes = wait_all(runs)
    assert codes == [0, 0, 0], [(r.stdout[-2000:], r.stderr) for r in runs]

    # One after another: the two extractions' writes do not overlap in time, and the rules
    # run's review sync is outside both.
    intervals = _extract_intervals(warehouse)
    per_process = [[intervals[d] for d in r.dagster_runs() if d in intervals]
                   for r in extracts]
    spans = [(min(s for s, _ in iv), max(e for _, e in iv)) for iv in per_process]
    assert all(spans), per_process
    (a_start, a_end), (b_start, b_end) = sorted(spans)
    assert a_end <= b_start, spans
    [rules_run] = rules.dagster_runs()
    with duckdb.connect(str(warehouse), read_only=True) as con:
        [(synced,)] = con.execute("SELECT epoch(max(synced_at)) FROM ops.exception_runs "
                                  "WHERE run_id = ?", [rules_run]).fetchall()
        review = con.execute("SELECT owner, note FROM ops.exception_review WHERE "
                             "exception_id = ?", [exception_id]).fetchall()
        audit = con.execute("SELECT action, field, new_value, epoch(changed_at) FROM "
                            "ops.exception_audit WHERE exception_id = ? AND actor = "
                            "'controller' ORDER BY audit_id", [exception_id]).fetchall()
    assert synced is not None
    assert not (a_start <= synced <= a_end or b_start <= synced <= b_end)

    assert review == [("alice", notes[-1])]
    assert [(field, new) for _a, field, new, _t in audit] == \
        [("owner", "alice"), *(("note", n) for n in notes)]
    assert audit[0][3] < synced  # the assignment was there before the sync, and survived it
    # Three more runs changed nothing a single run would not have left.
    assert differences(reference, warehouse_digest(warehouse, RAW_SCHEMAS)) == []
    assert differences(built_before, warehouse_digest(warehouse, BUILT_SCHEMAS)) == []
    assert _run_lock_is_free(warehouse)


# ---- the lock itself, in-process (fast) ------------------------------------------------------
def test_lock_refuses_names_the_holder_and_waits_when_asked(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    with run_lock(warehouse) as me:
        assert me.pid == os.getpid()
        assert read_holder(lock_path(warehouse)) == me
        with pytest.raises(RunLockedError) as refused, run_lock(warehouse):
            pytest.fail("a second holder got the lock")
        message = str(refused.value)
        assert "\n" not in message and refused.value.exit_code == 75
        assert f"pid {me.pid}, started {me.started}" in message
        slept: list[float] = []
        now = [0.0]

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            now[0] += seconds

        with pytest.raises(RunLockedError, match=r"waited 1 s$"), \
                run_lock(warehouse, 1.0, clock=lambda: now[0], sleep=sleep):
            pytest.fail("a second holder got the lock")
        assert slept and abs(sum(slept) - 1.0) < 1e-9
    with run_lock(warehouse, 0.0):  # released on leaving the block
        pass
    with pytest.raises(ValueError, match="boom"), run_lock(warehouse):
        raise ValueError("boom")
    with run_lock(warehouse):  # ... and when the block raises
        pass
    assert read_holder(tmp_path / "missing.lock") == Holder(None, "")


@contextlib.contextmanager
def _holding(code: str, warehouse: Path) -> Iterator[subprocess.Popen[bytes]]:
    """Another process running ``code`` (``sys``, ``time`` and ``Path`` imported) on
    ``warehouse``; entered once it printed "held", killed on the way out if still alive."""
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import sys, time\nfrom pathlib import Path\n{code}",
         str(warehouse)], stdout=subprocess.PIPE, env=_env())
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"held"
        yield holder
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(30)


def test_a_killed_holder_releases_the_lock(tmp_path: Path) -> None:
    warehouse = tmp_path / "w.duckdb"
    with _holding("from tieout.warehouse.run_lock import run_lock\n"
                  "with run_lock(Path(sys.argv[1])):\n    print('held', flush=True)\n"
                  "    time.sleep(120)\n", warehouse) as holder:
        with pytest.raises(RunLockedError, match=rf"pid {holder.pid}, "), run_lock(warehouse):
            pass
        os.kill(holder.pid, signal.SIGKILL)  # a crash: no finally, no cleanup
        holder.wait(30)
        with run_lock(warehouse, 5.0) as me:
            assert me.pid == os.getpid()


def test_a_brief_writer_makes_readers_and_writers_wait_not_fail(tmp_path: Path) -> None:
    """What lets a review edit happen mid-run: the run's next open (an asset check reading, an
    extraction writing) waits out the edit's moment on DuckDB's lock instead of failing."""
    warehouse = tmp_path / "w.duckdb"
    open_warehouse(warehouse).close()
    with _holding("from tieout.warehouse.connection import open_warehouse\n"
                  "con = open_warehouse(Path(sys.argv[1]))\nprint('held', flush=True)\n"
                  "time.sleep(1.5)\ncon.close()\n", warehouse) as holder:
        with pytest.raises(TieoutError, match=r"is busy .* waited 0.2 s$"):
            open_read_only(warehouse, wait_seconds=0.2)
        started = time.monotonic()
        with open_read_only(warehouse) as con:
            assert con.execute("SELECT 1").fetchall() == [(1,)]
        assert time.monotonic() - started > 0.2  # it waited for the holder, then read
        holder.wait(30)
        open_warehouse(warehouse, wait_seconds=0.2).close()  # free again: no wait needed


def test_wait_lock_must_be_a_non_negative_number(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("-1", "soon"):
        assert main(["run", "--config", "x.toml", "--wait-lock", bad]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--wait-lock" in err, err
