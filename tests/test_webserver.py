"""The Dagster UI as `make ui` starts it: the webserver loads workspace.yaml, and its GraphQL
API lists every asset, asset check, schedule and sensor the definitions declare."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[1]
QUERY = """{ repositoriesOrError { ... on RepositoryConnection { nodes {
    name location { name }
    schedules { name } sensors { name }
    assetNodes { assetKey { path }
                 assetChecksOrError { ... on AssetChecks { checks { name } } } } } } } }"""

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def webserver(tmp_path: Path) -> Iterator[str]:
    """``dagster-webserver`` on a free loopback port, stopped (with its children) after."""
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "DAGSTER_DISABLE_TELEMETRY": "1"}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "dagster-webserver"), "-w", "workspace.yaml",
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert process.poll() is None, "the webserver exited"
            try:
                if requests.get(f"{url}/server_info", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("the webserver did not start within 120 s")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


def _repository(url: str) -> dict:
    deadline = time.monotonic() + 120  # the code location loads after the server answers
    while True:
        response = requests.post(f"{url}/graphql", json={"query": QUERY}, timeout=60)
        response.raise_for_status()
        nodes = (response.json()["data"]["repositoriesOrError"] or {}).get("nodes")
        if nodes:
            [repository] = nodes
            return repository
        assert time.monotonic() < deadline, response.text[:500]
        time.sleep(1)


def test_ui_lists_every_asset_check_schedule_and_sensor(webserver: str) -> None:
    from pipelines.definitions import defs

    repository = _repository(webserver)
    expected = defs.get_repository_def()
    assets = {tuple(n["assetKey"]["path"]) for n in repository["assetNodes"]}
    assert assets >= {tuple(k.path) for k in expected.asset_graph.get_all_asset_keys()
                      if expected.asset_graph.get(k).is_materializable}
    checks = {(tuple(n["assetKey"]["path"]), c["name"]) for n in repository["assetNodes"]
              for c in (n["assetChecksOrError"] or {}).get("checks", [])}
    assert checks == {(tuple(k.asset_key.path), k.name)
                      for k in expected.asset_graph.asset_check_keys}
    assert {s["name"] for s in repository["schedules"]} == {
        s.name for s in expected.schedule_defs} == {"nightly_reconciliation",
                                                    "hourly_usage_journals"}
    assert {s["name"] for s in repository["sensors"]} == {
        s.name for s in expected.sensor_defs} >= {"usage_files_sensor", "alert_on_failure"}
    assert ("ops", "exception_review") in assets and ("marts", "fct_exceptions") in assets
