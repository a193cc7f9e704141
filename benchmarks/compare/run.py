"""Invoice compare benchmark: tieout and its peers side by side on the same Parquet files.

For each scale, ``data.generate`` writes billing and ERP invoices with planted discrepancies
and their exact truth; then every peer runs ``--repeat`` times (round robin, so background
load falls on all peers alike), each run in its own child process so the peak RSS it reports
is its own.  Seconds are read + compare measured inside the child (imports excluded; the
``s incl. start`` column adds interpreter start and imports); the table shows medians.

tieout's counts and the DuckDB floor's must equal the truth at every scale: if not, the run
still writes its table and then exits 1.  Other peers' differences are explained from the
planted breakdown (what their known behaviour predicts); a difference the model does not
predict is marked as unexplained.

datacompy 1.1 pins polars < 1.45 and tieout needs polars 2 (datacompy's polars join still
passes ``join_nulls``, removed in polars 2.0), so the datacompy peers run under their own
interpreter: ``--setup-datacompy`` creates it at ``--datacompy-python``'s venv from
``requirements-datacompy.txt``.  The pandas baseline needs the ``bench`` extra.

Usage::

    python -m benchmarks.compare.run --rows 10000 100000 1000000 --repeat 3 \\
        --timeout 600 --setup-datacompy
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.compare.common import KINDS, REPO
from benchmarks.compare.data import generate
from benchmarks.compare.peers import PEERS

PEER_ORDER: tuple[str, ...] = tuple(PEERS)
FLOOR = "duckdb_sql"
DATACOMPY_POLARS = "datacompy_polars"
DATACOMPY_PEERS = frozenset({"datacompy_polars", "datacompy_pandas"})
MUST_EQUAL_TRUTH = ("tieout", FLOOR)
DEFAULT_WORK = REPO / "benchmarks" / "out" / "compare"
DEFAULT_DATACOMPY_PYTHON = REPO / ".tieout" / "venv-datacompy" / "bin" / "python"
REQUIREMENTS = Path(__file__).with_name("requirements-datacompy.txt")
SHORT = {"missing_in_right": "miss ERP", "missing_in_left": "miss billing",
         "duplicate_left": "dup billing", "duplicate_right": "dup ERP", "amount": "amount",
         "currency": "currency", "customer_id": "customer", "status": "status"}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000],
                        help="billing invoices per scale (default 10000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per peer and scale")
    parser.add_argument("--peers", nargs="+", choices=PEER_ORDER, default=list(PEER_ORDER))
    parser.add_argument("--timeout", type=float, default=600.0,
                        help="seconds one peer run may take; later runs of a peer that did "
                             "not finish are skipped")
    parser.add_argument("--work", type=Path, default=DEFAULT_WORK, help="data and results")
    parser.add_argument("--json", type=Path, help="results JSON (default WORK/results.json)")
    parser.add_argument("--markdown", type=Path, help="table (default WORK/results.md)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--datacompy-python", type=Path,
                        default=Path(os.environ.get("TIEOUT_DATACOMPY_PYTHON",
                                                    DEFAULT_DATACOMPY_PYTHON)),
                        help="interpreter with datacompy 1.1 (see requirements-datacompy.txt)")
    parser.add_argument("--setup-datacompy", action="store_true",
                        help="create the datacompy interpreter's venv if it is missing")
    return parser.parse_args(argv)


def setup_datacompy(python: Path) -> None:
    """Create the datacompy venv (``python`` is its bin/python) from the pinned requirements."""
    if python.exists():
        return
    venv = python.parent.parent
    print(f"creating {venv} for the datacompy peers", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", str(REQUIREMENTS)],
                   check=True)


def check_environment(peers: list[str], datacompy_python: Path) -> str | None:
    """One line saying what to install, or None when every chosen peer can run."""
    if "pandas_merge" in peers and importlib.util.find_spec("pandas") is None:
        return ("pandas_merge needs the bench extra: "
                ".venv/bin/pip install -e '.[bench]' -c constraints.txt")
    if DATACOMPY_PEERS & set(peers):
        probe = [str(datacompy_python), "-c", "import datacompy, pandas, polars, pyarrow"]
        ok = datacompy_python.exists() and subprocess.run(
            probe, capture_output=True, check=False).returncode == 0
        if not ok:
            return (f"the datacompy peers need their own interpreter ({datacompy_python} "
                    "cannot import datacompy; datacompy 1.1 pins polars<1.45, tieout needs "
                    "polars 2): rerun with --setup-datacompy, or --peers without them")
    return None


def run_child(python: Path, peer: str, data_dir: Path, timeout: float) -> dict[str, Any]:
    """One peer run in its own process: its JSON line plus wall time including start."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p)}
    started = time.perf_counter()
    try:
        done = subprocess.run([str(python), "-m", "benchmarks.compare.peers", peer,
                               str(data_dir)], cwd=REPO, env=env, capture_output=True,
                              text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"status": "timeout"}
    wall = time.perf_counter() - started
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"status": "error", "error": tail[:300]}
    return {"status": "ok", "wall_with_start": wall, **json.loads(lines[-1])}


def predicted_counts(peer: str, truth: dict[str, int],
                     planted: dict[str, int]) -> tuple[dict[str, int], list[str]]:
    """What a peer's known behaviour predicts it counts on this data, and the reasons why.

    The reasons name each mechanism with the number of keys it moves; the numbers come from
    the generator's planted breakdown, so a peer that matches its prediction is explained
    exactly, not just plausibly.
    """
    counts = dict(truth)
    reasons: list[str] = []
    dup_left, dup_right = planted["duplicate_left"], planted["duplicate_right"]
    flagged = planted["amount_at_tolerance_float64_flagged"]
    if peer in DATACOMPY_PEERS:
        counts.update(duplicate_left=0, duplicate_right=0)
        counts["missing_in_right"] += dup_left
        counts["missing_in_left"] += dup_right
        jpy, first = planted["amount_at_tolerance_jpy"], planted["duplicate_first_copy_changed"]
        counts["amount"] += flagged + jpy + first
        reasons += [
            f"pairs duplicate keys by row order instead of reporting them ({dup_left} billing, "
            f"{dup_right} ERP): each unpaired copy becomes a unique row (missing +{dup_left} "
            f"/ +{dup_right})" + (f" and {first} changed first copies become amount "
                                  "mismatches" if first else ""),
            f"float64 tolerance flags {flagged} exact 1-cent differences",
            f"one abs_tol for every currency flags {jpy} exact 1-yen differences",
        ]
    elif peer == "pandas_merge":
        changed, nulls = planted["duplicate_with_changed_copy"], planted["status_null_both"]
        counts.update(duplicate_left=0, duplicate_right=0)
        counts["amount"] += flagged + changed
        counts["status"] += nulls
        reasons += [
            "no grain check: duplicate keys are not reported and fan out"
            + (f" ({changed} changed copies become amount mismatches)" if changed else ""),
            f"float64 tolerance flags {flagged} exact 1-cent differences",
            f"NULL != NULL: {nulls} statuses NULL on both sides flagged",
        ]
    return counts, [r for r in reasons if " flags 0 " not in r]  # drop what moved nothing


def summarise(peer: str, runs: list[dict[str, Any]], truth: dict[str, int],
              planted: dict[str, int], timeout: float) -> dict[str, Any]:
    """Medians of the finished runs, counts checked against the truth and the peer's model."""
    done = [r for r in runs if r["status"] == "ok"]
    summary: dict[str, Any] = {"runs": runs}
    if not done:
        last = runs[-1] if runs else {"status": "skipped"}
        summary["status"] = last["status"]
        summary["note"] = (f"did not finish in {timeout:g} s" if last["status"] == "timeout"
                           else last.get("error", last.get("note", "")))
        return summary
    counts = done[0]["counts"]
    if any(r["counts"] != counts for r in done):
        raise RuntimeError(f"{peer} counted differently between repeats")
    equal = counts == truth
    predicted, reasons = predicted_counts(peer, truth, planted)
    if equal:
        why = ""
    elif counts == predicted:
        why = "; ".join(reasons)
    else:
        differs = [k for k in KINDS if counts[k] != predicted[k]]
        why = f"UNEXPLAINED difference in {', '.join(differs)}"
    summary.update(
        status="ok", counts=counts, equals_truth=equal, why=why,
        seconds=statistics.median(r["seconds"] for r in done),
        wall_with_start=statistics.median(r["wall_with_start"] for r in done),
        peak_mb=statistics.median(r["peak_mb"] for r in done),
        versions=done[0]["versions"], finished_runs=len(done),
    )
    if len(done) < len(runs):
        summary["note"] = f"{len(runs) - len(done)} of {len(runs)} runs did not finish"
    return summary


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every scale, every peer, ``repeat`` times each; returns the results document."""
    gave_up: dict[str, str] = {}  # peer -> why its larger scales are skipped
    scales = []
    for rows in sorted(args.rows):
        data_dir = args.work / f"rows_{rows}"
        started = time.perf_counter()
        generated = generate(data_dir, rows, seed=args.seed)
        print(f"{rows:,} invoices: data ready in {time.perf_counter() - started:.1f} s "
              f"({data_dir})", flush=True)
        runs: dict[str, list[dict[str, Any]]] = {peer: [] for peer in args.peers}
        for repeat in range(args.repeat):
            for peer in args.peers:
                if peer in gave_up:
                    if not runs[peer]:
                        runs[peer].append({"status": "skipped", "note": gave_up[peer]})
                    continue
                python = args.datacompy_python if peer in DATACOMPY_PEERS else Path(
                    sys.executable)
                result = run_child(python, peer, data_dir, args.timeout)
                runs[peer].append(result)
                shown = (f"{result['seconds']:.3f} s, {result['peak_mb']:.0f} MB"
                         if result["status"] == "ok" else result["status"])
                print(f"  {peer} run {repeat + 1}: {shown}", flush=True)
                if result["status"] == "timeout":
                    gave_up[peer] = (f"skipped: did not finish in {args.timeout:g} s "
                                     f"at {rows:,}")
        peers = {peer: summarise(peer, runs[peer], generated["truth"], generated["planted"],
                                 args.timeout) for peer in args.peers}
        scales.append({"rows": rows, "billing_rows": generated["billing_rows"],
                       "erp_rows": generated["erp_rows"], "truth": generated["truth"],
                       "planted": generated["planted"], "peers": peers})
    return {"meta": meta(args), "scales": scales}


def meta(args: argparse.Namespace) -> dict[str, Any]:
    """Machine and run settings for the table's header."""
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
            "cpu_count": os.cpu_count(), "python": platform.python_version(),
            "repeat": args.repeat, "timeout": args.timeout, "seed": args.seed,
            "peers": list(args.peers)}


def _ratio(value: float | None, base: float | None) -> str:
    return f"{value / base:.2f}" if value is not None and base else ""


def markdown(results: dict[str, Any]) -> str:
    """The side-by-side table: seconds, MB, ratios, counts per kind, truth and why."""
    m = results["meta"]
    lines = [
        "# Invoice compare: billing vs ERP, tieout and its peers",
        "",
        f"Machine: {m['cpu_count']} cores, Python {m['python']}; {m['date']}. Median of "
        f"{m['repeat']} runs, each peer run in its own process (peak RSS is its own). "
        "Seconds: reading both Parquet files and comparing, measured inside the child; "
        "*s incl. start* adds interpreter start and imports. Ratios are seconds over the "
        "DuckDB floor's and over datacompy-polars'. Counts are keys per kind; *truth* is "
        f"the planted count. Timeout {m['timeout']:g} s per run.",
        "",
    ]
    versions: dict[str, str] = {}  # peer -> its libraries (two interpreters are in play)
    for scale in results["scales"]:
        for peer, summary in scale["peers"].items():
            if summary.get("versions"):
                versions[peer] = ", ".join(f"{k} {v}" for k, v in summary["versions"].items()
                                           if v != "?")
    if versions:
        lines += ["Versions: " + "; ".join(f"{peer}: {v}" for peer, v in versions.items())
                  + ".", ""]
    head = ["rows", "peer", "s (median)", "s incl. start", "peak MB", "× floor",
            "× dc-polars", *(SHORT[k] for k in KINDS), "= truth", "why"]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for scale in results["scales"]:
        peers = scale["peers"]
        floor = peers.get(FLOOR, {}).get("seconds")
        polars = peers.get(DATACOMPY_POLARS, {}).get("seconds")
        rows = f"{scale['rows']:,}"
        lines.append("| " + " | ".join([rows, "*truth*", "", "", "", "", "",
                                        *(str(scale["truth"][k]) for k in KINDS), "", ""])
                     + " |")
        for peer, s in peers.items():
            if s["status"] != "ok":
                cells = [rows, peer, s.get("note", s["status"]), "", "", "", "",
                         *([""] * len(KINDS)), "", ""]
            else:
                cells = [rows, peer, f"{s['seconds']:.3f}", f"{s['wall_with_start']:.2f}",
                         f"{s['peak_mb']:,.0f}", _ratio(s["seconds"], floor),
                         _ratio(s["seconds"], polars), *(str(s["counts"][k]) for k in KINDS),
                         "yes" if s["equals_truth"] else "no", s["why"]]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def failures(results: dict[str, Any]) -> list[str]:
    """Scales where tieout or the DuckDB floor did not answer exactly the truth."""
    out = []
    for scale in results["scales"]:
        for peer in MUST_EQUAL_TRUTH:
            s = scale["peers"].get(peer)
            if s is None:
                continue
            if s["status"] != "ok":
                out.append(f"{peer} at {scale['rows']:,}: {s.get('note') or s['status']}")
            elif not s["equals_truth"]:
                out.append(f"{peer} at {scale['rows']:,}: counted {s['counts']}, "
                           f"truth {scale['truth']}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; 1 when tieout (or the floor) is wrong, 2 when a peer can't run."""
    args = parse_args(argv)
    if args.setup_datacompy and DATACOMPY_PEERS & set(args.peers):
        setup_datacompy(args.datacompy_python)
    problem = check_environment(args.peers, args.datacompy_python)
    if problem:
        print(problem, file=sys.stderr)
        return 2
    args.work.mkdir(parents=True, exist_ok=True)
    results = run(args)
    table = markdown(results)
    json_path = args.json or args.work / "results.json"
    md_path = args.markdown or args.work / "results.md"
    json_path.parent.mkdir(parents=True, exist_ok=True)
    md_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    md_path.write_text(table)
    print()
    print(table)
    print(f"wrote {md_path} and {json_path}")
    wrong = failures(results)
    if wrong:
        print("FAIL: tieout or the DuckDB floor did not answer the planted truth:\n  "
              + "\n  ".join(wrong), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
