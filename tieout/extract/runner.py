"""Extraction runner: units of batches -> gate -> upsert, one transaction per unit.

Pages are buffered per table up to ``flush_rows`` before the gate and the merge, so memory is
bounded by the buffer, not by the source, and DuckDB merges large batches instead of pages.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import duckdb
import polars as pl

from checks.gate import gate
from tieout.warehouse import ops
from tieout.warehouse.landing import LandedBatch, land

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

    def add(self, landed: LandedBatch) -> None:
        self.received += landed.received
        self.landed += landed.landed
        self.quarantined += landed.quarantined
        self.inserted += landed.inserted
        self.updated += landed.updated


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


def land_unit(con: duckdb.DuckDBPyConnection, unit: Unit, *, run_id: str, report: ExtractReport,
              source_label: str, flush_rows: int = FLUSH_ROWS) -> None:
    """Gate and land every batch of ``unit`` in one transaction (all or nothing)."""
    buffers: dict[str, _Buffer] = defaultdict(_Buffer)
    last_batch = ""

    def flush(table: str) -> None:
        nonlocal last_batch
        buffer = buffers.pop(table)
        frame = pl.concat(buffer.frames, how="diagonal_relaxed")
        result = gate(Batch(table, frame, buffer.origin()))
        batch_id = report.next_batch_id(table)
        landed = land(con, table, result.clean, result.quarantine, batch_id=batch_id,
                      run_id=run_id, origin=buffer.origin(), mode=unit.mode,
                      source_label=source_label)
        report.tables[table].add(landed)
        last_batch = batch_id

    con.execute("BEGIN TRANSACTION")
    try:
        for batch in unit.batches:
            buffers[batch.table].add(batch)
            if buffers[batch.table].rows >= flush_rows:
                flush(batch.table)
        for table in list(buffers):
            flush(table)
        if unit.watermark_entity and unit.watermark_value:
            ops.set_watermark(con, unit.source, unit.watermark_entity, unit.watermark_value,
                              run_id)
        for key, sha256, path in unit.manifest:
            ops.record_file(con, key, sha256, path.stat().st_size, last_batch)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def run_units(con: duckdb.DuckDBPyConnection, units: Iterable[Unit], *, run_id: str,
              source_label: str, report: ExtractReport | None = None) -> ExtractReport:
    """Land units in order, timing the whole; the report accumulates across calls."""
    report = report or ExtractReport(run_id)
    started = time.perf_counter()
    for unit in units:
        log.info("landing %s (%s)", unit.label, unit.mode)
        land_unit(con, unit, run_id=run_id, report=report, source_label=source_label)
    report.seconds += time.perf_counter() - started
    return report
