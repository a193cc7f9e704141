"""Start, stop, signals, and bad input to the server itself."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from seeds.sandbox import DataDirError, SandboxServer

from .conftest import TOKENS

REPO = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import sys
    from pathlib import Path
    from seeds.sandbox import SandboxServer, SandboxTokens
    server = SandboxServer(Path(sys.argv[1]), tokens=SandboxTokens(*sys.argv[2:5]))
    server.start()
    print(server.url, flush=True)
    server.serve_forever()
    print("stopped", flush=True)
""")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_a_subprocess_server_cleanly(company: Path, signum: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(company), TOKENS.billing, TOKENS.erp, TOKENS.revrec],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), process.stderr.read() if process.stderr else ""
        session = requests.Session()  # keeps an idle keep-alive connection open
        response = session.get(f"{url}/v1/products",
                               headers={"Authorization": f"Bearer {TOKENS.billing}"}, timeout=5)
        assert response.status_code == 200
        process.send_signal(signum)
        out, err = process.communicate(timeout=8)
        assert process.returncode == 0, err
        assert "stopped" in out
        assert "Traceback" not in err
        session.close()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_context_manager_and_idempotent_stop(company: Path) -> None:
    server = SandboxServer(company, tokens=TOKENS)
    with server:
        assert server.url.startswith("http://127.0.0.1:")
        server.start()  # already started: no-op
        url = server.url
    server.stop()
    server.stop()
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(f"{url}/v1/products", timeout=2)
    with pytest.raises(RuntimeError):
        server.start()


def test_serve_forever_returns_when_stopped_from_another_thread(company: Path) -> None:
    import threading
    server = SandboxServer(company, tokens=TOKENS)
    thread = threading.Thread(target=server.serve_forever)
    thread.start()
    for _ in range(100):
        if server.url:
            break
        time.sleep(0.05)
    server.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_bad_data_directories(tmp_path: Path, company: Path) -> None:
    with pytest.raises(DataDirError, match="does not exist"):
        SandboxServer(tmp_path / "nope", tokens=TOKENS).start()
    partial = tmp_path / "partial"
    shutil.copytree(company, partial)
    (partial / "erp" / "account.parquet").unlink()
    with pytest.raises(DataDirError, match=r"erp/account\.parquet"):
        SandboxServer(partial, tokens=TOKENS).start()


def test_negative_embed_lines_is_rejected(company: Path) -> None:
    with pytest.raises(ValueError, match="embed_lines"):
        SandboxServer(company, tokens=TOKENS, embed_lines=-1)


def test_port_in_use_raises(make_server: Any, company: Path) -> None:
    server = make_server()
    port = int(server.url.rsplit(":", 1)[1])
    with pytest.raises(OSError):
        SandboxServer(company, tokens=TOKENS, port=port).start()
