"""The benchmark suite: every stage at S/M/L, each peer in the same run, one table.

Runs the stage benchmarks (each already runs its measured work in a child process, so peak
RSS is that child's own) ``--repeat`` times per scale and keeps the median, then writes
``benchmarks/results.json`` and the table between the suite markers in
``benchmarks/results.md``.  Scales: S = 10k invoices / 1M usage events, M = 100k / 10M,
L = 1M / 100M.  ``make bench-quick`` is S with one repeat; ``make bench`` is all three.
The nightly stage (``bench_nightly.py``) measures the whole ``tieout run`` on a fresh
warehouse in files and API mode, the close report + workbook, and the incremental run after a
1% upstream change, whose peer is the full run in the same mode.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCALES = {"S": (10_000, 1_000_000), "M": (100_000, 10_000_000), "L": (1_000_000, 100_000_000),
          "T": (300, 20_000)}  # T: the test suite's smoke run only
STAGES = ("generator", "extraction", "dbt", "usage", "compare", "nightly")
START, END = "<!-- suite:start -->", "<!-- suite:end -->"


def _run(script: str, *args: str) -> list[dict[str, Any]]:
    """One benchmark script in its own process; its JSON lines."""
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    done = subprocess.run([sys.executable, str(HERE / script), *args], capture_output=True,
                          text=True, check=False, env=env)
    if done.returncode != 0:
        tail = " ".join((done.stderr or done.stdout).split())[-400:]
        raise SystemExit(f"{script} {' '.join(args)} failed: {tail}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def _median(runs: list[dict[str, Any]], key: str) -> float | None:
    values = [float(r[key]) for r in runs if r.get(key) is not None]
    return round(statistics.median(values), 2) if values else None


def stages(scale: str, repeat: int, work: Path, only: tuple[str, ...] = STAGES,
           api_repeat: int | None = None) -> list[dict[str, Any]]:
    """Every stage of one scale: name, seconds (median), peak MB, peer and ratio."""
    invoices, events = SCALES[scale]
    company = work / f"co-{invoices}"
    api_repeat = repeat if api_repeat is None else api_repeat
    rows: list[dict[str, Any]] = []

    if "generator" in only:
        gen = [_run("bench_generator.py", "--invoices", str(invoices))[-1]
               for _ in range(repeat)]
        rows.append({"stage": "generator", "seconds": _median(gen, "seconds"),
                     "peak_mb": _median(gen, "peak_rss_mb")})
    if not company.joinpath("manifest.json").exists():
        from seeds.generator import generate_company

        generate_company(company, seed=7, invoices=invoices)
    measured = {
        "extraction": lambda: _extraction(invoices, company, repeat, api_repeat),
        "dbt": lambda: _dbt(invoices, work, repeat),
        "usage": lambda: _usage(events, work, repeat),
        "compare": lambda: _compare(invoices, work, repeat),
        "nightly": lambda: _nightly(company, work, repeat, api_repeat),
    }
    for name, run in measured.items():
        if name not in only:
            continue
        try:
            rows += run()
        except SystemExit as failed:  # keep the other stages' figures; say what failed
            print(f"stage {name} at {scale} failed: {failed}", file=sys.stderr, flush=True)
            rows.append({"stage": name, "seconds": None, "note": f"failed: {failed}"[:300],
                         "failed": True})
    for row in rows:
        row |= {"scale": scale, "invoices": invoices, "events": events}
        row.setdefault("runs", repeat)
        if row.get("peer_seconds"):
            ratio = row["seconds"] / row["peer_seconds"]
            row["ratio_to_peer"] = round(ratio, 1 if ratio >= 10 else 3)
    return rows


def _extraction(invoices: int, company: Path, repeat: int,
                api_repeat: int) -> list[dict[str, Any]]:
    rows = []
    for mode, runs in (("files", repeat), ("api", api_repeat)):
        ex = [_run("bench_extract.py", "--invoices", str(invoices), "--modes", mode,
                   "--data", str(company))[-1] for _ in range(runs)]
        rows.append({"stage": f"extraction ({mode} mode)", "seconds": _median(ex, "wall_seconds"),
                     "peak_mb": _median(ex, "peak_rss_mb"), "runs": runs})
    return rows


def _dbt(invoices: int, work: Path, repeat: int) -> list[dict[str, Any]]:
    build = [_run("bench_reconcile.py", "--invoices", str(invoices), "--work", str(work))[-1]
             for _ in range(repeat)]  # the first run also extracts the company
    return [{"stage": "dbt build + rules", "seconds": _median(build, "seconds"),
             "peak_mb": _median(build, "peak_mb"), "peer": "one DuckDB query",
             "peer_seconds": _median(build, "peer_single_query_seconds")}]


def _usage(events: int, work: Path, repeat: int) -> list[dict[str, Any]]:
    usage = [_run("bench_usage_journals.py", "--events", str(events), "--work",
                  str(work / "usage"))[-1] for _ in range(repeat)]
    return [{"stage": "usage rating + aggregation",
             "seconds": _median(usage, "aggregate_seconds"),
             "peak_mb": _median(usage, "aggregate_peak_mb"), "peer": "one DuckDB query",
             "peer_seconds": _median(usage, "peer_seconds")},
            {"stage": "posting to the sandbox", "seconds": _median(usage, "post_seconds"),
             "peak_mb": _median(usage, "post_peak_mb")}]


def _nightly(company: Path, work: Path, repeat: int,
             api_repeat: int) -> list[dict[str, Any]]:
    """The whole run in both modes, the close pack, and the incremental run: its ratio is
    to the full run in the same mode (in API mode only changed records are fetched)."""
    runs = {mode: [_run("bench_nightly.py", "--data", str(company), "--mode", mode, "--work",
                        str(work / "nightly"))[-1] for _ in range(count)]
            for mode, count in (("files", repeat), ("api", api_repeat))}
    for mode, results in runs.items():
        for result in results:
            for run in ("full_truth", "incremental_truth"):
                if not result[run]["equals_truth"]:
                    raise SystemExit(f"nightly ({mode}): {run} differs from the ground truth: "
                                     f"{result[run]}")
    files, api = runs["files"], runs["api"]
    return [
        {"stage": "report + workbook", "seconds": _median(files, "pack_seconds"),
         "peak_mb": _median(files, "pack_peak_mb")},
        {"stage": "whole nightly run (files mode)", "seconds": _median(files, "full_seconds"),
         "peak_mb": _median(files, "full_peak_mb")},
        {"stage": "whole nightly run (api mode)", "seconds": _median(api, "full_seconds"),
         "peak_mb": _median(api, "full_peak_mb"), "runs": api_repeat},
        {"stage": "incremental run after a 1% change (files mode)",
         "seconds": _median(files, "incremental_seconds"),
         "peak_mb": _median(files, "incremental_peak_mb"), "peer": "full run, files mode",
         "peer_seconds": _median(files, "full_seconds")},
        {"stage": "incremental run after a 1% change (api mode)",
         "seconds": _median(api, "incremental_seconds"),
         "peak_mb": _median(api, "incremental_peak_mb"), "peer": "full run, api mode",
         "peer_seconds": _median(api, "full_seconds"), "runs": api_repeat},
    ]


def _compare(invoices: int, work: Path, repeat: int) -> list[dict[str, Any]]:
    """The invoice compare and its peers (``benchmarks.compare``), one row per peer; ratios
    to the DuckDB floor.  datacompy runs from its own venv (it needs polars < 1.45)."""
    out = work / "compare"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.compare.run", "--rows", str(invoices), "--repeat",
         str(repeat), "--work", str(out), "--json", str(out / "suite.json"), "--markdown",
         str(out / "suite.md"), "--setup-datacompy"], cwd=HERE.parent, capture_output=True,
        text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"invoice compare failed: {' '.join(done.stderr.split())[-400:]}")
    [scale] = json.loads((out / "suite.json").read_text())["scales"]
    peers = scale["peers"]
    floor = peers["duckdb_sql"]["seconds"]
    return [{"stage": f"invoice compare: {name}", "seconds": round(peer["seconds"], 3)
             if peer.get("seconds") else None, "peak_mb": round(peer["peak_mb"])
             if peer.get("peak_mb") else None, "peer": "one DuckDB query",
             "peer_seconds": round(floor, 3), "note": peer.get("status", ""),
             "equals_truth": peer.get("equals_truth")}
            for name, peer in peers.items()]


def table(rows: list[dict[str, Any]]) -> str:
    """The markdown table of the suite."""
    lines = [f"Cores: {os.cpu_count()}. Medians of the repeats; peak RSS of the measured child.",
             "", "| scale | stage | runs | seconds | peak MB | peer | peer seconds | ratio |",
             "|---|---|---|---|---|---|---|---|"]

    def cell(r: dict[str, Any], key: str) -> str:
        value = r.get(key)
        if value is None:
            return ""
        return f"{value:,}" if isinstance(value, int | float) else str(value)

    for r in rows:
        seconds = cell(r, "seconds") or r.get("note", "")
        lines.append(f"| {r['scale']} ({r['invoices']:,} inv / {r['events']:,} ev) | "
                     f"{r['stage']} | {r.get('runs', '')} | {seconds} | {cell(r, 'peak_mb')} | "
                     f"{cell(r, 'peer')} | {cell(r, 'peer_seconds')} | "
                     f"{cell(r, 'ratio_to_peer')} |")
    return "\n".join(lines)


def merged(rows: list[dict[str, Any]], js: Path) -> list[dict[str, Any]]:
    """This run's rows with the previous results.json's rows of other scales and stages (so
    measuring L, or one stage, alone does not drop the other figures)."""
    if not js.exists():
        return rows
    fresh = {(r["scale"], r["stage"]) for r in rows}
    kept = [r for r in json.loads(js.read_text()).get("rows", [])
            if (r["scale"], r["stage"]) not in fresh and r.get("seconds") is not None]
    order = list(SCALES)
    return sorted(kept + rows, key=lambda r: order.index(r["scale"]))


def write_results(rows: list[dict[str, Any]], md: Path, js: Path) -> None:
    """results.json (every row) and the suite section of results.md (replaced in place)."""
    js.write_text(json.dumps({"cores": os.cpu_count(), "measured_at": time.strftime(
        "%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "rows": rows}, indent=1) + "\n")
    text = md.read_text() if md.exists() else "# Benchmark results\n"
    section = f"{START}\n{table(rows)}\n{END}"
    if START in text and END in text:
        text = text[:text.index(START)] + section + text[text.index(END) + len(END):]
    else:
        text += f"\n## Suite (`make bench`, `make bench-quick`)\n\n{section}\n"
    md.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", nargs="+", choices=list(SCALES), default=list(SCALES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--api-repeat", type=int, default=None,
                        help="runs of the API-mode extraction and nightly stages (default: "
                             "--repeat); at L one API run extracts for ten minutes")
    parser.add_argument("--stages", nargs="+", choices=STAGES, default=list(STAGES))
    parser.add_argument("--work", type=Path, default=None, help="keep companies here")
    parser.add_argument("--md", type=Path, default=HERE / "results.md")
    parser.add_argument("--json", type=Path, default=HERE / "results.json")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="tieout-suite-"))
    rows = [row for scale in args.scales
            for row in stages(scale, args.repeat, work, tuple(args.stages), args.api_repeat)]
    rows = merged(rows, args.json)
    write_results(rows, args.md, args.json)
    print(table(rows))
    return 1 if any(r.get("failed") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
