"""Seeded API-fault runs against the sandbox, each compared with a fault-free run.

DESIGN §10: a run that met rate limits, 5xx, slow answers, dropped connections and pages that
repeat or shift must end with the same warehouse as a run that met none.  One fault run:

1. draw a mix of fault kinds, rates, targets and a page size from the seed (``fault_mix``);
2. serve the company from a ``SandboxServer`` with that spec, and extract billing, ERP, revrec
   and support in API mode into a fresh warehouse (reference data and usage are files, which
   no fault touches, so they are landed once and copied in);  an extraction that gives up
   after its retries is simply run again, as the next night would;
3. optionally ``dbt build`` it (production options, a child process);
4. digest it with ``state.warehouse_digest``.

What it is compared with: the fault-free run, unless a ``mutate`` fault fired.  A mutated
record really changed at the source (its ``updated`` moved forward), so no correct run can
match the original data any more; then the run is followed by one fault-free incremental run
(the next night) and compared with a fault-free full extraction of the source as it now is.
That checks what "changing records across pages" can break: a changed record lost to the
watermark, or kept twice.  (The source as it now is: the fault-free warehouse with the systems
that changed extracted again in full - records only ever change, none disappear.)

A run can aim every fault at one system (``only``, e.g. the support platform when it was
added): it then starts from the fault-free warehouse with that system's raw tables and
watermarks emptied, extracts only that system, and pages it in small pages so the faults meet
many pages of a small source.  The comparison is the same.

dbt always builds warehouses named ``warehouse.duckdb`` and is given that name relative to
its working directory, so every build sees the same profile and reuses one partial parse.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import random
import re
import shutil
import subprocess
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from seeds.generator import generate_company
from seeds.sandbox import SandboxServer, SandboxTokens
from seeds.sandbox.faults import FaultInjector, parse_fault_spec
from tieout import failpoints
from tieout.config import TieoutConfig, load_config
from tieout.errors import TieoutError
from tieout.extract.service import run_extraction
from tieout.transform.dbt_vars import PROJECT_DIR, dbt_vars_arg
from tieout.transform.invocation import PRODUCTION_BUILD_OPTIONS, dbt_executable
from tieout.warehouse.connection import open_warehouse
from tieout.warehouse.schema import RAW_SCHEMAS as SCHEMA_OF

from .state import RAW_SCHEMAS, differences, warehouse_digest

TOKENS = SandboxTokens(billing="sk_test_reliability-billing", erp="reliability-erp-token",
                       revrec="reliability-revrec-key", support="reliability-support-token")
TOKEN_MAP = {"billing": TOKENS.billing, "erp": TOKENS.erp, "revrec": TOKENS.revrec,
             "support": TOKENS.support}
API_SOURCES = ["billing", "erp", "revrec", "support"]
FILE_SOURCES = ["reference", "usage"]
WAREHOUSE = "warehouse.duckdb"
EXTRACT_POINTS = ("extract.unit.staged", "extract.unit.before_commit")
NODE_DONE = re.compile(r"\d+ of \d+ (?:OK|PASS|WARN|ERROR|FAIL|SKIP|NO-OP)\b")
NEVER = 10**9  # a hit no run reaches: arming a point there only counts its hits
FAST: dict[str, Any] = {"sleep": lambda seconds: None}  # retries without real waiting
EXTRACTION_TRIES = 3  # nights an extraction may fail (retries exhausted) before it is a finding

FAILURE_KINDS = ("429", "500", "503", "drop")
MIX_KINDS = (*FAILURE_KINDS, "slow", "duplicate", "mutate")
TARGETS = ("*", "*", "billing.*", "erp.*", "revrec.*", "support.*")
PAGED_TARGETS = ("*", "billing.*", "revrec.*", "support.*")
PAGE_SIZES = (25, 50, 100)  # small pages: more requests to fail, slower runs
ONLY_PAGE_SIZES = (2, 3, 5)  # one system's faults: its (small) tables over many pages
FAILURE_BUDGET = 0.3  # total failure rate per request: 8 attempts all failing stays ~1e-4


@dataclass(frozen=True)
class FaultMix:
    """The faults of one run, as a sandbox spec, and the page size the client asks for."""

    seed: int
    spec: str
    page_size: int
    kinds: tuple[str, ...]
    only: str | None = None  # the one system every fault is aimed at (None: all of them)

    @property
    def mutates(self) -> bool:
        """Whether the source may change during the run (then a final-state reference)."""
        return "mutate" in self.kinds


def fault_mix(seed: int, only: str | None = None) -> FaultMix:
    """A random mix of kinds, each at a random rate on a random target, drawn from ``seed``.

    Failure rates share ``FAILURE_BUDGET`` so a run almost always finishes within the
    client's retries; when one does not, the run is repeated like a failed night.  ``only``
    (a system) aims every rule at that system and picks a small page size.
    """
    rng = random.Random(seed)
    targets = TARGETS if only is None else (f"{only}.*",)
    paged = PAGED_TARGETS if only is None else (f"{only}.*",)
    kinds = [k for k in MIX_KINDS if rng.random() < (0.3 if k == "mutate" else 0.6)]
    if not any(k in FAILURE_KINDS for k in kinds):
        kinds.append(rng.choice(FAILURE_KINDS))
    if "duplicate" not in kinds and "mutate" not in kinds and rng.random() < 0.5:
        kinds.append("duplicate")
    kinds.sort(key=MIX_KINDS.index)
    failures = {k: rng.uniform(0.02, 0.12) for k in kinds if k in FAILURE_KINDS}
    scale = min(1.0, FAILURE_BUDGET / sum(failures.values()))
    items = []
    for kind in kinds:
        if kind in failures:
            rate, target = failures[kind] * scale, rng.choice(targets)
        elif kind == "slow":
            rate, target = rng.uniform(0.02, 0.1), rng.choice(targets)
        else:  # duplicate / mutate: only paged lists (not the ERP's keyset paging)
            rate, target = rng.uniform(0.1, 0.3), rng.choice(paged)
        items.append(f"{target}:{kind}={rate:.3f}")
    items += [f"slow_ms={rng.randint(5, 60)}", "retry_after=0"]
    sizes = PAGE_SIZES if only is None else ONLY_PAGE_SIZES
    return FaultMix(seed=seed, spec=",".join(items), page_size=rng.choice(sizes),
                    kinds=tuple(kinds), only=only)


def shared_company(base: Path, seed: int = 3, invoices: int = 300) -> Path:
    """The suite's small company under ``base``, generated by the first module that asks.

    Test modules run in one process share it, and with it the fault-free reference (the
    costly part: an extraction and a dbt build).  Seed 3 posts a dozen usage journals.
    """
    out = base / f"reliability-company-{seed}-{invoices}"
    if not (out / "tieout.toml").exists():
        generate_company(out, seed=seed, invoices=invoices)
    return out


def api_config(company: Path, url: str, warehouse: Path) -> TieoutConfig:
    """The company's configuration with its API sources (billing, ERP, revrec, and support
    when the company has it) in API mode at ``url``."""
    cfg = load_config(company / "tieout.toml")
    sources = {name: dataclasses.replace(src, mode="api", base_url=url)
               if name in API_SOURCES else src for name, src in cfg.sources.items()}
    return dataclasses.replace(cfg, warehouse=warehouse, sources=sources)


def fresh_dir(path: Path) -> Path:
    """An empty directory at ``path`` (whatever an earlier run left there is removed)."""
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def extract(cfg: TieoutConfig, sources: list[str] | None = None, *, full: bool = False,
            client_options: dict[str, Any] | None = None) -> None:
    """One extraction run into ``cfg.warehouse``, connection closed afterwards."""
    con = open_warehouse(cfg.warehouse)
    try:
        run_extraction(con, cfg, sources, full=full, tokens=TOKEN_MAP,
                       client_options=client_options)
    finally:
        con.close()


def dbt_command(cfg: TieoutConfig, target: Path) -> list[str]:
    """``dbt build`` with the production options, writing only under ``target``; one line
    per finished node on stdout (``NODE_DONE``), which is how a crash test finds its moment."""
    return [dbt_executable(), "build", *PRODUCTION_BUILD_OPTIONS, "--project-dir",
            str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR), "--vars", dbt_vars_arg(cfg),
            "--target-path", str(target), "--log-path", str(target / "logs"),
            "--no-use-colors", "--no-send-anonymous-usage-stats"]


def dbt_env(warehouse: Path) -> dict[str, str]:
    """The child environment: the warehouse by its bare name (run dbt in its folder)."""
    assert warehouse.name == WAREHOUSE, warehouse
    return {**os.environ, "TIEOUT_WAREHOUSE": WAREHOUSE}


def dbt_build(cfg: TieoutConfig, warehouse: Path, target: Path) -> tuple[float, int]:
    """Build ``warehouse`` in a child process: (wall seconds, nodes finished).  A failed
    build raises."""
    started = time.perf_counter()
    done = subprocess.run(dbt_command(cfg, target), env=dbt_env(warehouse),
                          cwd=warehouse.parent, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"dbt build of {warehouse} failed ({done.returncode}): "
                           f"{(done.stdout + done.stderr)[-2000:]}")
    return time.perf_counter() - started, len(NODE_DONE.findall(done.stdout))


@dataclass(frozen=True)
class Reference:
    """The fault-free run of a company, and what the crash tests start from.

    ``base``: reference data and usage only (file sources); ``raw``: base plus billing, ERP
    and revrec extracted fault-free; ``built``: raw after ``dbt build`` (what posting and the
    snapshot start from); ``dbt_seconds``/``dbt_nodes``: how long that build took and how many
    nodes (models and tests) it finished; ``dbt_target``: a dbt target folder whose partial
    parse is warm;
    ``extract_hits``: how often a full extraction passes each extraction failpoint.
    """

    company: Path
    base: Path
    raw: Path
    built: Path
    digest: dict[str, str]
    dbt_seconds: float
    dbt_nodes: int
    dbt_target: Path
    extract_hits: dict[str, int]


_REFERENCES: dict[Path, Reference] = {}


def reference(company: Path, work: Path) -> Reference:
    """The fault-free run of ``company`` (built once per process and company)."""
    if os.environ.get(failpoints.ENV):  # the in-process runs would kill the test runner
        raise RuntimeError(f"unset {failpoints.ENV}: only the crash tests' children set it")
    key = company.resolve()
    if key in _REFERENCES:
        return _REFERENCES[key]
    root = fresh_dir(work / "reference")
    base = fresh_dir(root / "base") / WAREHOUSE
    raw = fresh_dir(root / "raw") / WAREHOUSE
    failpoints.arm(",".join(f"{point}@{NEVER}" for point in EXTRACT_POINTS))  # count only
    try:
        extract(api_config(company, "http://127.0.0.1:9", base), FILE_SOURCES)
        shutil.copy(base, raw)
        with SandboxServer(company, tokens=TOKENS) as server:
            extract(api_config(company, server.url, raw), API_SOURCES)
        hits = failpoints.hits()
    finally:
        failpoints.arm(None)
    built = fresh_dir(root / "built") / WAREHOUSE
    shutil.copy(raw, built)
    cfg = api_config(company, "http://127.0.0.1:9", built)
    seconds, nodes = dbt_build(cfg, built, root / "dbt-target")
    found = Reference(company=company, base=base, raw=raw, built=built,
                      digest=warehouse_digest(built), dbt_seconds=seconds, dbt_nodes=nodes,
                      dbt_target=root / "dbt-target", extract_hits=hits)
    _REFERENCES[key] = found
    return found


def fault_free_reference(company: Path, work: Path) -> dict[str, str]:
    """Digest of the fault-free warehouse (raw, intermediate and marts) of ``company``."""
    return reference(company, work).digest


def raw_only(digest: dict[str, str]) -> dict[str, str]:
    """The raw tables of a digest (what a run without ``dbt build`` can be compared on)."""
    return {k: v for k, v in digest.items() if k.split(".", 1)[0] in RAW_SCHEMAS}


@dataclass
class FaultRun:
    """One seeded fault run: what was injected and where the warehouse ended.

    With a ``builds`` executor the dbt build and the digests finish in the background;
    ``wait()`` (and ``mismatches()``) block until they have.
    """

    mix: FaultMix
    faults_by_kind: Counter[str]
    faults_by_system: Counter[str]
    requests: int
    failed_extractions: int  # runs that gave up (retries exhausted) before one succeeded
    marts: bool  # dbt build ran: intermediate and marts are in the digest
    caught_up: bool  # the source changed during the run: a catch-up run followed it
    digest: dict[str, str] = field(default_factory=dict)
    expected: dict[str, str] | None = None  # the source's final state, when it changed
    error: str | None = None  # the extraction never succeeded, or dbt failed
    pending: Future[None] | None = field(default=None, repr=False)

    def wait(self) -> FaultRun:
        """Block until the background build and digests (if any) are done."""
        if self.pending is not None:
            self.pending.result()
            self.pending = None
        return self

    def mismatches(self, fault_free: dict[str, str]) -> list[str]:
        """Differences from what the run must equal (empty when it converged)."""
        self.wait()
        if self.error:
            return [self.error]
        expected = self.expected if self.expected is not None else fault_free
        if not self.marts:
            expected = raw_only(expected)
        return differences(expected, self.digest)

    def describe(self) -> str:
        """Seed, spec and page size: enough to rerun exactly this run."""
        aimed = f", only {self.mix.only}" if self.mix.only else ""
        return f"seed {self.mix.seed} (page {self.mix.page_size}{aimed}, {self.mix.spec})"


def _faults_off(server: SandboxServer) -> None:
    """Serve fault-free from now on, keeping the source as the faults left it.

    The sandbox holds its data in memory, so the changed source only exists in this server;
    swapping its injector is the one way to read it again without faults.
    """
    server._injector = FaultInjector(parse_fault_spec(None), server.seed)


def _forget(warehouse: Path, system: str) -> None:
    """Empty ``system``'s raw tables and watermarks, as if it had never been extracted."""
    schema = SCHEMA_OF[system]
    with duckdb.connect(str(warehouse)) as con:
        tables = con.execute("SELECT table_name FROM information_schema.tables WHERE "
                             "table_schema = ? AND table_type = 'BASE TABLE'", [schema]).fetchall()
        for (table,) in tables:
            con.execute(f'DELETE FROM "{schema}"."{table}"')
        con.execute("DELETE FROM ops.watermarks WHERE source = ?", [system])


def _extract_until_done(cfg: TieoutConfig, options: dict[str, Any],
                        sources: list[str]) -> tuple[int, str | None]:
    """Extract ``sources``, again after a run that gave up; (failed runs, last error)."""
    failed, error = 0, None
    for _ in range(EXTRACTION_TRIES):
        try:
            extract(cfg, sources, client_options=options)
            return failed, None
        except TieoutError as exc:
            failed, error = failed + 1, f"extraction failed {failed + 1} times: {exc}"
    return failed, error


def run_fault_run(company: Path, seed: int, work: Path, *, build_marts: bool = True,
                  builds: Executor | None = None, only: str | None = None) -> FaultRun:
    """One seeded fault run of ``company`` (see the module docstring), under ``work``.

    ``builds``: a one-worker executor to run the dbt build and digests on, so the next run's
    extraction (this process, one core) overlaps this run's build (a child, the other core).
    ``only``: aim every fault at this system and extract only it (see the module docstring).
    """
    ref = reference(company, work)
    mix = fault_mix(seed, only)
    scene = fresh_dir(work / f"run-{seed}")
    warehouse = fresh_dir(scene / "run") / WAREHOUSE
    if only is None:
        shutil.copy(ref.base, warehouse)
    else:
        shutil.copy(ref.raw, warehouse)
        _forget(warehouse, only)
    final: Path | None = None
    with SandboxServer(company, tokens=TOKENS, faults=mix.spec, seed=seed) as server:
        cfg = api_config(company, server.url, warehouse)
        failed, error = _extract_until_done(cfg, {**FAST, "page_size": mix.page_size},
                                            API_SOURCES if only is None else [only])
        counts = server.fault_counts
        requests = sum(server.request_counts.values())
        changed = sorted({endpoint.split(".")[0] for endpoint, kind in counts
                          if kind == "mutate"})
        if error is None and changed:
            _faults_off(server)
            final = fresh_dir(scene / "final") / WAREHOUSE
            shutil.copy(ref.raw, final)  # the changed systems read again in full, fault-free
            try:
                extract(cfg, changed)  # the next night, incremental (the rest did not change)
                extract(api_config(company, server.url, final), changed, full=True)
            except TieoutError as exc:
                error = f"the fault-free catch-up failed: {exc}"
    by_kind: Counter[str] = Counter()
    by_system: Counter[str] = Counter()
    for (endpoint, kind), count in counts.items():
        by_kind[kind] += count
        by_system[endpoint.split(".")[0]] += count
    run = FaultRun(mix=mix, faults_by_kind=by_kind, faults_by_system=by_system,
                   requests=requests,
                   failed_extractions=failed, marts=build_marts and error is None,
                   caught_up=final is not None, error=error)
    if error is not None:
        shutil.rmtree(scene, ignore_errors=True)
        return run
    job = functools.partial(_finish, run, cfg, scene, warehouse, final, ref.dbt_target)
    if builds is not None and run.marts:
        run.pending = builds.submit(job)
    else:
        job()
    return run


def _finish(run: FaultRun, cfg: TieoutConfig, scene: Path, warehouse: Path,
            final: Path | None, dbt_target: Path) -> None:
    """Build (when asked), digest, and remove the run's files."""
    try:
        if run.marts:
            dbt_build(cfg, warehouse, dbt_target)
            if final is not None:
                dbt_build(cfg, final, dbt_target)
        run.digest = _digest(warehouse, run.marts)
        if final is not None:
            run.expected = _digest(final, run.marts)
    except Exception as exc:  # a finding of this run, not the end of a campaign
        run.error = f"{type(exc).__name__}: {exc}"
    finally:
        shutil.rmtree(scene, ignore_errors=True)


def _digest(warehouse: Path, marts: bool) -> dict[str, str]:
    return warehouse_digest(warehouse) if marts else warehouse_digest(warehouse, RAW_SCHEMAS)


def run_fault_runs(company: Path, seeds: Iterable[int], work: Path,
                   build_marts: Callable[[int], bool] = lambda seed: True,
                   backlog: int = 2, only: str | None = None) -> Iterator[FaultRun]:
    """Fault runs for ``seeds`` in order, finished; builds overlap the next extractions.

    At most ``backlog`` builds wait at a time, so a campaign's disk use stays bounded.
    ``only`` aims every run's faults at one system (``run_fault_run``).
    """
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="dbt-build") as builds:
        waiting: deque[FaultRun] = deque()
        for seed in seeds:
            waiting.append(run_fault_run(company, seed, work, build_marts=build_marts(seed),
                                         builds=builds, only=only))
            while waiting and (waiting[0].pending is None
                               or sum(r.pending is not None for r in waiting) > backlog):
                yield waiting.popleft().wait()
        while waiting:
            yield waiting.popleft().wait()


@dataclass
class FaultFigures:
    """What a fault campaign injected and found."""

    runs: int = 0
    faults_by_kind: Counter[str] = field(default_factory=Counter)
    mismatches: int = 0
    mismatch_details: list[str] = field(default_factory=list)
    marts_built: int = 0
    caught_up: int = 0  # runs whose source changed (mutate), compared after a catch-up run
    failed_extractions: int = 0  # extractions that gave up and were run again
    requests: int = 0


def run_fault_campaign(company: Path, runs: int, seed: int, work: Path) -> FaultFigures:
    """``runs`` fault runs with seeds drawn from ``seed``, every one built and compared."""
    fault_free = fault_free_reference(company, work)
    rng = random.Random(seed)
    figures = FaultFigures()
    for run in run_fault_runs(company, [rng.randrange(2**31) for _ in range(runs)], work):
        figures.runs += 1
        figures.faults_by_kind.update(run.faults_by_kind)
        figures.marts_built += run.marts
        figures.caught_up += run.caught_up
        figures.failed_extractions += run.failed_extractions
        figures.requests += run.requests
        problems = run.mismatches(fault_free)
        if problems:
            figures.mismatches += 1
            figures.mismatch_details.append(f"fault run {run.describe()}: "
                                            + "; ".join(problems[:5]))
    return figures
