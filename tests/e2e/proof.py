"""Build a generated company through extraction and dbt, and compare with its ground truth.

Shared by the end-to-end proof tests and the benchmark: the comparison is the set of
(rule, natural_key) pairs, the one thing both the generator and the pipeline must agree on.
"""

from __future__ import annotations

import csv
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb

from tieout.config import TieoutConfig
from tieout.extract.service import run_extraction
from tieout.transform.dbt_vars import PROJECT_DIR, dbt_vars_arg
from tieout.transform.invocation import PRODUCTION_BUILD_OPTIONS, dbt_executable
from tieout.warehouse.connection import open_warehouse

Key = tuple[str, str]


@dataclass(frozen=True)
class Comparison:
    """Ground truth against fct_exceptions for one company."""

    expected: dict[Key, dict[str, str]]
    quiet: set[Key]
    reported: dict[Key, tuple[str, str]]  # key -> (difference, reason)

    @property
    def false_positives(self) -> list[Key]:
        return sorted(set(self.reported) - set(self.expected))

    @property
    def false_negatives(self) -> list[Key]:
        return sorted(set(self.expected) - set(self.reported))

    def report(self) -> str:
        """The differing rows, for an assertion message."""
        lines = [f"expected {len(self.expected)}, reported {len(self.reported)}"]
        lines += [f"  not expected: {k} {self.reported[k]}" for k in self.false_positives[:50]]
        lines += [f"  not reported: {k} {self.expected[k]['detail']} "
                  f"(difference {self.expected[k]['difference']})"
                  for k in self.false_negatives[:50]]
        return "\n".join(lines)


def build(cfg: TieoutConfig, work: Path, select: str = "+fct_exceptions +fct_in_transit",
          command: str = "build") -> None:
    """Extract ``cfg``'s company into its warehouse and run dbt on it (target/logs in work)."""
    con = open_warehouse(cfg.warehouse)
    try:
        run_extraction(con, cfg)
    finally:
        con.close()
    env = {**os.environ, "TIEOUT_WAREHOUSE": str(cfg.warehouse)}
    args = [
        # as production builds: the dbt unit tests run once, in tests/test_reconcile_run.py
        dbt_executable(), command, *(PRODUCTION_BUILD_OPTIONS if command == "build" else ()),
        "--project-dir", str(PROJECT_DIR),
        "--profiles-dir", str(PROJECT_DIR), "--select", select,
        "--indirect-selection", "cautious", "--vars", dbt_vars_arg(cfg),
        "--target-path", str(work / "target"), "--log-path", str(work / "logs"),
        "--quiet", "--no-send-anonymous-usage-stats",
    ]
    # A subprocess, as the pipeline runs dbt: no DuckDB connection outlives the build.
    done = subprocess.run(args, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise AssertionError(f"dbt {command} failed:\n{done.stdout[-4000:]}{done.stderr[-2000:]}")


def compare(company_dir: Path, warehouse: Path) -> Comparison:
    """Read ground_truth.csv and marts.fct_exceptions."""
    expected: dict[Key, dict[str, str]] = {}
    quiet: set[Key] = set()
    with (company_dir / "ground_truth.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            key = (row["rule"], row["natural_key"])
            if row["expected_reported"] == "true":
                expected[key] = row
            else:
                quiet.add(key)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("select rule, natural_key, cast(difference as varchar), reason "
                           "from marts.fct_exceptions").fetchall()
    return Comparison(expected, quiet, {(r, k): (d, why) for r, k, d, why in rows})


def per_rule(comparison: Comparison) -> list[tuple[str, int, int, int, float, float]]:
    """(rule, expected, reported, true positives, precision, recall) per rule code."""
    rules = sorted({r for r, _ in comparison.expected} | {r for r, _ in comparison.reported})
    rows = []
    for rule in rules:
        expected = {k for k in comparison.expected if k[0] == rule}
        reported = {k for k in comparison.reported if k[0] == rule}
        hits = len(expected & reported)
        rows.append((rule, len(expected), len(reported), hits,
                     hits / len(reported) if reported else 1.0,
                     hits / len(expected) if expected else 1.0))
    return rows


if __name__ == "__main__":  # python -m tests.e2e.proof COMPANY_DIR [COMPANY_DIR ...]
    import sys

    totals: dict[str, list[int]] = {}
    for folder in sys.argv[1:]:
        root = Path(folder)
        for rule, n_exp, n_rep, hits, _, _ in per_rule(compare(root, root / "warehouse.duckdb")):
            acc = totals.setdefault(rule, [0, 0, 0])
            acc[0] += n_exp
            acc[1] += n_rep
            acc[2] += hits
    print("| rule | expected | reported | precision | recall |")
    print("|---|---:|---:|---:|---:|")
    for rule, (n_exp, n_rep, hits) in sorted(totals.items()):
        precision = hits / n_rep if n_rep else 1.0
        recall = hits / n_exp if n_exp else 1.0
        print(f"| {rule} | {n_exp} | {n_rep} | {precision:.3f} | {recall:.3f} |")
