"""Running measured work in child processes: wall time and the peak RSS of a whole process
tree, and the sandbox served from its own process.

``tieout run`` starts dbt as a grandchild (dagster-dbt runs the dbt CLI), so the peak RSS of
a nightly run is the largest *sum* over the tree at one moment, not the largest process:
``measure`` samples every process under the child from ``/proc`` and keeps the highest total.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

TOKEN_VARS = ("TIEOUT_BILLING_API_KEY", "TIEOUT_ERP_TOKEN", "TIEOUT_REVREC_API_KEY",
              "TIEOUT_SUPPORT_TOKEN")
SERVE = """
import sys
from pathlib import Path
from seeds.sandbox import SandboxServer
server = SandboxServer(Path(sys.argv[1]))
server.start()
print(server.url, flush=True)
server.serve_forever()
"""


@dataclass(frozen=True)
class Measured:
    """One child process run: wall seconds, peak MB of its tree, exit code, output."""

    seconds: float
    peak_mb: int
    returncode: int
    stdout: str
    stderr: str


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as fh:
                ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_mb(root: int) -> int:
    """The resident memory of ``root`` and every process below it, in MB."""
    tree, total, todo = _children(), 0, [root]
    while todo:
        pid = todo.pop()
        total += _rss_kb(pid)
        todo += tree.get(pid, [])
    return total // 1024


def measure(args: Sequence[str], env: dict[str, str] | None = None,
            cwd: Path | None = None, interval: float = 0.2) -> Measured:
    """Run ``args`` to completion; wall time and the peak RSS of its process tree."""
    peak = 0
    started = time.perf_counter()
    child = subprocess.Popen(list(args), env=env, cwd=cwd, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_mb(child.pid))
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = child.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return Measured(round(seconds, 2), peak, child.returncode, stdout, stderr)


def api_env() -> dict[str, str]:
    """The environment with throwaway loopback tokens for the sandbox and the connectors."""
    env = dict(os.environ)
    for var in TOKEN_VARS:
        env[var] = secrets.token_urlsafe(16)
    return env


def token_map(env: dict[str, str]) -> dict[str, str]:
    """The tokens of ``api_env`` by source, as ``run_extraction`` takes them."""
    return {"billing": env["TIEOUT_BILLING_API_KEY"], "erp": env["TIEOUT_ERP_TOKEN"],
            "revrec": env["TIEOUT_REVREC_API_KEY"], "support": env["TIEOUT_SUPPORT_TOKEN"]}


@contextlib.contextmanager
def sandbox(company: Path, env: dict[str, str]) -> Iterator[str]:
    """The sandbox serving ``company`` from its own process (not counted); yields its URL."""
    server = subprocess.Popen([sys.executable, "-c", SERVE, str(company)], env=env,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        if not url:
            raise SystemExit(f"the sandbox did not start on {company}")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
