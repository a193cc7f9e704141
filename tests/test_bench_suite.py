"""`make bench-quick`'s harness on a tiny company: it runs real stages in child processes and
writes a well-formed table and JSON (the numbers themselves are benchmarks' business)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SUITE = Path(__file__).resolve().parents[1] / "benchmarks" / "suite.py"

pytestmark = pytest.mark.slow


def test_suite_writes_a_well_formed_table(tmp_path: Path) -> None:
    md, js = tmp_path / "results.md", tmp_path / "results.json"
    md.write_text("# Benchmark results\n\nnarrative kept\n")
    done = subprocess.run([sys.executable, str(SUITE), "--scales", "T", "--repeat", "1",
                           "--stages", "generator", "extraction", "--work", str(tmp_path / "w"),
                           "--md", str(md), "--json", str(js)],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    text = md.read_text()
    assert text.startswith("# Benchmark results\n\nnarrative kept\n")
    section = text[text.index("<!-- suite:start -->"):text.index("<!-- suite:end -->")]
    rows = [line for line in section.splitlines() if line.startswith("| T ")]
    stages = [row.split(" | ")[1] for row in rows]
    assert stages == ["generator", "extraction (files mode)", "extraction (api mode)"]
    assert all(row.count("|") == 9 for row in rows)
    for row in rows:
        runs, seconds, peak = row.split(" | ")[2:5]
        assert runs == "1"
        assert float(seconds.replace(",", "")) > 0 and float(peak.replace(",", "")) > 0
    data = json.loads(js.read_text())
    assert data["cores"] >= 1 and len(data["rows"]) == len(rows)
    # a second run replaces the section instead of appending another
    again = subprocess.run([sys.executable, str(SUITE), "--scales", "T", "--repeat", "1",
                            "--stages", "generator", "--work", str(tmp_path / "w"),
                            "--md", str(md), "--json", str(js)],
                           capture_output=True, text=True, timeout=300, check=False)
    assert again.returncode == 0, again.stderr[-2000:]
    assert md.read_text().count("<!-- suite:start -->") == 1
