"""`tieout exceptions` review commands and `tieout close`, as a controller uses them."""

from __future__ import annotations

import csv
import io
import multiprocessing
import time
from pathlib import Path

import pytest

from tieout.cli.main import main
from tieout.review import history

from .world import World, make_world


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def _cli(*args: str) -> int:
    return main(list(args))


def _ids(world: World, capsys: pytest.CaptureFixture[str], *options: str) -> list[str]:
    assert _cli("exceptions", "list", "--config", str(world.config), "--format", "csv",
                *options) == 0
    return [r["exception_id"] for r in csv.DictReader(io.StringIO(capsys.readouterr().out))]


def _error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("tieout: error: "), captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


def test_list_filters_and_sorts(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(world.config)
    assert _cli("exceptions", "assign", "e2", "alice", "--config", config) == 0
    capsys.readouterr()
    assert _ids(world, capsys) == ["e1", "e2", "e5", "e3", "e4"]  # by rule, then key
    assert _ids(world, capsys, "--owner", "ALICE") == ["e2"]
    assert _ids(world, capsys, "--entity", "US01") == ["e1", "e5", "e3"]
    assert _ids(world, capsys, "--period", "2025-11") == ["e4"]
    assert _ids(world, capsys, "--min-amount", "12.50") == ["e1", "e3", "e4"]
    assert _ids(world, capsys, "--sort", "amount") == ["e3", "e4", "e1", "e5", "e2"]
    assert _ids(world, capsys, "--rule", "amount_mismatch", "--status", "open") == ["e1",
                                                                                   "e2"]


def test_resolved_exceptions_are_listed_by_status_only(world: World,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    import datetime as dt

    from .world import ROWS, T0
    world.run([r for r in ROWS if r.exception_id != "e4"], "run-2", T0 + dt.timedelta(days=1))
    assert "e4" not in _ids(world, capsys)  # the default is what the latest run detected
    assert _ids(world, capsys, "--status", "resolved") == ["e4"]


@pytest.mark.parametrize(("options", "message"), [
    (["--status", "closed"], "--status: unknown status 'closed'"),
    (["--sort", "size"], "--sort size: choose from"),
    (["--period", "2025-13"], "--period 2025-13: expected an accounting period as YYYY-MM"),
    (["--min-amount", "ten"], "--min-amount ten: not a number"),
    (["--min-amount", "-1"], "--min-amount -1: must be a non-negative amount"),
])
def test_bad_list_options_are_one_line(world: World, capsys: pytest.CaptureFixture[str],
                                       options: list[str], message: str) -> None:
    assert _cli("exceptions", "list", "--config", str(world.config), *options) == 2
    assert message in _error(capsys)


def test_edit_commands_record_who_and_why(world: World,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    config = str(world.config)
    assert _cli("exceptions", "assign", "e1", "alice", "--config", config, "--actor",
                "dana") == 0
    assert _cli("exceptions", "investigate", "e1", "--config", config, "--actor", "alice") == 0
    assert _cli("exceptions", "note", "e1", "credit memo pending", "--config", config,
                "--actor", "alice") == 0
    assert _cli("exceptions", "waive", "e1", "--reason", "below threshold after FX",
                "--config", config, "--actor", "dana", "--revision", "4") == 0
    with world.connect() as con:
        trail = [(h["actor"], h["field"], h["old_value"], h["new_value"], h["reason"])
                 for h in history(con, "e1")][1:]
    assert trail == [("dana", "owner", None, "alice", None),
                     ("alice", "status", "open", "investigating", None),
                     ("alice", "note", None, "credit memo pending", None),
                     ("dana", "status", "investigating", "waived", "below threshold after FX")]
    out = capsys.readouterr().out
    assert "status investigating -> waived (revision 5)" in out


@pytest.mark.parametrize(("args", "message"), [
    (["waive", "e1"], "--reason is required to mark an exception waived"),
    (["resolve", "e1", "--reason", " "], "--reason is required to mark an exception resolved"),
    (["assign", "nope", "alice"], "unknown exception 'nope'"),
    (["note", "e1", "  "], "the note is empty"),
    (["assign", "e1", "bob", "--revision", "7"], "was changed by tieout"),
])
def test_bad_edits_are_one_line_and_change_nothing(world: World,
                                                    capsys: pytest.CaptureFixture[str],
                                                    args: list[str], message: str) -> None:
    assert _cli("exceptions", *args, "--config", str(world.config)) == 2
    assert message in _error(capsys)
    with world.connect() as con:
        [(audit,)] = con.execute("SELECT count(*) FROM ops.exception_audit").fetchall()
    assert audit == 5  # only the five detections


def test_show_prints_both_sides_reason_and_history(world: World,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    with world.connect() as con:  # a billing invoice and two ERP postings of it
        con.execute("CREATE SCHEMA IF NOT EXISTS staging")
        con.execute("CREATE TABLE staging.stg_billing__invoices AS SELECT 'in_3' AS invoice_id,"
                    " 'INV-3' AS invoice_number")
        con.execute("CREATE TABLE staging.stg_erp__transactions AS SELECT * FROM (VALUES "
                    "(11, 'in_3', 'JE-11'), (12, 'in_3', 'JE-12')) t(transaction_id, "
                    "external_id, transaction_number)")
    assert _cli("exceptions", "note", "e3", "two postings?", "--config",
                str(world.config)) == 0
    capsys.readouterr()
    assert _cli("exceptions", "show", "e3", "--config", str(world.config)) == 0
    out = capsys.readouterr().out
    for text in ("INVOICE_MISSING_IN_ERP", "invoice:in_3", "INV-3", "JE-11", "JE-12",
                 "record 2", "detected", "two postings?", "billing invoice", "ERP transactions"):
        assert text in out, text
    assert _cli("exceptions", "show", "zzz", "--config", str(world.config)) == 2
    assert "unknown exception 'zzz'" in _error(capsys)


def _edit_while_locked(config: str, exception_id: str, owner: str, hold: float,
                       started: object) -> int:
    """Take the warehouse's write lock for ``hold`` seconds, or edit once it is free."""
    if hold:
        from tieout.config import load_config
        from tieout.warehouse.connection import open_warehouse

        con = open_warehouse(load_config(Path(config)).warehouse)
        started.set()  # type: ignore[attr-defined]
        time.sleep(hold)
        con.close()
        return 0
    return main(["exceptions", "assign", exception_id, owner, "--config", config,
                 "--actor", owner])


def test_two_people_editing_at_once_lose_nothing(world: World) -> None:
    """A run holds the lock; two colleagues edit different exceptions meanwhile: both land."""
    ctx = multiprocessing.get_context("spawn")
    started = ctx.Event()
    run = ctx.Process(target=_edit_while_locked, args=(str(world.config), "", "", 2.0, started))
    run.start()
    assert started.wait(30)
    with ctx.Pool(2) as pool:
        codes = pool.starmap(_edit_while_locked, [(str(world.config), "e1", "alice", 0, None),
                                                  (str(world.config), "e2", "bob", 0, None)])
    run.join(30)
    assert codes == [0, 0]
    with world.connect() as con:
        owners = con.execute("SELECT exception_id, owner, updated_by FROM ops.exception_review"
                             " WHERE owner IS NOT NULL ORDER BY 1").fetchall()
    assert owners == [("e1", "alice", "alice"), ("e2", "bob", "bob")]


def test_close_refuses_with_material_open_then_records_the_sign_off(
        world: World, capsys: pytest.CaptureFixture[str]) -> None:
    config = str(world.config)
    assert _cli("close", "--period", "2025-12", "--config", config, "--actor", "cfo") == 2
    captured = capsys.readouterr()
    assert "e3" in captured.out and "Material exceptions blocking" in captured.out
    assert "period 2025-12 has 1 material exception(s) still open" in captured.err
    assert _cli("close", "--period", "2025-12", "--config", config, "--override") == 2
    assert "--override needs --reason" in _error(capsys)
    assert _cli("exceptions", "waive", "e3", "--reason", "posted in January, timing",
                "--config", config) == 0
    assert _cli("close", "--period", "2025-12", "--config", config, "--actor", "cfo") == 0
    assert "period 2025-12 closed by cfo" in capsys.readouterr().out
    assert _cli("close", "--period", "2025-12", "--config", config) == 2
    assert "period 2025-12 was already closed by cfo" in _error(capsys)
    with world.connect() as con:
        [(by, material, override, figures)] = con.execute(
            "SELECT closed_by, material_open, override, figures FROM ops.period_closes"
        ).fetchall()
    assert (by, material, override) == ("cfo", 0, False)
    assert '"waived": {"amount_reporting": "5400.0000", "count": 1}' in figures


def test_close_with_override_records_the_reason(world: World,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli("close", "--period", "2025-12", "--config", str(world.config), "--override",
                "--reason", "auditor agreed", "--actor", "cfo") == 0
    assert "override: auditor agreed" in capsys.readouterr().out
    with world.connect() as con:
        [(material, override, reason)] = con.execute(
            "SELECT material_open, override, override_reason FROM ops.period_closes"
        ).fetchall()
    assert (material, override, reason) == (1, True, "auditor agreed")


def test_close_needs_a_valid_period(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli("close", "--period", "Dec-2025", "--config", str(world.config)) == 2
    assert "--period Dec-2025: expected an accounting period as YYYY-MM" in _error(capsys)
