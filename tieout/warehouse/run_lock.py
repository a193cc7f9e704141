"""One ``tieout run`` per warehouse at a time: an exclusive lock file beside the warehouse.

DuckDB's own lock does not serialise runs: a run opens and closes the warehouse many times
(one connection per asset, dbt's own process in between), so two runs started together would
take turns at every gap and interleave their extractions, builds and review syncs.  The run
lock is held for the whole run instead: ``<warehouse>.run.lock``, an ``fcntl.flock`` on an
open descriptor.  The kernel drops a flock when its process ends, however it ends (a crash,
``kill -9``), so a dead run never leaves a stale lock behind and nothing has to be cleaned up.
The file's text (holder pid and start time) only names the holder in the refusal message; the
lock is the flock, never the file's existence or content.

Review edits do not take this lock: they wait for DuckDB's write lock
(``open_for_edit``) and are kept by the run's review sync, so a controller can work while the
nightly run is going.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tieout.errors import TieoutError

SUFFIX = ".run.lock"
POLL_SECONDS = 0.2


class RunLockedError(TieoutError):
    """Another run holds the warehouse; this one did nothing.

    Exit code 75 (EX_TEMPFAIL): a scheduler can tell "try again later" from a broken run.
    """

    exit_code = 75


@dataclass(frozen=True)
class Holder:
    """Who holds (or last held) a run lock, as its file says."""

    pid: int | None
    started: str  # ISO-8601 UTC, or "" when the file did not say

    def describe(self) -> str:
        """``pid 123, started 2026-01-20T18:00:00Z`` for a one-line message."""
        pid = f"pid {self.pid}" if self.pid is not None else "pid unknown"
        return f"{pid}, started {self.started or 'at an unknown time'}"


def lock_path(warehouse: Path) -> Path:
    """``<warehouse>.run.lock``: beside the warehouse, so every config naming the same file
    shares one lock."""
    return warehouse.with_name(warehouse.name + SUFFIX)


def read_holder(path: Path) -> Holder:
    """The holder a lock file names (fields it does not hold are left unknown).

    Read without the lock, so the text may be mid-rewrite; anything unreadable is "unknown"
    rather than an error, because it only decorates the refusal.
    """
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return Holder(None, "")
    fields = dict(line.partition("=")[::2] for line in text.splitlines())
    pid_text = fields.get("pid", "").strip()
    return Holder(int(pid_text) if pid_text.isdigit() else None, fields.get("started", "").strip())


def active_holder(warehouse: Path) -> Holder | None:
    """The holder the lock file names if its process is still alive, else None.

    Judged by the pid alone, never by taking the lock: a reader that took it even for a moment
    could make a run starting at that moment refuse.  (A recycled pid can make a dead run look
    alive; it only ever errs towards "still running".)
    """
    holder = read_holder(lock_path(warehouse))
    if holder.pid is None:
        return None
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:  # alive, owned by someone else
        return holder
    return holder


def _now_text() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextmanager
def run_lock(warehouse: Path, wait_seconds: float = 0.0, *,
             clock: Callable[[], float] = time.monotonic,
             sleep: Callable[[float], None] = time.sleep) -> Iterator[Holder]:
    """Hold the warehouse's run lock for the block, waiting up to ``wait_seconds`` for it.

    Raises ``RunLockedError`` naming the holder when the lock is still taken after the wait
    (at once with the default 0), before anything is written: a refused run changes nothing.
    """
    if wait_seconds < 0:
        raise TieoutError(f"--wait-lock {wait_seconds:g}: must not be negative")
    path = lock_path(warehouse)
    path.parent.mkdir(parents=True, exist_ok=True)
    # os.open descriptors are not inherited by child processes (dbt), so only this process
    # holds the lock and it ends with this process.
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = clock() + wait_seconds
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                left = deadline - clock()
                if left <= 0:
                    waited = f"; waited {wait_seconds:g} s" if wait_seconds else (
                        " (--wait-lock SECONDS waits for it)")
                    raise RunLockedError(
                        f"warehouse {warehouse} is being written by another tieout run "
                        f"({read_holder(path).describe()}); not starting{waited}") from None
                sleep(min(POLL_SECONDS, left))
        me = Holder(os.getpid(), _now_text())
        text = f"pid={me.pid}\nstarted={me.started}\n".encode()
        os.pwrite(fd, text, 0)  # write, then cut: a reader never sees an empty file
        os.ftruncate(fd, len(text))
        try:
            yield me
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
