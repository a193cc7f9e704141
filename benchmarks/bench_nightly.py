"""Nightly-run benchmark: the whole ``tieout run``, the close pack, and the next night.

On a copy of a generated company (its exports only, a fresh warehouse and Dagster home):
1. ``full``: ``tieout run`` as the nightly schedule runs it (extract every source, dbt build
   with its tests, usage journals when the ERP is an API, the rule checks, the review sync and
   the analysts' snapshot), in a child process;
2. ``pack``: the close report of the period being closed plus the review workbook
   (``tieout report`` and ``tieout exceptions export``, one child each, seconds summed);
3. ``incremental``: ``--change`` of the records touched upstream (``seeds.generator.drift``:
   benign edits, modification stamps moved to now), then ``tieout run`` again.  In API mode
   the sandbox restarts on the changed company and extraction fetches only what changed
   since its watermarks; in files mode the exports are full snapshots and are read again.

Peak RSS is the largest total of the child's process tree (dbt runs as a grandchild); the
sandbox runs in its own process and is not counted.  After each run the warehouse's
exceptions are compared with the company's ground truth, so a fast wrong run cannot pass.
Usage: ``python benchmarks/bench_nightly.py --data COMPANY --mode files|api [--work DIR]``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.processes import Measured, api_env, measure, sandbox
from seeds.generator.drift import touch_fraction
from seeds.generator.writer import write_config
from tests.e2e.proof import compare
from tieout.config import load_config
from tieout.review import default_close_period

STAGE = re.compile(r"^(extract|transform|journals|rules)\s+.* in ([0-9.]+) s$")


def copy_company(company: Path, dest: Path) -> Path:
    """The company's exports, manifest and truth, without any warehouse or run state."""
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(company, dest, ignore=shutil.ignore_patterns(
        "*.duckdb", "*.duckdb.wal", "*.duckdb.tmp", ".tieout", ".bench", "reports", "*.toml"))
    return dest


def _tieout(*args: str) -> list[str]:
    return [sys.executable, "-m", "tieout", *args]


def _checked(step: str, done: Measured) -> Measured:
    if done.returncode != 0:
        tail = " ".join((done.stderr + done.stdout).split())[-600:]
        raise SystemExit(f"{step} failed (exit {done.returncode}): {tail}")
    return done


def _stages(stdout: str) -> dict[str, float]:
    """The seconds of each stage from ``tieout run``'s progress lines."""
    found = {}
    for line in stdout.splitlines():
        match = STAGE.match(line.strip())
        if match:
            found[match.group(1)] = float(match.group(2))
    return found


def _truth(company: Path, warehouse: Path) -> dict[str, Any]:
    result = compare(company, warehouse)
    return {"equals_truth": not result.false_positives and not result.false_negatives,
            "false_positives": len(result.false_positives),
            "false_negatives": len(result.false_negatives)}


@contextlib.contextmanager
def _source(company: Path, mode: str, env: dict[str, str]) -> Iterator[Path]:
    """The configuration to run with: files mode as generated, or API mode against a sandbox
    serving the company as it is on disk now."""
    if mode == "files":
        yield write_config(company, seed=7, invoices=0)
        return
    with sandbox(company, env) as url:
        yield write_config(company, seed=7, invoices=0, mode="api", base_url=url)


def nightly(company: Path, work: Path, mode: str, change: float) -> dict[str, Any]:
    """The three measurements on a fresh copy of ``company`` under ``work``."""
    dest = copy_company(company, work / f"nightly-{mode}")
    env = api_env() if mode == "api" else dict(os.environ)
    env["DAGSTER_HOME"] = str(dest / ".tieout" / "dagster")
    env["COLUMNS"] = "200"  # keep tieout's progress lines on one line each
    Path(env["DAGSTER_HOME"]).mkdir(parents=True)
    out: dict[str, Any] = {"mode": mode, "cores": os.cpu_count()}

    with _source(dest, mode, env) as config:
        full = _checked("full run", measure(_tieout("run", "--config", str(config)), env=env))
    cfg = load_config(config)
    out |= {"full_seconds": full.seconds, "full_peak_mb": full.peak_mb,
            "full_stages": _stages(full.stdout), "full_truth": _truth(dest, cfg.warehouse)}

    period = default_close_period(cfg.as_of, cfg.accounting_timezone)
    report = _checked("report", measure(_tieout("report", "--config", str(config),
                                                "--period", period), env=env))
    workbook = _checked("workbook", measure(_tieout(
        "exceptions", "export", "--config", str(config), "--format", "xlsx",
        "--out", str(dest / "reports" / "review-queue.xlsx")), env=env))
    out |= {"pack_seconds": round(report.seconds + workbook.seconds, 2),
            "pack_peak_mb": max(report.peak_mb, workbook.peak_mb), "period": period}

    out["touched"] = touch_fraction(dest, change, dt.datetime.now(dt.UTC))
    with _source(dest, mode, env) as config:
        inc = _checked("incremental run", measure(_tieout("run", "--config", str(config)),
                                                  env=env))
    out |= {"change": change, "incremental_seconds": inc.seconds,
            "incremental_peak_mb": inc.peak_mb, "incremental_stages": _stages(inc.stdout),
            "incremental_truth": _truth(dest, cfg.warehouse),
            "incremental_ratio": round(inc.seconds / full.seconds, 3)}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="a generated company")
    parser.add_argument("--mode", choices=("files", "api"), default="files")
    parser.add_argument("--change", type=float, default=0.01,
                        help="share of records touched before the incremental run")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="tieout-nightly-"))
    result = nightly(args.data.resolve(), work.resolve(), args.mode, args.change)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
