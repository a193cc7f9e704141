"""Smoke run of the invoice compare benchmark: the table and the JSON, not the numbers.

Only the peers that need no extra (tieout and the DuckDB floor) at 2,000 invoices, one run
each, through the real command line, so every peer still runs in its own child process.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.compare.common import KINDS, REPO
from benchmarks.compare.run import check_environment

PEERS = ("tieout", "duckdb_sql")


def cells(line: str) -> list[str]:
    assert line.startswith("| ") and line.endswith(" |"), line
    return [c.strip() for c in line[2:-2].split(" | ")]


def test_quick_run_writes_a_well_formed_table_and_json(tmp_path: Path) -> None:
    md, js = tmp_path / "results.md", tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.compare.run", "--rows", "2000", "--repeat", "1",
         "--peers", *PEERS, "--timeout", "120", "--work", str(tmp_path / "work"),
         "--markdown", str(md), "--json", str(js)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr

    results = json.loads(js.read_text())
    [scale] = results["scales"]
    assert scale["rows"] == 2000
    assert results["meta"]["cpu_count"] >= 1
    truth = scale["truth"]
    assert set(truth) == set(KINDS) and all(truth[k] > 0 for k in KINDS)
    for peer in PEERS:
        summary = scale["peers"][peer]
        assert summary["status"] == "ok"
        assert summary["counts"] == truth
        assert summary["equals_truth"] is True
        assert summary["peak_mb"] > 0 and summary["seconds"] > 0

    text = md.read_text()
    assert "2 cores" in text or f"{results['meta']['cpu_count']} cores" in text
    table = [line for line in text.splitlines() if line.startswith("|")]
    header, separator, truth_row, *rows = table
    head = cells(header)
    assert head[:2] == ["rows", "peer"] and head[-2:] == ["= truth", "why"]
    assert separator == "|" + "---|" * len(head)
    assert cells(truth_row)[1] == "*truth*"
    assert [cells(r)[1] for r in rows] == list(PEERS)
    counts_at = head.index("× dc-polars") + 1
    for row in (truth_row, *rows):
        assert len(cells(row)) == len(head)
        assert [int(c) for c in cells(row)[counts_at:counts_at + len(KINDS)]] == [
            truth[k] for k in KINDS]
    for row in rows:
        assert cells(row)[head.index("= truth")] == "yes"
        assert float(cells(row)[head.index("s (median)")]) > 0
    assert cells(rows[1])[head.index("× floor")] == "1.00"  # the floor against itself


def test_a_missing_datacompy_interpreter_is_one_clear_line(tmp_path: Path) -> None:
    message = check_environment(["datacompy_polars"], tmp_path / "no" / "python")
    assert message is not None and "\n" not in message and "--setup-datacompy" in message
    assert check_environment(["tieout", "duckdb_sql"], tmp_path / "no" / "python") is None
