"""Opening the working warehouse: one DuckDB file, UTC session, schema ensured."""

from __future__ import annotations

import time
from pathlib import Path

import duckdb

from tieout.errors import TieoutError

from .schema import ensure_schema

DEFAULT_MEMORY_LIMIT = "1GB"


def open_warehouse(path: Path,
                   memory_limit: str = DEFAULT_MEMORY_LIMIT) -> duckdb.DuckDBPyConnection:
    """Open (creating if needed) the warehouse file with every schema in place.

    DuckDB would otherwise cache up to 80% of RAM; a fixed limit (spilling to a temp folder
    beside the warehouse) keeps a nightly run's memory flat however large the sources grow.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), config={
            "memory_limit": memory_limit,
            "temp_directory": str(path.with_name(path.name + ".tmp")),
        })
    except duckdb.IOException as exc:
        raise TieoutError(f"warehouse {path} cannot be opened: {exc}") from None
    con.execute("SET TimeZone = 'UTC'")
    ensure_schema(con)
    return con


def open_read_only(path: Path) -> duckdb.DuckDBPyConnection:
    """Open an existing warehouse for reading only (UTC session); nothing is created.

    Readers (asset checks, ``tieout exceptions``) must never create an empty warehouse by
    mistake or take the write lock a run needs.
    """
    if not path.is_file():
        raise TieoutError(f"warehouse {path} does not exist")
    try:
        con = duckdb.connect(str(path), read_only=True)
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
    deadline = time.monotonic() + wait_seconds
    delay = 0.05
    while True:
        try:
            return open_warehouse(path)
        except TieoutError as exc:
            if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                if "lock" in str(exc).lower():
                    raise TieoutError(f"warehouse {path} is busy (another run or edit is "
                                      f"writing it); waited {wait_seconds:g} s") from None
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)
