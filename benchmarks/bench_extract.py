"""Extraction benchmark: throughput and peak RSS, files mode and API mode, per company size.

The extraction runs in its own child process (so its peak RSS is its own); in API mode the
sandbox runs in another process and is not counted.  Memory must not grow with source size:
compare peak RSS at 100k and 1M invoices.  Usage:
``python benchmarks/bench_extract.py --invoices 100000 1000000 [--modes files api]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.processes import api_env, sandbox, token_map
from seeds.generator import generate_company
from seeds.generator.writer import write_config

EXTRACT = """
import json, resource, sys
from pathlib import Path
from tieout.config import load_config
from tieout.extract.service import run_extraction
from tieout.warehouse.connection import open_warehouse
cfg = load_config(Path(sys.argv[1]))
con = open_warehouse(cfg.warehouse, cfg.warehouse_memory_limit)
tokens = json.loads(sys.argv[2])
report = run_extraction(con, cfg, [s for s in ("billing", "erp", "revrec", "usage")],
                        tokens=tokens)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(json.dumps({"rows": report.received, "seconds": report.seconds, "peak_mb": peak}))
"""


def _config(company: Path, mode: str, url: str | None, memory_limit: str) -> Path:
    path = write_config(company, seed=7, invoices=0, mode=mode,
                        base_url=url or "http://127.0.0.1:8765", name=f"tieout-{mode}.toml",
                        warehouse=f"warehouse-{mode}.duckdb")
    text = path.read_text().replace('memory_limit = "1GB"', f'memory_limit = "{memory_limit}"')
    path.write_text(text)
    return path


def run(company: Path, mode: str, memory_limit: str = "1GB") -> dict[str, object]:
    """One extraction of ``company`` in ``mode`` in a child process."""
    env = api_env() if mode == "api" else dict(os.environ)
    tokens = token_map(env) if mode == "api" else {}
    with sandbox(company, env) if mode == "api" else contextlib.nullcontext("") as url:
        config = _config(company, mode, url or None, memory_limit)
        (company / f"warehouse-{mode}.duckdb").unlink(missing_ok=True)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", EXTRACT, str(config), json.dumps(tokens)],
                              env=env, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - started
    result = json.loads(done.stdout.strip().splitlines()[-1])
    rows = int(result["rows"])
    return {"mode": mode, "rows": rows, "wall_seconds": round(wall, 1),
            "rows_per_second": round(rows / wall), "peak_rss_mb": result["peak_mb"]}


def main() -> int:
    """Run the matrix of sizes and modes; one JSON line per run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, nargs="+", default=[100_000])
    parser.add_argument("--modes", nargs="+", default=["files", "api"])
    parser.add_argument("--data", type=Path, help="reuse a generated company (one size)")
    parser.add_argument("--memory-limit", default="1GB", help="DuckDB memory_limit to use")
    args = parser.parse_args()
    for invoices in args.invoices:
        with tempfile.TemporaryDirectory(prefix="tieout-bench-") as tmp:
            company = args.data or Path(tmp) / "company"
            if args.data is None:
                generate_company(company, invoices=invoices)
            for mode in args.modes:
                print(json.dumps({"invoices": invoices, "cores": os.cpu_count(),
                                  "memory_limit": args.memory_limit,
                                  **run(company, mode, args.memory_limit)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
