"""The reliability campaign: many more fault runs, crash points and fuzzed records than CI
affords, with one figures table at the end.

``make campaign`` (or ``python -m tests.reliability.campaign --fault-runs 200
--crash-points 50 --fuzz-examples 500``).  Exits non-zero when any run did not converge to the
fault-free warehouse, any journal was posted twice or any input crashed the pipeline, so it
can gate a release.  Everything runs on this machine: the sandbox on 127.0.0.1, generated
companies under ``--work``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from seeds.generator import generate_company

from .crashes import run_crash_campaign
from .faults import run_fault_campaign
from .hostile import run_fuzz_campaign


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fault-runs", type=int, default=200)
    parser.add_argument("--crash-points", type=int, default=50)
    parser.add_argument("--fuzz-examples", type=int, default=500)
    parser.add_argument("--invoices", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="tieout-campaign-"))
    console = Console()

    started = time.perf_counter()
    company = generate_company(work / "company", seed=args.seed, invoices=args.invoices).out_dir
    with console.status(f"{args.fault_runs} fault runs"):
        faults = run_fault_campaign(company, args.fault_runs, args.seed, work / "faults")
    with console.status(f"{args.crash_points} crash points"):
        crashes = run_crash_campaign(company, args.crash_points, args.seed, work / "crashes")
    with console.status(f"{args.fuzz_examples} fuzzed inputs"):
        fuzz = run_fuzz_campaign(args.fuzz_examples, args.seed, work / "fuzz")
    elapsed = time.perf_counter() - started

    table = Table("figure", "value", title=f"Reliability campaign (seed {args.seed}, "
                                           f"{args.invoices} invoices, {elapsed:.0f} s)")
    table.columns[1].justify = "right"
    table.add_row("fault runs", f"{faults.runs:,}")
    for kind, count in sorted(faults.faults_by_kind.items()):
        table.add_row(f"  faults injected: {kind}", f"{count:,}")
    table.add_row("crashes injected", f"{sum(crashes.crashes_by_point.values()):,}")
    for point, count in sorted(crashes.crashes_by_point.items()):
        table.add_row(f"  at {point}", f"{count:,}")
    table.add_row("  crash points not reached (rerun anyway)", f"{crashes.not_reached:,}")
    table.add_row("fuzz cases", f"{fuzz.cases:,}")
    table.add_row("records fuzzed", f"{fuzz.records_fuzzed:,}")
    table.add_row("records received / landed / quarantined",
                  f"{fuzz.received:,} / {fuzz.landed:,} / {fuzz.quarantined:,}")
    table.add_row("tracebacks on hostile input (must be 0)", f"{fuzz.crashes:,}")
    mismatches = faults.mismatches + crashes.mismatches + fuzz.mismatches
    table.add_row("mismatches found (must be 0)", f"{mismatches:,}")
    table.add_row("duplicates posted (must be 0)", f"{crashes.duplicates_posted:,}")
    console.print(table)
    for line in [*faults.mismatch_details, *crashes.mismatch_details, *fuzz.details][:50]:
        console.print(f"[red]{line}[/red]")
    return 1 if mismatches or crashes.duplicates_posted or fuzz.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
