"""Failpoint parsing and hit counting, in-process: the kill itself is replaced by a recorder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tieout import failpoints

pytestmark = pytest.mark.reliability


@pytest.fixture
def kills(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every kill a failpoint attempts, instead of dying ("group" or "self")."""
    seen: list[str] = []

    def killpg(group: int, signum: int) -> None:
        assert signum == signal.SIGKILL
        seen.append("group")

    def kill(pid: int, signum: int) -> None:
        assert (pid, signum) == (os.getpid(), signal.SIGKILL)
        seen.append("self")

    monkeypatch.setattr(os, "killpg", killpg)
    monkeypatch.setattr(os, "kill", kill)
    yield seen
    failpoints.arm(None)


def test_parse_reads_names_and_hit_numbers() -> None:
    assert failpoints.parse(None) == {} and failpoints.parse(" , ") == {}
    assert failpoints.parse("extract.unit.staged, journal.post.before_request@3") == {
        "extract.unit.staged": 1, "journal.post.before_request": 3}


@pytest.mark.parametrize("spec", ["extract.unit.stagd", "extract.unit.staged@0",
                                  "extract.unit.staged@x", "extract.unit.staged@-2"])
def test_parse_refuses_unknown_names_and_bad_hits(spec: str) -> None:
    with pytest.raises(ValueError, match="TIEOUT_FAILPOINTS"):
        failpoints.parse(spec)


def test_a_point_fires_on_its_nth_hit_only(kills: list[str]) -> None:
    failpoints.arm("journal.post.after_erp_commit@3")
    for _ in range(2):
        failpoints.failpoint("journal.post.after_erp_commit")
        failpoints.failpoint("extract.unit.staged")  # not armed: never counts towards a kill
    assert kills == []
    failpoints.failpoint("journal.post.after_erp_commit")
    assert len(kills) == 1
    failpoints.failpoint("journal.post.after_erp_commit")  # (a real kill never returns)
    assert len(kills) == 1


def test_unarmed_points_do_nothing(kills: list[str]) -> None:
    failpoints.arm(None)
    for name in failpoints.POINTS:
        failpoints.failpoint(name)
    assert kills == []


def test_every_point_is_hooked_into_the_code() -> None:
    root = Path(failpoints.__file__).parent
    source = " ".join(p.read_text() for p in root.rglob("*.py") if p.name != "failpoints.py")
    assert [p for p in failpoints.POINTS if f'failpoint("{p}")' not in source] == []


def test_a_fired_point_kills_its_whole_process_group() -> None:
    """The crash takes the run's children too (dbt, say), like a machine dying."""
    script = ("import subprocess, sys\n"
              "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
              "print(child.pid, flush=True)\n"
              "from tieout.failpoints import failpoint\n"
              "failpoint('extract.unit.staged')\n"
              "failpoint('extract.unit.staged')\n"
              "child.kill()\n")
    env = {**os.environ, failpoints.ENV: "extract.unit.staged@2"}
    run = subprocess.run([sys.executable, "-c", script], env=env, start_new_session=True,
                         capture_output=True, text=True, timeout=60,
                         cwd=Path(failpoints.__file__).parents[1])
    assert run.returncode == -signal.SIGKILL, run.stderr
    grandchild = int(run.stdout.split()[0])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{grandchild}/stat").read_text().split(") ", 1)[1][0]
        except FileNotFoundError:
            return  # gone
        if state == "Z":
            return  # killed, not yet reaped
        time.sleep(0.05)
    raise AssertionError(f"the run's child {grandchild} outlived the crash")
