"""The `tieout` command line: clear help, one-line errors, no tracebacks."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tieout.cli.main import main

COMMANDS = [[], ["sandbox"], ["sandbox", "generate"], ["sandbox", "serve"], ["demo"], ["rules"],
            ["status"], ["report"], ["run"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "tieout")
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: tieout") and "Traceback" not in out


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("tieout: error: ")
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


@pytest.mark.parametrize(("argv", "needle"), [
    (["sandbox", "generate", "--out", "x", "--bogus"], "No such option: --bogus"),
    (["sandbox", "generate"], "Missing option '--out'"),
    (["sandbox", "generate", "--out", "x", "--invoices", "many"], "'--invoices'"),
    (["sandbox", "generate", "--out", "x", "--invoices", "1"], "'--invoices'"),
    (["sandbox", "generate", "--out", "x", "--rates", "missing.toml"], "does not exist"),
    (["sandbox", "serve", "--data", "nowhere"], "is not a generated company"),
    (["sandbox", "serve", "--data", ".", "--host", "0.0.0.0"], "loopback"),
    (["sandbox", "serve", "--data", ".", "--port", "70000"], "'--port'"),
    (["nope"], "No such command 'nope'"),
])
def test_bad_input_is_one_line(argv: list[str], needle: str,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert needle in _one_error_line(capsys)


def test_rates_and_clean_conflict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rates = tmp_path / "r.toml"
    rates.write_text("[rates]\nAMOUNT_MISMATCH = 0.1\n")
    assert main(["sandbox", "generate", "--out", str(tmp_path / "o"), "--rates", str(rates),
                 "--clean"]) == 2
    assert "mutually exclusive" in _one_error_line(capsys)


def test_bad_rates_file_names_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rates = tmp_path / "r.toml"
    rates.write_text("[rates]\nWRONG = 0.1\n")
    assert main(["sandbox", "generate", "--out", str(tmp_path / "o"), "--rates",
                 str(rates)]) == 2
    line = _one_error_line(capsys)
    assert str(rates) in line and "WRONG" in line


def test_generate_writes_a_company(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "co"
    assert main(["sandbox", "generate", "--out", str(out), "--invoices", "300", "--seed",
                 "5"]) == 0
    for name in ("ground_truth.csv", "tieout.toml", "manifest.json",
                 "billing/invoices.parquet", "erp/transaction.parquet",
                 "revrec/revenue_schedules.parquet", "reference/fx_rates.parquet"):
        assert (out / name).is_file(), name
    assert "Planted discrepancies" in capsys.readouterr().out


def test_console_script_exit_code_without_traceback(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "tieout", "sandbox", "generate", "--out",
                           str(tmp_path), "--invoices", "x"], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1


@pytest.mark.parametrize(("argv", "needle"), [
    (["run", "--config", "missing.toml"], "missing.toml does not exist"),
    (["run", "--config", "x.toml", "--only", "dbt"], "--only dbt: unknown stage"),
])
def test_run_rejects_bad_input_in_one_line(argv: list[str], needle: str, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    if "x.toml" in argv:
        (tmp_path / "x.toml").write_text("")
        argv = [a.replace("x.toml", str(tmp_path / "x.toml")) for a in argv]
    assert main(argv) != 0
    assert needle in _one_error_line(capsys)
