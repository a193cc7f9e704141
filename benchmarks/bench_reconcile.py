"""Reconciliation benchmark: dbt build (every model, test and rule) on an extracted company.

Extraction is excluded: the company is generated and extracted first (or reused with
``--data``), then ``dbt build`` runs in a child process, with the options of the production
build (``PRODUCTION_BUILD_OPTIONS``: dbt unit tests left to the test suite), and its wall time
and peak RSS (DuckDB runs inside it) are reported.  The peer, measured in the same run on the same
warehouse, is one hand-written DuckDB query comparing billing and ERP invoice totals, the
baseline a "just join it" approach gives; the ratio says what the full reconciliation (26
rules, the expected revenue schedule, ~300 data tests) costs relative to it.  Usage:
``python benchmarks/bench_reconcile.py --invoices 100000 1000000 [--work DIR]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

from seeds.generator import generate_company
from tieout.config import load_config
from tieout.extract.service import run_extraction
from tieout.transform.dbt_vars import PROJECT_DIR, dbt_vars_arg
from tieout.transform.invocation import PRODUCTION_BUILD_OPTIONS, dbt_executable
from tieout.warehouse.connection import open_warehouse

PEER = """
select count(*) filter (where e.total is null) as missing,
       count(*) filter (where e.total is not null and e.total <> b.total) as differ
from (select id, total / case upper(currency) when 'JPY' then 1 else 100 end as total
      from raw_billing.invoices where finalized_at is not null) b
full outer join (select externalid, sum(foreigntotal) as total from raw_erp.transaction
                 where type = 'CustInvc' group by externalid) e on e.externalid = b.id
"""


def prepare(root: Path, invoices: int) -> Path:
    """A generated, extracted company (reused when its warehouse already exists)."""
    config = root / "tieout.toml"
    if not (root / "warehouse.duckdb").exists():
        summary = generate_company(root, seed=7, invoices=invoices)
        cfg = load_config(summary.out_dir / "tieout.toml")
        con = open_warehouse(cfg.warehouse, cfg.warehouse_memory_limit)
        try:
            run_extraction(con, cfg)
        finally:
            con.close()
    return config


def dbt_build(config: Path, work: Path) -> dict[str, float]:
    """Wall time and peak RSS of ``dbt build`` in a child process."""
    cfg = load_config(config)
    env = {**os.environ, "TIEOUT_WAREHOUSE": str(cfg.warehouse)}
    args = [dbt_executable(), "build", *PRODUCTION_BUILD_OPTIONS, "--project-dir", str(PROJECT_DIR),
            "--profiles-dir", str(PROJECT_DIR), "--vars", dbt_vars_arg(cfg),
            "--target-path", str(work / "target"), "--log-path", str(work / "logs"), "--quiet",
            "--no-send-anonymous-usage-stats"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"dbt build failed:\n{done.stdout[-3000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    with duckdb.connect(str(cfg.warehouse), read_only=True) as con:
        [(exceptions,)] = con.execute("select count(*) from marts.fct_exceptions").fetchall()
        [(invoices,)] = con.execute("select count(*) from raw_billing.invoices").fetchall()
    return {"seconds": round(seconds, 1), "peak_mb": max(peak, before) // 1024,
            "exceptions": exceptions, "invoices": invoices}


def peer(config: Path) -> float:
    """Seconds for the single-query billing-vs-ERP compare (best of three)."""
    cfg = load_config(config)
    best = float("inf")
    with duckdb.connect(str(cfg.warehouse), read_only=True) as con:
        for _ in range(3):
            started = time.perf_counter()
            con.execute(PEER).fetchall()
            best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invoices", type=int, nargs="+", default=[100_000])
    parser.add_argument("--work", type=Path, default=None,
                        help="keep companies here (reused across runs)")
    args = parser.parse_args()
    base = args.work or Path(tempfile.mkdtemp(prefix="tieout-bench-"))
    for n in args.invoices:
        root = base / f"co-{n}"
        config = prepare(root, n)
        result = dbt_build(config, root / ".bench")
        peer_seconds = peer(config)
        result |= {"peer_single_query_seconds": round(peer_seconds, 2),
                   "ratio_vs_peer": round(result["seconds"] / peer_seconds, 1)}
        print(json.dumps({"target_invoices": n, **result}), flush=True)


if __name__ == "__main__":
    main()
