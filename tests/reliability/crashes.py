"""Kill the pipeline with SIGKILL at named points, run it again, and check that it converged.

DESIGN §10: a run killed anywhere must end, after the next run, where a run that was never
killed ends - nothing lost, nothing posted twice.  Each crash runs one stage in a child
process of its own session (so the kill takes the child and only the child, as a machine
dying would) with ``TIEOUT_FAILPOINTS=<point>@<hit>`` (``tieout.failpoints``), checks that it
died by SIGKILL - a point never reached (a hit beyond what the run passes) is recorded as
such - and reruns the stage without failpoints.  Then:

- extraction (``extract.unit.staged``, ``extract.unit.before_commit``): the raw tables equal
  the fault-free run's;
- posting (``journal.post.before_request``, ``journal.post.after_erp_commit``): every ledger
  version is posted, the ERP holds exactly one entry per version with the ledger's amount and
  id, nothing else, and the ledger is the fault-free posting run's;
- dbt (``dbt.build``, no failpoint: the ``dbt build`` process group is killed when dbt
  reports its N-th finished model or test - or after a given delay): the rebuilt warehouse
  equals the fault-free one.  Counting nodes rather than seconds puts the kill inside the
  build on any machine: dbt spends its first seconds importing and parsing, where a kill by
  the clock mostly lands and proves nothing;
- the analyst snapshot (``analyst.publish.before_swap``): the previous snapshot is still
  readable, is still the first publication (and a reader holding it open keeps reading it),
  and the next publish replaces it.

Run as ``python -m tests.reliability.crashes <stage> ...`` this module is the child.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from seeds.sandbox import SandboxServer
from tieout import failpoints
from tieout.analyst.snapshot import publish_snapshot
from tieout.connectors.erp import SUITEQL_PATH
from tieout.journal import ledger
from tieout.journal.erp_api import JournalApi
from tieout.journal.service import all_scope, post_usage_journals
from tieout.warehouse.connection import open_warehouse

from .faults import (
    EXTRACT_POINTS,
    NEVER,
    NODE_DONE,
    TOKENS,
    WAREHOUSE,
    Reference,
    api_config,
    dbt_build,
    dbt_command,
    dbt_env,
    extract,
    fresh_dir,
    raw_only,
    reference,
)
from .state import RAW_SCHEMAS, differences, warehouse_digest

DBT_POINT = "dbt.build"
POST_POINTS = ("journal.post.before_request", "journal.post.after_erp_commit")
SNAPSHOT_POINT = "analyst.publish.before_swap"
CRASH_POINTS: tuple[str, ...] = (*failpoints.POINTS, DBT_POINT)
REPO = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT = 300
SNAPSHOT = "warehouse.published.duckdb"
SNAPSHOT_SCHEMAS = ("marts", "ops")  # main.snapshot_info names the run: compared apart
NO_URL = "http://127.0.0.1:9"  # stages that talk to no API


# ---- the stages, as the child runs them (and the rerun, in-process) ------------------------
def stage_extract(company: Path, url: str, warehouse: Path) -> None:
    """Every source (reference, billing, ERP, revrec and support in API mode, usage) into
    ``warehouse``."""
    extract(api_config(company, url, warehouse))


def stage_post(company: Path, url: str, warehouse: Path) -> None:
    """Plan and post the usage journals of every closed window to the ERP at ``url``."""
    cfg = api_config(company, url, warehouse)
    cfg = dataclasses.replace(cfg, journal=dataclasses.replace(cfg.journal, backoff_seconds=0))
    con = open_warehouse(warehouse)
    api = JournalApi(url, TOKENS.erp, backoff_base=0.0)
    try:
        post_usage_journals(con, cfg, api, all_scope(cfg), sleep=lambda seconds: None)
    finally:
        api.close()
        con.close()


def stage_publish(warehouse: Path, run_id: str) -> None:
    """Publish the analyst snapshot of ``warehouse`` beside it."""
    con = open_warehouse(warehouse)
    try:
        publish_snapshot(con, warehouse.with_name(SNAPSHOT), run_id)
    finally:
        con.close()


def main(argv: list[str] | None = None) -> int:
    """The child: one stage, with whatever ``TIEOUT_FAILPOINTS`` it was started with."""
    parser = argparse.ArgumentParser(description="one pipeline stage, for crash tests")
    parser.add_argument("stage", choices=("extract", "post", "publish"))
    parser.add_argument("--company", type=Path)
    parser.add_argument("--url", default=NO_URL)
    parser.add_argument("--warehouse", type=Path, required=True)
    parser.add_argument("--run-id", default="child")
    args = parser.parse_args(argv)
    if args.stage == "extract":
        stage_extract(args.company, args.url, args.warehouse)
    elif args.stage == "post":
        stage_post(args.company, args.url, args.warehouse)
    else:
        stage_publish(args.warehouse, args.run_id)
    return 0


# ---- results -------------------------------------------------------------------------------
@dataclass
class CrashResult:
    """One crash: did it happen, and did the rerun converge."""

    point: str
    hit: int
    crashed: bool = False
    not_reached: bool = False
    mismatches: list[str] = field(default_factory=list)
    duplicates_posted: int = 0
    delay: float | None = None  # dbt: seconds from start to the kill
    leftovers: list[str] = field(default_factory=list)  # files the crash left behind

    def describe(self) -> str:
        """Point and hit (and delay): enough to repeat exactly this crash."""
        delay = f" after {self.delay:.2f} s" if self.delay is not None else ""
        return f"{self.point}@{self.hit}{delay}"


@dataclass
class CrashFigures:
    """What a crash campaign injected and found."""

    points: int = 0
    crashes_by_point: Counter[str] = field(default_factory=Counter)
    not_reached: int = 0
    mismatches: int = 0
    mismatch_details: list[str] = field(default_factory=list)
    duplicates_posted: int = 0


def _run_child(args: list[str], point: str, hit: int, result: CrashResult) -> None:
    """Run the child armed at ``point@hit``; record how it ended in ``result``."""
    env = {k: v for k, v in os.environ.items() if k != failpoints.ENV}
    env[failpoints.ENV] = f"{point}@{hit}"
    child = subprocess.Popen([sys.executable, "-m", "tests.reliability.crashes", *args],
                             cwd=REPO, env=env, start_new_session=True, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output, _ = child.communicate(timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(child.pid, signal.SIGKILL)
        output, _ = child.communicate()
        result.mismatches.append(f"the armed run hung for {CHILD_TIMEOUT} s")
        return
    if child.returncode == -signal.SIGKILL:
        result.crashed = True
    elif child.returncode == 0:
        result.not_reached = True
    else:
        tail = " ".join(output.split())[-500:]
        result.mismatches.append(f"the armed run failed ({child.returncode}) instead of "
                                 f"dying by SIGKILL: {tail}")


def _rerun(result: CrashResult, stage: Any, *args: Any) -> bool:
    """Run a stage again in-process; a failure is a mismatch (the rerun must just work)."""
    try:
        stage(*args)
    except Exception as exc:
        result.mismatches.append(f"the rerun failed: {type(exc).__name__}: "
                                 f"{' '.join(str(exc).split())[:500]}")
        return False
    return True


# ---- the ERP side of posting ---------------------------------------------------------------
@dataclass(frozen=True)
class ErpEntry:
    """A usage journal entry as the ERP holds it."""

    erp_id: int
    external_id: str
    total: Decimal


def erp_usage_journals(url: str) -> list[ErpEntry]:
    """Every usage journal entry in the sandbox ERP, read through its SuiteQL API."""
    api = JournalApi(url, TOKENS.erp, backoff_base=0.0)
    entries: list[ErpEntry] = []
    try:
        offset = 0
        while True:
            body = api.read_client.post_json(SUITEQL_PATH, {"limit": 1000, "offset": offset}, {
                "q": "SELECT id, externalid, foreigntotal FROM transaction WHERE type ="
                     " 'Journal' AND externalid LIKE 'usage:%' ORDER BY id"})
            items = body.get("items") or []
            entries += [ErpEntry(int(row["id"]), str(row["externalid"]),
                                 Decimal(str(row["foreigntotal"]))) for row in items]
            if not body.get("hasMore") or not items:
                return entries
            offset += len(items)
    finally:
        api.close()


def posting_problems(warehouse: Path, before: list[ErpEntry], after: list[ErpEntry],
                     expected: dict[str, Decimal] | None) -> tuple[list[str], int]:
    """Where the ledger and the ERP disagree, and how many entries were posted twice.

    ``before``/``after``: the ERP's usage journals around the posting runs; ``expected``: the
    ledger (external id -> amount) of a fault-free posting run.
    """
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        batches = ledger.list_batches(con)
    finally:
        con.close()
    problems = [f"ledger: {b.external_id} is {b.status} after the rerun"
                for b in batches if b.status != "posted"]
    known = {e.erp_id for e in before}
    new = [e for e in after if e.erp_id not in known]
    per_id = Counter(e.external_id for e in new)
    duplicates = sum(n - 1 for n in per_id.values())
    problems += [f"ERP: {ext} posted {n} times" for ext, n in sorted(per_id.items()) if n > 1]
    held = {e.external_id: e for e in new}
    for batch in batches:
        entry = held.get(batch.external_id)
        if entry is None:
            problems.append(f"ERP: no entry for ledger version {batch.external_id}")
        elif (entry.total, entry.erp_id) != (batch.amount, batch.erp_transaction_id):
            problems.append(f"ERP: {batch.external_id} holds {entry.total} as id "
                            f"{entry.erp_id}; the ledger says {batch.amount} as id "
                            f"{batch.erp_transaction_id}")
    versions = {b.external_id for b in batches}
    problems += [f"ERP: {ext} is not in the ledger" for ext in sorted(held.keys() - versions)]
    ledger_amounts = {b.external_id: b.amount for b in batches}
    if expected is not None and ledger_amounts != expected:
        problems.append(f"ledger differs from the fault-free posting run: "
                        f"{sorted(ledger_amounts.items() ^ expected.items())[:6]}")
    return problems, duplicates


@dataclass(frozen=True)
class PostingReference:
    """The fault-free posting run: its ledger and how many POSTs each point sees."""

    ledger: dict[str, Decimal]
    hits: dict[str, int]


_POSTINGS: dict[Path, PostingReference] = {}


def posting_reference(company: Path, work: Path) -> PostingReference:
    """Post once, fault-free and uncrashed, counting the posting failpoints' hits."""
    key = company.resolve()
    if key in _POSTINGS:
        return _POSTINGS[key]
    ref = reference(company, work)
    warehouse = fresh_dir(work / "posting-reference") / WAREHOUSE
    shutil.copy(ref.built, warehouse)
    with SandboxServer(company, tokens=TOKENS) as server:
        before = erp_usage_journals(server.url)
        failpoints.arm(",".join(f"{point}@{NEVER}" for point in POST_POINTS))
        try:
            stage_post(company, server.url, warehouse)
            hits = failpoints.hits()
        finally:
            failpoints.arm(None)
        problems, duplicates = posting_problems(warehouse, before,
                                                erp_usage_journals(server.url), None)
    if problems or duplicates or not hits:
        raise RuntimeError(f"the fault-free posting run is wrong: {problems[:5]}, {hits}")
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        amounts = {b.external_id: b.amount for b in ledger.list_batches(con)}
    finally:
        con.close()
    _POSTINGS[key] = PostingReference(ledger=amounts, hits=hits)
    return _POSTINGS[key]


# ---- one crash per stage -------------------------------------------------------------------
def _crash_extract(company: Path, ref: Reference, result: CrashResult, scene: Path) -> None:
    warehouse = scene / WAREHOUSE
    with SandboxServer(company, tokens=TOKENS) as server:
        _run_child(["extract", "--company", str(company), "--url", server.url,
                    "--warehouse", str(warehouse)], result.point, result.hit, result)
        if not _rerun(result, stage_extract, company, server.url, warehouse):
            return
    result.mismatches += differences(raw_only(ref.digest),
                                     warehouse_digest(warehouse, RAW_SCHEMAS))


def _crash_post(company: Path, ref: Reference, result: CrashResult, scene: Path,
                work: Path) -> None:
    expected = posting_reference(company, work).ledger
    warehouse = scene / WAREHOUSE
    shutil.copy(ref.built, warehouse)
    with SandboxServer(company, tokens=TOKENS) as server:
        before = erp_usage_journals(server.url)
        _run_child(["post", "--company", str(company), "--url", server.url,
                    "--warehouse", str(warehouse)], result.point, result.hit, result)
        if not _rerun(result, stage_post, company, server.url, warehouse):
            return
        after = erp_usage_journals(server.url)
    problems, result.duplicates_posted = posting_problems(warehouse, before, after, expected)
    result.mismatches += problems
    result.mismatches += differences(ref.digest, warehouse_digest(warehouse))


def _crash_dbt(company: Path, ref: Reference, result: CrashResult, scene: Path) -> None:
    warehouse = scene / WAREHOUSE
    shutil.copy(ref.raw, warehouse)
    target = scene / "dbt-target"
    target.mkdir()
    warm = ref.dbt_target / "partial_parse.msgpack"
    if warm.exists():
        shutil.copy(warm, target / warm.name)
    cfg = api_config(company, NO_URL, warehouse)
    by_time = result.delay is not None
    child = subprocess.Popen(dbt_command(cfg, target), env=dbt_env(warehouse), cwd=scene,
                             start_new_session=True, text=True, stderr=subprocess.STDOUT,
                             stdout=subprocess.DEVNULL if by_time else subprocess.PIPE)
    started = time.perf_counter()
    if by_time:
        try:
            child.wait(timeout=result.delay)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, signal.SIGKILL)
    else:
        assert child.stdout is not None
        finished = 0
        for line in child.stdout:
            finished += bool(NODE_DONE.search(line))
            if finished == result.hit:
                os.killpg(child.pid, signal.SIGKILL)
                result.delay = time.perf_counter() - started
                break
        child.stdout.close()
    child.wait()
    if child.returncode == -signal.SIGKILL:
        result.crashed = True
    elif child.returncode == 0:
        result.not_reached = True
    else:
        result.mismatches.append(f"dbt build failed ({child.returncode}) before the kill")
    if _rerun(result, dbt_build, cfg, warehouse, target):
        result.mismatches += differences(ref.digest, warehouse_digest(warehouse))


def _snapshot_state(path: Path) -> tuple[str, dict[str, str]]:
    """(run id, digest) of a published snapshot, opened read-only like an analyst would."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        [(run_id,)] = con.execute("SELECT run_id FROM main.snapshot_info").fetchall()
    finally:
        con.close()
    return str(run_id), warehouse_digest(path, SNAPSHOT_SCHEMAS)


def _crash_publish(ref: Reference, result: CrashResult, scene: Path) -> None:
    warehouse = scene / WAREHOUSE
    shutil.copy(ref.built, warehouse)
    snapshot = scene / SNAPSHOT
    stage_publish(warehouse, "first")
    first = _snapshot_state(snapshot)
    reader = duckdb.connect(str(snapshot), read_only=True)  # an analyst, mid-query
    try:
        [(before,)] = reader.execute("SELECT count(*) FROM marts.fct_exceptions").fetchall()
        _run_child(["publish", "--warehouse", str(warehouse), "--run-id", "second"],
                   result.point, result.hit, result)
        [(during,)] = reader.execute("SELECT count(*) FROM marts.fct_exceptions").fetchall()
        if during != before:
            result.mismatches.append(f"an open reader saw {during} exceptions, not {before}")
    finally:
        reader.close()
    try:
        kept = _snapshot_state(snapshot)
    except duckdb.Error as exc:
        result.mismatches.append(f"the previous snapshot is unreadable after the crash: {exc}")
    else:
        if kept[0] != first[0]:
            result.mismatches.append(f"the snapshot is run {kept[0]!r}, not the previous "
                                     f"{first[0]!r}")
        result.mismatches += differences(first[1], kept[1])
    result.leftovers = sorted(p.name for p in scene.glob(f".{SNAPSHOT}.*"))
    if _rerun(result, stage_publish, warehouse, "third"):
        again = _snapshot_state(snapshot)
        if again[0] != "third":
            result.mismatches.append(f"the next publish left run {again[0]!r} published")
        result.mismatches += differences(first[1], again[1])
        remaining = sorted(p.name for p in scene.glob(f".{SNAPSHOT}.*"))
        if remaining:
            result.mismatches.append(f"the next publish left the crashed one's files: "
                                     f"{remaining}")


def run_crash_point(company: Path, point: str, hit: int, work: Path, *,
                    delay: float | None = None) -> CrashResult:
    """Crash ``point`` at its ``hit``-th pass, rerun, and check convergence.

    ``dbt.build`` is killed when dbt reports its ``hit``-th finished node, or, given a
    ``delay``, that many seconds after it started.
    """
    if point not in CRASH_POINTS:
        raise ValueError(f"unknown crash point {point!r} (known: {', '.join(CRASH_POINTS)})")
    ref = reference(company, work)
    scene = fresh_dir(work / "crash")
    result = CrashResult(point=point, hit=hit)
    if point in EXTRACT_POINTS:
        _crash_extract(company, ref, result, scene)
    elif point in POST_POINTS:
        _crash_post(company, ref, result, scene, work)
    elif point == SNAPSHOT_POINT:
        _crash_publish(ref, result, scene)
    else:
        result.delay = delay
        _crash_dbt(company, ref, result, scene)
    return result


def hits_of(company: Path, work: Path, point: str) -> int:
    """How often a fault-free run passes ``point`` (dbt: the nodes it finishes)."""
    if point in EXTRACT_POINTS:
        return reference(company, work).extract_hits.get(point, 1)
    if point == DBT_POINT:
        return reference(company, work).dbt_nodes
    if point in POST_POINTS:
        return posting_reference(company, work).hits.get(point, 1)
    return 1


def run_crash_campaign(company: Path, points: int, seed: int, work: Path) -> CrashFigures:
    """``points`` crashes: every point once, then random points, hits drawn from ``seed``."""
    rng = random.Random(seed)
    figures = CrashFigures()
    for number in range(points):
        point = CRASH_POINTS[number] if number < len(CRASH_POINTS) else rng.choice(CRASH_POINTS)
        hit = rng.randint(1, max(1, hits_of(company, work, point)))
        result = run_crash_point(company, point, hit, work)
        figures.points += 1
        figures.crashes_by_point[point] += result.crashed
        figures.not_reached += result.not_reached
        figures.duplicates_posted += result.duplicates_posted
        if result.mismatches:
            figures.mismatches += 1
            figures.mismatch_details.append(f"crash {result.describe()}: "
                                            + "; ".join(result.mismatches[:5]))
    return figures


if __name__ == "__main__":
    sys.exit(main())
