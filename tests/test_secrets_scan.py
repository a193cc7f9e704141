"""Security figures: a full demo run with every secret set, then a run that fails on a wrong
token, leave none of the secrets in any file, report, workbook, Dagster event, alert or
message they produced."""

from __future__ import annotations

import re
import secrets
import zipfile
from pathlib import Path

import pytest

from seeds.sandbox.server import SandboxServer, tokens_from_env
from tieout.cli.main import main

from .test_orchestration import _Receiver, webhook  # noqa: F401 - the loopback webhook

pytestmark = pytest.mark.slow


def _texts(root: Path) -> list[tuple[Path, bytes]]:
    """Every file under ``root`` as bytes; workbooks (zip) by their members, decompressed."""
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        found.append((path, data))
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                found += [(path / name, archive.read(name)) for name in archive.namelist()]
    return found


def test_no_secret_reaches_any_output(tmp_path: Path, webhook: list[dict],  # noqa: F811
                                      monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    values = {name: f"{name.lower()}-{secrets.token_urlsafe(18)}" for name in (
        "TIEOUT_BILLING_API_KEY", "TIEOUT_ERP_TOKEN", "TIEOUT_REVREC_API_KEY",
        "TIEOUT_SUPPORT_TOKEN", "TIEOUT_PG_PASSWORD")}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster"))
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--invoices", "100", "--seed", "5"]) == 0
    demo_output = capsys.readouterr()
    assert "close report:" in demo_output.out  # the run really got to the end

    # the same company again with a wrong billing key: a failure, its message and its alert
    wrong = "sk_wrong_" + secrets.token_urlsafe(18)
    server = SandboxServer(out, port=0, tokens=tokens_from_env())
    server.start()
    try:
        config = out / "tieout-api.toml"  # the demo's sandbox is gone: point at this one
        config.write_text(re.sub(r"http://127\.0\.0\.1:\d+", server.url.rstrip("/"),
                                 config.read_text()))
        monkeypatch.setenv("TIEOUT_BILLING_API_KEY", wrong)
        assert main(["run", "--config", str(config), "--only", "extract"]) != 0
    finally:
        server.stop()
    failure = capsys.readouterr()
    assert "401" in failure.err or "unauthor" in failure.err.lower()
    assert webhook and webhook[-1]["where"] == "cli"

    hook = __import__("os").environ["TIEOUT_ALERT_WEBHOOK"]
    needles = {**values, "wrong billing key": wrong, "webhook URL": hook}
    outputs = [(Path("<stdout/stderr>"), (demo_output.out + demo_output.err + failure.out
                                          + failure.err).encode()),
               (Path("<alerts>"), repr(webhook).encode()), *_texts(tmp_path)]
    assert len(outputs) > 50  # logs, dbt artifacts, Dagster storage, reports, workbook...
    leaks = [(name, str(path)) for path, data in outputs for name, value in needles.items()
             if value.encode() in data]
    assert leaks == []
