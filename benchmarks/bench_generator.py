"""Generator benchmark: wall time and peak RSS of `tieout sandbox generate` at a given size.

Each run is its own child process so its peak RSS is its own (``RUSAGE_CHILDREN`` after the
child exits).  The target from the foundation issue: 1,000,000 invoices in <= 60 s and
<= 4 GB on 2 cores.  Usage: ``python benchmarks/bench_generator.py --invoices 1000000``.
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

CHILD = """
import logging, sys, time
from pathlib import Path
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(message)s")
from seeds.generator import generate_company
s = generate_company(Path(sys.argv[1]), seed=int(sys.argv[2]), invoices=int(sys.argv[3]))
print(sum(s.rows.values()), s.rows["billing/invoices"], s.rows["usage/events"])
"""


def run_once(out: Path, invoices: int, seed: int) -> dict[str, float]:
    """Generate once in a fresh interpreter; wall seconds and that child's peak RSS in MB."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, str(out), str(seed), str(invoices)],
                          check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    rows, n_invoices, events = (int(x) for x in done.stdout.split())
    sys.stderr.write("".join(line + "\n" for line in done.stderr.splitlines()
                             if line.startswith("stage")))
    return {"seconds": round(wall, 2), "peak_rss_mb": round(peak_kb / 1024),
            "rows": rows, "invoices": n_invoices, "usage_events": events}


def main() -> int:
    """Run the benchmark and print one JSON line per run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write (default: a temporary directory, removed after)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tieout-bench-") as tmp:
        out = args.out or Path(tmp) / "company"
        result = run_once(out, args.invoices, args.seed)
    result["cores"] = os.cpu_count() or 0
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
