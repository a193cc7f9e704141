"""Extraction runner: units of batches -> gate -> staging -> one landing transaction per unit.

Pages are buffered per table up to ``flush_rows`` before the gate, then staged on disk, so
memory is bounded by the buffer and DuckDB's ``memory_limit``, never by the source; the unit
then lands all at once (``tieout.warehouse.landing``).  "landed" counts the records the gate
accepted, so a record served twice counts twice there but is stored once.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import duckdb
import polars as pl

from checks.gate import gate
from tieout.failpoints import failpoint
from tieout.warehouse import ops
from tieout.warehouse.landing import (
    LandedBatch,
    clear_staging,
    drop_staged,
    merge_staged,
    stage,
)

from .batch import Batch
from .units import Unit

log = logging.getLogger("tieout.extract")
FLUSH_ROWS = 50_000


@dataclass
class TableReport:
    """Totals per raw table over a run."""

    received: int = 0
    landed: int = 0
    quarantined: int = 0
    inserted: int = 0
    updated: int = 0
    repeated: int = 0  # rows landing dropped as repeats of a key in the same unit
    # quarantined records by the first check each failed (adds up to ``quarantined``)
    quarantined_by_check: Counter[str] = field(default_factory=Counter)

    def add(self, landed: LandedBatch, by_check: Counter[str] | None = None) -> None:
        self.received += landed.received
        self.landed += landed.landed
        self.quarantined += landed.quarantined
        self.inserted += landed.inserted
        self.updated += landed.updated
        self.repeated += landed.repeated
        self.quarantined_by_check.update(by_check or {})


@dataclass
class ExtractReport:
    """What an extraction did, per table, and how long it took."""

    run_id: str
    tables: dict[str, TableReport] = field(default_factory=lambda: defaultdict(TableReport))
    seconds: float = 0.0
    batches: int = 0

    def next_batch_id(self, table: str) -> str:
        """Unique within the run and readable: ``<run>-<n>-<table>``."""
        self.batches += 1
        return f"{self.run_id}-{self.batches:05d}-{table.replace('/', '.')}"

    @property
    def received(self) -> int:
        return sum(t.received for t in self.tables.values())


def watermark_value(moment: dt.datetime) -> str:
    """An instant as fixed-width ISO-8601 UTC text, so watermarks compare correctly as text."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


class _Buffer:
    """Loose frames of one table waiting to be gated and landed."""

    def __init__(self) -> None:
        self.frames: list[pl.DataFrame] = []
        self.rows = 0
        self.first_origin = ""
        self.last_origin = ""

    def add(self, batch: Batch) -> None:
        if not self.frames:
            self.first_origin = batch.origin
        self.frames.append(batch.frame)
        self.rows += batch.frame.height
        self.last_origin = batch.origin

    def origin(self) -> str:
        if self.first_origin == self.last_origin:
            return self.first_origin
        return f"{self.first_origin} .. {self.last_origin}"


def first_checks(quarantine: pl.DataFrame) -> Counter[str]:
    """Quarantined records per check, each record under the first check it failed (the
    gate lists a record's failures in column order), so the counts add up to the records."""
    if quarantine.is_empty():
        return Counter()
    firsts = quarantine.group_by("row", maintain_order=True).agg(pl.col("check").first())
    return Counter(firsts.get_column("check").to_list())


def land_unit(con: duckdb.DuckDBPyConnection, unit: Unit, *, run_id: str, report: ExtractReport,
              source_label: str, flush_rows: int = FLUSH_ROWS) -> None:
    """Gate and stage every batch of ``unit``, then land it in one transaction (all or none)."""
    buffers: dict[str, _Buffer] = defaultdict(_Buffer)
    staged: dict[str, tuple[str, list[str]]] = {}  # table -> (batch id, origins)
    reasons: dict[str, Counter[str]] = defaultdict(Counter)  # table -> quarantined by check
    seq = 0

    def flush(table: str) -> None:
        nonlocal seq
        buffer = buffers.pop(table)
        frame = pl.concat(buffer.frames, how="diagonal_relaxed")
        result = gate(Batch(table, frame, buffer.origin()))
        if table not in staged:
            staged[table] = (report.next_batch_id(table), [])
        batch_id, origins = staged[table]
        origins.append(buffer.origin())
        reasons[table].update(first_checks(result.quarantine))
        seq += 1
        stage(con, table, result.clean, result.quarantine, batch_id=batch_id, seq=seq,
              source_label=source_label)

    try:
        for batch in unit.batches:
            buffers[batch.table].add(batch)
            if buffers[batch.table].rows >= flush_rows:
                flush(batch.table)
        for table in list(buffers):
            flush(table)
        failpoint("extract.unit.staged")
        con.execute("BEGIN TRANSACTION")
        try:
            for table, (batch_id, origins) in staged.items():
                origin = origins[0] if len(origins) == 1 else f"{origins[0]} .. {origins[-1]}"
                report.tables[table].add(merge_staged(
                    con, table, batch_id=batch_id, run_id=run_id, origin=origin,
                    mode=unit.mode), reasons[table])
            if unit.watermark_entity and unit.watermark_value:
                ops.set_watermark(con, unit.source, unit.watermark_entity,
                                  unit.watermark_value, run_id)
            last = next(reversed(staged.values()))[0] if staged else ""
            for key, sha256, path in unit.manifest:
                ops.record_file(con, key, sha256, path.stat().st_size, last)
            failpoint("extract.unit.before_commit")
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
    finally:
        for batch_id, _ in staged.values():
            drop_staged(con, batch_id)


def run_units(con: duckdb.DuckDBPyConnection, units: Iterable[Unit], *, run_id: str,
              source_label: str, report: ExtractReport | None = None) -> ExtractReport:
    """Land units in order, timing the whole; the report accumulates across calls."""
    report = report or ExtractReport(run_id)
    started = time.perf_counter()
    clear_staging(con)
    for unit in units:
        log.info("landing %s (%s)", unit.label, unit.mode)
        land_unit(con, unit, run_id=run_id, report=report, source_label=source_label)
    report.seconds += time.perf_counter() - started
    return report
