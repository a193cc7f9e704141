"""Opening the working warehouse: one DuckDB file, UTC session, schema ensured."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import duckdb

from tieout.errors import TieoutError

from .schema import ensure_ops_schema, ensure_schema

DEFAULT_MEMORY_LIMIT = "1GB"
# How long the pipeline's own opens wait for DuckDB's file lock.  A run opens and closes the
# warehouse once per asset, and a review edit (``open_for_edit``, which waits) takes the lock
# in such a gap for a fraction of a second; without a short wait the run's next open would
# fail on it and a controller's edit would break the nightly run.
LOCK_WAIT_SECONDS = 30.0


def _is_lock_conflict(exc: BaseException) -> bool:
    return "lock" in str(exc).lower()


def _connect_waiting(connect: Callable[[], duckdb.DuckDBPyConnection], path: Path,
                     wait_seconds: float) -> duckdb.DuckDBPyConnection:
    """``connect()``, retried while another process holds the file's lock, up to
    ``wait_seconds``; then one line saying the warehouse is busy."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        try:
            return connect()
        except duckdb.Error as exc:
            if not _is_lock_conflict(exc):
                raise
            if time.monotonic() >= deadline:
                raise TieoutError(f"warehouse {path} is busy (another run or edit is writing "
                                  f"it); waited {wait_seconds:g} s") from None
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def open_warehouse(path: Path, memory_limit: str = DEFAULT_MEMORY_LIMIT, *,
                   wait_seconds: float = LOCK_WAIT_SECONDS,
                   schema: Literal["all", "ops"] = "all") -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the warehouse file with every schema in place.

    DuckDB would otherwise cache up to 80% of RAM; a fixed limit (spilling to a temp folder
    beside the warehouse) keeps a nightly run's memory flat however large the sources grow.
    While another process writes the file, waits up to ``wait_seconds`` for it.  ``schema``
    ``"ops"`` ensures only the ops bookkeeping (``open_ops``).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    config: dict[str, str | bool | int | float | list[str]] = {
        "memory_limit": memory_limit, "temp_directory": str(path.with_name(path.name + ".tmp"))}
    try:
        con = _connect_waiting(lambda: duckdb.connect(str(path), config=config), path,
                               wait_seconds)
    except duckdb.IOException as exc:
        raise TieoutError(f"warehouse {path} cannot be opened: {exc}") from None
    con.execute("SET TimeZone = 'UTC'")
    if schema == "ops":
        ensure_ops_schema(con)
    else:
        ensure_schema(con)
    return con


def open_ops(path: Path, memory_limit: str = DEFAULT_MEMORY_LIMIT, *,
             wait_seconds: float = LOCK_WAIT_SECONDS) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the warehouse to write only its ``ops`` bookkeeping: the ops
    schema is ensured and nothing else is created (a run's own ``ops.runs`` row)."""
    return open_warehouse(path, memory_limit, wait_seconds=wait_seconds, schema="ops")


def open_read_only(path: Path,
                   wait_seconds: float = LOCK_WAIT_SECONDS) -> duckdb.DuckDBPyConnection:
    """Open an existing warehouse for reading only (UTC session); nothing is created.

    Readers (asset checks, ``tieout exceptions``) must never create an empty warehouse by
    mistake or take the write lock a run needs.  While a writer holds the file they wait up
    to ``wait_seconds`` (a review edit holds it for a moment; a run stage for longer).
    """
    if not path.is_file():
        raise TieoutError(f"warehouse {path} does not exist")
    try:
        con = _connect_waiting(lambda: duckdb.connect(str(path), read_only=True), path,
                               wait_seconds)
    except duckdb.Error as exc:
        raise TieoutError(f"warehouse {path} cannot be opened for reading (is a run writing "
                          f"it?): {' '.join(str(exc).split())}") from None
    con.execute("SET TimeZone = 'UTC'")
    return con


def open_for_edit(path: Path, wait_seconds: float = 60.0) -> duckdb.DuckDBPyConnection:
    """Open an existing warehouse to write, waiting while another process holds its lock.

    DuckDB lets one process write a file at a time; a review edit or an import that arrives
    while a run (or a colleague's edit) writes waits for it rather than failing, and gives up
    with one clear line after ``wait_seconds``.
    """
    if not path.is_file():
        raise TieoutError(f"warehouse {path} does not exist: run `tieout run` first")
    return open_warehouse(path, wait_seconds=wait_seconds)
