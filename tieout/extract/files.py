"""Files mode: read a system's exports (Parquet, CSV or NDJSON) in bounded chunks.

Many finance teams have exports rather than API access, so every source can be read from a
folder holding one file per table (``<folder>/<entity>.parquet|csv|ndjson|jsonl``) with the
same fields the API returns.  Parquet keeps its types; CSV and NDJSON arrive as text and are
typed by the gate exactly like API responses, so both modes land the same tables.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from seeds.tables import SCHEMAS
from tieout.errors import TieoutError

from .batch import Batch, loose_frame

SUFFIXES = (".parquet", ".csv", ".ndjson", ".jsonl")
CHUNK_ROWS = 100_000


class UnreadableFileError(TieoutError):
    """A file that cannot be read as what its name says it is."""


def find_table_file(folder: Path, table: str) -> Path:
    """The export of ``table`` in ``folder``; one clear error when there is none or several."""
    entity = table.split("/", 1)[1]
    found = [folder / f"{entity}{suffix}" for suffix in SUFFIXES
             if (folder / f"{entity}{suffix}").is_file()]
    if not found:
        raise TieoutError(f"{folder}: no export for {table} (expected {entity}.parquet, "
                          f".csv, .ndjson or .jsonl)")
    if len(found) > 1:
        raise TieoutError(f"{folder}: several exports for {table}: "
                          f"{', '.join(p.name for p in found)}")
    return found[0]


def read_file(path: Path, table: str, chunk_rows: int = CHUNK_ROWS) -> Iterator[Batch]:
    """Batches of at most ``chunk_rows`` rows from one export file."""
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        yield from _parquet(path, table, chunk_rows)
    elif suffix == ".csv":
        yield from _csv(path, table, chunk_rows)
    elif suffix in (".ndjson", ".jsonl"):
        yield from _ndjson(path, table, chunk_rows)
    else:
        raise UnreadableFileError(f"{path}: unsupported file type {suffix!r}")


def _parquet(path: Path, table: str, chunk_rows: int) -> Iterator[Batch]:
    try:
        handle = pq.ParquetFile(path)
        wanted = [c for c in SCHEMAS[table] if c in handle.schema_arrow.names]
        for i, record_batch in enumerate(handle.iter_batches(batch_size=chunk_rows,
                                                             columns=wanted)):
            frame = pl.from_arrow(pa.Table.from_batches([record_batch]))
            assert isinstance(frame, pl.DataFrame)
            yield Batch(table, _with_all_columns(frame, table), f"{path} chunk {i + 1}")
    except (pa.ArrowException, OSError) as exc:
        raise UnreadableFileError(f"{path}: not readable as Parquet: "
                                  f"{' '.join(str(exc).split())}") from None


def _csv(path: Path, table: str, chunk_rows: int) -> Iterator[Batch]:
    try:
        lazy = pl.scan_csv(path, infer_schema=False, raise_if_empty=False)
        for i, frame in enumerate(lazy.collect_batches(chunk_size=chunk_rows)):
            yield Batch(table, _with_all_columns(frame, table), f"{path} chunk {i + 1}")
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise UnreadableFileError(f"{path}: not readable as CSV: "
                                  f"{' '.join(str(exc).split())}") from None


def _ndjson(path: Path, table: str, chunk_rows: int) -> Iterator[Batch]:
    """NDJSON records; a line that is not UTF-8, JSON or an object refuses the whole file.

    Read as bytes and decoded line by line, so a bad byte is named by its line (text mode
    decodes ahead in blocks and would raise a bare ``UnicodeDecodeError``); a leading byte
    order mark, which Windows tools write, is dropped.
    """
    records: list[dict[str, object]] = []
    chunk = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise UnreadableFileError(f"{path}: line {number} is not UTF-8 text "
                                          f"({exc.reason} at byte {exc.start + 1})") from None
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UnreadableFileError(f"{path}: line {number} is not JSON: {exc.msg}"
                                          ) from None
            if not isinstance(record, dict):
                raise UnreadableFileError(f"{path}: line {number} is not a JSON object")
            records.append(record)
            if len(records) >= chunk_rows:
                chunk += 1
                yield Batch(table, loose_frame(table, records), f"{path} chunk {chunk}")
                records = []
    if records or chunk == 0:
        yield Batch(table, loose_frame(table, records), f"{path} chunk {chunk + 1}")


def _with_all_columns(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """Contract columns in contract order; a missing column stays missing for the gate to
    name (so a wrong export fails loudly instead of landing nulls)."""
    return frame.select([c for c in SCHEMAS[table] if c in frame.columns])


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes, streamed (manifest identity for usage files)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
