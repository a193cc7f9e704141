"""From configuration to units: which files and API table groups a run extracts.

Files mode re-reads each export in full (exports are snapshots; the upsert makes that
harmless); usage files are landed once each, remembered in ``ops.usage_files`` by path and
content hash, so a late file for an old date is still picked up and a file seen before is not
landed twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import duckdb

from seeds.tables import SCHEMAS
from tieout.config import SourceConfig
from tieout.errors import TieoutError
from tieout.warehouse import ops

from .files import SUFFIXES, file_digest, find_table_file, read_file
from .units import Unit


def source_tables(source: str) -> list[str]:
    """Contract tables of one source, in contract order."""
    return [t for t in SCHEMAS if t.split("/", 1)[0] == source]


def file_units(source: str, folder: Path) -> list[Unit]:
    """One unit per export file of a files-mode source (all files must exist up front)."""
    if not folder.is_dir():
        raise TieoutError(f"{source}: export folder {folder} does not exist")
    paths = {table: find_table_file(folder, table) for table in source_tables(source)}
    return [Unit(source=source, label=str(path), batches=read_file(path, table), mode="files")
            for table, path in paths.items()]


def usage_files(folder: Path, days: tuple[dt.date, dt.date] | None = None) -> list[Path]:
    """Usage event files, optionally of the daily partitions in ``[first, end)``, in a
    stable order."""
    if not folder.is_dir():
        raise TieoutError(f"usage: folder {folder} does not exist")
    found = sorted(p for p in folder.glob("date=*/*") if p.suffix.lower() in SUFFIXES)
    if days is None:
        return found
    first, end = (d.isoformat() for d in days)
    return [p for p in found if first <= p.parent.name.removeprefix("date=") < end]


FILES_PER_UNIT = 500  # usage files landed (and remembered) in one transaction


def pending_usage_days(con: duckdb.DuckDBPyConnection, folder: Path) -> list[dt.date]:
    """Days whose folder holds a usage file not landed yet (new or late), in order."""
    days = set()
    for path in usage_files(folder):
        if not ops.seen_file(con, str(path.relative_to(folder)), file_digest(path)):
            days.add(dt.date.fromisoformat(path.parent.name.removeprefix("date=")))
    return sorted(days)


def usage_units(con: duckdb.DuckDBPyConnection, folder: Path,
                days: tuple[dt.date, dt.date] | None = None) -> Iterator[Unit]:
    """Units of up to ``FILES_PER_UNIT`` usage files not landed before (by path and content).

    Many small daily files share one transaction (a partition range is one call, not one
    per day) so landing cost is per unit, not per file; each file is still remembered on its
    own in the manifest.
    """
    pending: list[tuple[str, str, Path]] = []
    for path in usage_files(folder, days):
        key = str(path.relative_to(folder))
        digest = file_digest(path)
        if not ops.seen_file(con, key, digest):
            pending.append((key, digest, path))
    for start in range(0, len(pending), FILES_PER_UNIT):
        chunk = pending[start:start + FILES_PER_UNIT]
        label = chunk[0][0] if len(chunk) == 1 else f"{chunk[0][0]} .. {chunk[-1][0]}"
        yield Unit(source="usage", label=label, mode="files", manifest=chunk,
                   batches=(b for _, _, p in chunk for b in read_file(p, "usage/events")))


def reference_units(folder: Path) -> list[Unit]:
    """Reference data (accounts, mapping, entities, FX) from its folder."""
    return file_units("reference", folder)


def describe(cfg: SourceConfig) -> str:
    """Lineage label for ``_source``: mode and where, never a credential."""
    where = cfg.base_url if cfg.mode == "api" else str(cfg.path)
    return f"{cfg.mode}:{where}"
