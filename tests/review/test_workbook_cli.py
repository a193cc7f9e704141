"""``tieout exceptions export`` / ``import`` through the real entry point (``main``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tieout.cli.main import main
from tieout.warehouse.connection import open_read_only

from .test_workbook import dump, edit, ref
from .world import World, make_world


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path / "world")


def test_export_then_import_through_the_cli(world, tmp_path, capsys, monkeypatch):
    out = tmp_path / "december.xlsx"
    assert main(["exceptions", "export", "--config", str(world.config), "--out", str(out),
                 "--period", "2025-12", "--actor", "ann"]) == 0
    assert "exported 3 exceptions (2025-12) on 2 rule sheets" in capsys.readouterr().out
    filled = edit(out, tmp_path / "filled.xlsx", {
        "e1": {"status": "waived", "change_reason": "FX timing"}, "e3": {"owner": "dana"}})
    monkeypatch.setenv("TIEOUT_USER", "carol")  # the default actor

    assert main(["exceptions", "import", str(filled), "--config", str(world.config),
                 "--period", "2025-12"]) == 0

    output = " ".join(capsys.readouterr().out.split())
    assert "read 3 rows" in output and "2 changed (2 fields), 0 already applied" in output
    _, audit = dump(world)
    with open_read_only(world.warehouse) as con:
        changed = {e for (e,) in con.execute(
            "SELECT exception_id FROM ops.exception_review WHERE updated_by = 'carol'").fetchall()}
    assert changed == {"e1", "e3"}
    assert [(a[1], a[3], a[5], a[6], a[7], a[8]) for a in audit[-2:]] == [
        ("e1", "carol", "status", "open", "waived", "FX timing"),
        ("e3", "carol", "owner", None, "dana", None)]


def test_a_refused_import_prints_one_error_line_then_every_problem(world, tmp_path, capsys):
    out = tmp_path / "review.xlsx"
    assert main(["exceptions", "export", "--config", str(world.config), "--out", str(out)]) == 0
    bad = edit(out, tmp_path / "bad.xlsx", {"e1": {"status": "closed"},
                                           "e4": {"status": "waived"},
                                           "e3": {"owner": "dana"}})
    before = dump(world)
    capsys.readouterr()

    code = main(["exceptions", "import", str(bad), "--config", str(world.config),
                 "--actor", "carol"])

    assert code == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith("tieout: error: bad.xlsx: 2 problems, nothing was imported")
    assert lines[1].startswith(f"{ref('AMOUNT_MISMATCH', 'status', 2)}: unknown status 'closed'")
    assert lines[2] == (f"{ref('SCHEDULE_MISSING', 'change_reason', 2)}: exception e4: "
                        "setting it to waived needs a reason")
    assert len(lines) == 3
    assert dump(world) == before


def test_csv_export_and_one_line_option_errors(world, tmp_path, capsys):
    config = ["--config", str(world.config)]
    csv_file = tmp_path / "review.csv"
    assert main(["exceptions", "export", *config, "--out", str(csv_file)]) == 0
    assert csv_file.read_text().startswith("exception_id,rule,severity,")
    for args, message in (
        (["exceptions", "export", *config, "--format", "xlsx", "--out", str(csv_file)],
         "does not end in .xlsx"),
        (["exceptions", "export", *config, "--out", "x.xlsx", "--period", "2025-13"],
         "YYYY-MM"),
        (["exceptions", "export", *config, "--out", "x.xlsx", "--status", "done"],
         "unknown status"),
        (["exceptions", "import", str(csv_file), *config], ".xlsx workbook only"),
        (["exceptions", "import", str(tmp_path / "nope.xlsx"), *config], "does not exist"),
    ):
        capsys.readouterr()
        assert main(args) == 2, args
        err = capsys.readouterr().err
        assert err.startswith("tieout: error:") and message in err, (args, err)
        assert len(err.splitlines()) == 1
