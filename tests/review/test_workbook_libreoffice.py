"""The workbook in a real spreadsheet program: LibreOffice renders it and saves it back.

Skipped only where ``soffice`` is not installed (``make test`` installs it).  Both tests share
one private LibreOffice profile, so the second starts warm and neither touches the user's.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tieout.workbook import plan_import

from .test_workbook import LATER, dump, edit, export, run_import
from .world import World, make_world

pytestmark = pytest.mark.slow
SOFFICE = shutil.which("soffice")
TIMEOUT_SECONDS = 120


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if SOFFICE is None:
        pytest.skip("LibreOffice (soffice) is not on PATH")
    return tmp_path_factory.mktemp("libreoffice-profile")


def convert(source: Path, target_format: str, out_dir: Path, profile: Path) -> Path:
    """``soffice --headless --convert-to``; the converted file, or a failure saying why."""
    assert SOFFICE is not None
    out_dir.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [SOFFICE, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", target_format, "--outdir", str(out_dir), str(source)],
        capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False)
    converted = out_dir / (source.stem + "." + target_format.split(":")[0])
    assert done.returncode == 0 and converted.is_file(), (done.stdout, done.stderr)
    return converted


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path / "world")


def test_libreoffice_renders_the_workbook_to_pdf(world, tmp_path, profile):
    workbook = tmp_path / "review.xlsx"
    export(world, workbook)

    pdf = convert(workbook, "pdf", tmp_path / "pdf", profile)

    data = pdf.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(data) > 10_000  # the Summary and four rule sheets, not an empty page
    assert data.rstrip().endswith(b"%%EOF")


def test_a_workbook_saved_by_libreoffice_imports_cleanly(world, tmp_path, profile):
    """Re-saved amounts, dates and flags are not mistaken for edits; the real edit applies."""
    workbook = tmp_path / "review.xlsx"
    export(world, workbook)
    filled = edit(workbook, tmp_path / "filled.xlsx", {
        "e4": {"status": "waived", "change_reason": "immaterial rounding"}})

    resaved = convert(filled, 'xlsx:Calc MS Excel 2007 XML', tmp_path / "resaved", profile)

    with world.connect() as con:
        plan = plan_import(con, resaved)
    assert plan.rows_read == 5
    assert [(e.change.exception_id, e.fields) for e in plan.edits] == [("e4", ("status",))]
    result = run_import(world, resaved, now=LATER)
    assert (result.rows_changed, result.fields_changed) == (1, 1)
    with world.connect() as con:
        statuses = dict(con.execute("SELECT exception_id, status FROM ops.exception_review"
                                    ).fetchall())
    assert statuses == {"e1": "open", "e2": "open", "e3": "open", "e4": "waived", "e5": "open"}
    # and LibreOffice's copy, imported again, is the clean no-op any re-import is
    before = dump(world)
    assert run_import(world, resaved).already_applied == 1
    assert dump(world) == before
