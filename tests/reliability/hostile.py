"""Hostile and malformed input, end to end: files on disk and API pages into a warehouse.

``tests/checks`` proves the gate on frames built in memory.  What a controller relies on is the
whole path - a file or an HTTP page, read by the extraction, gated, staged and landed in
DuckDB - so this campaign corrupts a small generated company's exports and the API pages of a
sandbox, runs the real extraction into a fresh warehouse per case, and checks what the
warehouse says (DESIGN §10):

- nothing crashes: the only exception allowed is a one-line ``TieoutError`` (never a raw
  ``KeyError``, ``TypeError``, polars or DuckDB error);
- nothing half-lands: a file or an API table group that fails lands none of its rows,
  batches or quarantine; a page that cannot be read never becomes a silently shorter table;
- every record is accounted for: per batch ``received = landed + quarantined``, ``received``
  is what the file holds, each quarantined record has a one-line reason, every record the
  gate must refuse (NaN, a number beyond its type, an unknown currency, a duplicated key...)
  is in quarantine, every untouched record lands, and the raw table holds exactly the keys
  of the records not quarantined (unicode and zero-width ids byte for byte).

``run_fuzz_campaign`` is the entry point for both the bounded pytest run and the lead's longer
campaign; it never raises on a finding, it counts it in ``FuzzFigures``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.client
import json
import math
import re
import shutil
import threading
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import duckdb
import polars as pl
import pyarrow.parquet as pq
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from checks.schemas import MODELS
from checks.schemas._fields import EPOCH_MAX, EPOCH_MIN
from seeds.generator import generate_company
from seeds.sandbox import SandboxServer
from seeds.tables import KEYS, SCHEMAS
from tests.checks.loose import render_loose
from tests.connectors.helpers import TOKENS, serve_loopback, stop_loopback
from tieout.config import TieoutConfig, load_config
from tieout.connectors.erp import SUITEQL_PATH
from tieout.errors import TieoutError
from tieout.extract.batch import loose_text
from tieout.extract.plan import source_tables
from tieout.extract.service import extract_source, recorded_run, run_extraction
from tieout.warehouse.connection import open_warehouse
from tieout.warehouse.schema import quarantine_table, raw_table

FORMATS = ("parquet", "csv", "ndjson")
FILE_SOURCES = ("reference", "billing", "erp", "revrec", "support", "usage")
API_SOURCES = ("billing", "erp", "revrec", "support")
API_PATHS = {"billing": "/v1/", "erp": SUITEQL_PATH, "revrec": "/api/v1/revenue_schedules",
             "support": "/api/v2/"}
API_PAGE_SIZES = {"billing": 40, "erp": 150, "revrec": 40, "support": 5}  # several pages each
CLIENT_OPTIONS: dict[str, Any] = {"sleep": lambda _seconds: None, "max_attempts": 3,
                                  "read_timeout": 10.0, "max_total_seconds": 30.0}
MAX_BROKEN_PAGES = 25  # a "persistent" page fault ends after this many broken answers

# ---- hostile values -----------------------------------------------------------------------
# kind -> values as a source could send them (NDJSON keeps their JSON types; CSV and a
# Parquet column that carries one of them get their text).
HOSTILE: dict[str, list[object]] = {
    "nan": ["NaN", "Infinity", "-Infinity", "nan", "-inf", math.nan, math.inf, -math.inf],
    "huge": ["9" * 40, 10**40, 2**63, -(2**63) - 1, "1" + "0" * 38 + ".5", 2**63 - 1],
    "negative": [-1, "-5", "-0.01", -(10**6)],
    "currency": ["XXX", "btc", "usd ", "€", "US", "USDX", "USD", "usd"],
    "wrong_type": [True, False, [1, 2], {"a": 1}, 12.5, "12.50", "1e3", "abc", "0x10",
                   "2025-13-45", "１２"],
    "unicode": ["cus_ñé漢字🙂\u200b", "\u200b", "in_\u202eabc", "\ufeffid", "e\u0301",
                "🙂" * 20, "a\tb", "ﬁ", "Ω"],
    "control": ["a\nb", "x\x00y", "\r\n", "line\u2028sep"],
    "missing": [None, "", "   "],
    "long": ["x" * 5000],
}
NUMERIC_KINDS = frozenset({"nan", "huge", "negative"})
TEXT_KINDS = frozenset({"unicode", "control", "long"})
# Whole-file faults.  Broken files (their record count unknown): truncate, zero_bytes,
# duplicate_header, invalid_utf8.  Legitimate oddities that must land like a clean export:
# empty (no records), retype_text, bom, crlf, extra_column.  retype_float: every record with a
# value in the retyped column must be refused (money and counts are never floats).
# native_huge: Parquet's own wider types (UInt64, Decimal(38, 10)) holding a value beyond
# the contract's Int64 or Decimal(p, s) in the first records, which must be refused.
FILE_FAULTS = ("truncate", "empty", "zero_bytes", "retype_float", "retype_text",
               "duplicate_header", "invalid_utf8", "bom", "crlf", "extra_column",
               "native_huge")
BROKEN_FILES = frozenset({"truncate", "zero_bytes", "duplicate_header", "invalid_utf8"})
EXTRA_COLUMN = "zz_not_in_the_contract"
PAGE_FAULTS = ("html", "truncated", "empty_body", "empty_page", "not_a_page")
HTML_PAGE = (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body><h1>"
             b"Bad Gateway</h1><p>The upstream server is being deployed.</p></body></html>")
_INT = re.compile(r"-?[0-9]+")
_DECIMAL = re.compile(r"(-?)([0-9]+)(?:\.([0-9]+))?")
_AMOUNT = re.compile(r"-?[0-9]{1,18}(\.[0-9]+)?")
_INT_RANGE = {pl.Int64: (-(2**63), 2**63 - 1), pl.Int8: (-128, 127)}


@dataclass
class FuzzFigures:
    """What a campaign did and found; ``crashes`` and ``mismatches`` must stay 0."""

    cases: int = 0
    records_fuzzed: int = 0  # records (or API pages) corrupted
    received: int = 0  # summed over every batch of every case (ops.batches)
    landed: int = 0
    quarantined: int = 0
    crashes: int = 0  # an exception other than a one-line TieoutError
    mismatches: int = 0  # a broken invariant: half-landed, lost, unaccounted, unexplained
    details: list[str] = field(default_factory=list)  # one line per crash or mismatch

    def add(self, other: FuzzFigures) -> None:
        """Fold another campaign's figures in (a campaign run in parts)."""
        for name in ("cases", "records_fuzzed", "received", "landed", "quarantined",
                     "crashes", "mismatches"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.details += other.details


# ---- what the gate must do with a value ---------------------------------------------------
@dataclass(frozen=True)
class Column:
    """A contract column as the pandera model checks it."""

    name: str
    dtype: Any
    nullable: bool
    checks: frozenset[str]
    valid: frozenset[str]  # values the clean company uses (for enum and currency columns)


def must_reject(column: Column, text: str | None) -> bool | None:
    """True when the gate has to quarantine a record holding ``text`` in ``column``; None when
    either outcome is defensible (only the accounting is checked then)."""
    if text is None or text.strip() == "":
        return None if column.nullable else True
    dtype = column.dtype
    if dtype == pl.String:
        if column.checks & {"currency", "enum", "period_format"}:
            return True if text not in column.valid else None
        if "decimal_amount" in column.checks:
            return True if not _AMOUNT.fullmatch(text) else None
        return None
    if dtype in _INT_RANGE:
        if not _INT.fullmatch(text):
            return True
        number, (low, high) = int(text), _INT_RANGE[dtype]
        return True if (not low <= number <= high or _out_of_checks(column, number)) else None
    if isinstance(dtype, pl.Decimal):
        match = _DECIMAL.fullmatch(text)
        if not match:
            return True
        fraction = (match.group(3) or "").rstrip("0")
        if len(fraction) > dtype.scale or \
                len(match.group(2).lstrip("0")) > (dtype.precision or 38) - dtype.scale:
            return True
        return True if _out_of_checks(column, Decimal(text)) else None
    if dtype == pl.Boolean:
        return True if text.lower() not in ("true", "false") else None
    # dates and timestamps: no hostile value looks like one
    return True if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([T ].*)?", text) else None


def _out_of_checks(column: Column, number: int | Decimal) -> bool:
    return (("non_negative" in column.checks and number < 0)
            or ("positive" in column.checks and number <= 0)
            or ("date_range" in column.checks and isinstance(number, int)
                and not EPOCH_MIN <= number <= EPOCH_MAX))


def parsed_key_part(column: Column, text: str | None) -> object | None:
    """A key value as the typed frame holds it, or None when it does not parse (such a row
    fails on its own and takes no part in duplicate detection)."""
    if text is None or text.strip() == "":
        return None
    if column.dtype == pl.String:
        return text
    if column.dtype in _INT_RANGE and _INT.fullmatch(text):
        low, high = _INT_RANGE[column.dtype]
        return int(text) if low <= int(text) <= high else None
    if column.dtype == pl.Date and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        with contextlib.suppress(ValueError):
            return dt.date.fromisoformat(text)
    return None


# ---- the catalogue of a generated company -------------------------------------------------
@dataclass
class TableData:
    """One export of the clean company: typed, as text, and its columns."""

    table: str
    typed: pl.DataFrame
    loose: pl.DataFrame
    columns: dict[str, Column]
    file: Path  # the export in the base company


def _columns(table: str, typed: pl.DataFrame) -> dict[str, Column]:
    schema = MODELS[table].to_schema()
    out = {}
    for name, dtype in SCHEMAS[table].items():
        spec = schema.columns[name]
        checks = frozenset(str(c.name) for c in spec.checks)
        valid = frozenset(str(v) for v in typed.get_column(name).drop_nulls().unique())
        out[name] = Column(name, dtype, bool(spec.nullable), checks, valid)
    return out


def _catalogue(base: Path) -> dict[str, TableData]:
    """Every table of the company; usage is one day's file (the busiest)."""
    out = {}
    for table in SCHEMAS:
        if table == "usage/events":
            days = sorted((base / "usage").glob("date=*/*.parquet"))
            path = max(days, key=lambda p: pq.ParquetFile(p).metadata.num_rows)
        else:
            path = base / f"{table}.parquet"
        typed = pl.read_parquet(path).select(list(SCHEMAS[table]))
        out[table] = TableData(table, typed, render_loose(table, typed), _columns(table, typed),
                               path)
    return out


# ---- cases ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Corruption:
    """One cell of one record replaced by a hostile value."""

    row: int  # taken modulo the table's size
    column: int  # index into the candidate columns of ``kind``, modulo their number
    kind: str
    value: object
    json_duplicate: str = ""  # NDJSON: "" plain, "after" (hostile wins) or "before" (shadowed)


@dataclass(frozen=True)
class FileCase:
    table: str
    fmt: str
    corruptions: tuple[Corruption, ...]
    duplicates: tuple[tuple[int, int], ...]  # (from, to): ``to`` takes ``from``'s natural key
    fault: str | None  # a FILE_FAULTS entry or None
    cut: float  # where "truncate" cuts, as a fraction of the file

    def describe(self) -> str:
        parts = [f"{c.kind}:{c.value!r}"[:40] + (f"/{c.json_duplicate}" if c.json_duplicate
                                                   else "") for c in self.corruptions]
        extra = f" fault={self.fault}" + (f"@{self.cut:.2f}" if self.fault == "truncate"
                                          else "") if self.fault else ""
        return (f"{self.table} as {self.fmt}: {len(self.corruptions)} cells "
                f"[{', '.join(parts)}] {len(self.duplicates)} dup keys{extra}")


@dataclass(frozen=True)
class PageCase:
    source: str
    nth: int  # the first broken answer: the nth request to the source's path (from 0)
    fault: str  # a PAGE_FAULTS entry
    persistent: bool  # every later request breaks too (up to MAX_BROKEN_PAGES)

    def describe(self) -> str:
        kind = "persistent" if self.persistent else "once"
        return f"{self.source} API: {self.fault} {kind} from request {self.nth}"


def _corruptions() -> st.SearchStrategy[Corruption]:
    return st.sampled_from(sorted(HOSTILE)).flatmap(lambda kind: st.builds(
        Corruption, row=st.integers(0, 10**6), column=st.integers(0, 10**3),
        kind=st.just(kind), value=st.sampled_from(HOSTILE[kind]),
        json_duplicate=st.sampled_from(["", "", "after", "before"])))


def file_cases(tables: list[str]) -> st.SearchStrategy[FileCase]:
    """A table's export in some format with hostile cells, copied keys and maybe a broken
    file."""
    return st.builds(
        FileCase, table=st.sampled_from(tables), fmt=st.sampled_from(FORMATS),
        corruptions=st.lists(_corruptions(), max_size=6).map(tuple),
        duplicates=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)),
                            max_size=2).map(tuple),
        fault=st.one_of(st.none(), st.none(), st.none(), st.sampled_from(FILE_FAULTS)),
        cut=st.floats(0.02, 0.98))


def page_cases() -> st.SearchStrategy[PageCase]:
    """A broken answer of a source API, once or from then on."""
    return st.builds(PageCase, source=st.sampled_from(API_SOURCES), nth=st.integers(0, 4),
                     fault=st.sampled_from(PAGE_FAULTS), persistent=st.booleans())


def cases(tables: list[str]) -> st.SearchStrategy[FileCase | PageCase]:
    """Mostly file cases (cheap, varied); one in four breaks an API page."""
    return st.integers(0, 3).flatmap(
        lambda pick: page_cases() if pick == 0 else file_cases(tables))


# ---- writing a corrupted export -----------------------------------------------------------
def _candidates(data: TableData, kind: str) -> list[str]:
    cols = list(data.columns.values())
    if kind in NUMERIC_KINDS:
        chosen = [c for c in cols if c.dtype in _INT_RANGE or isinstance(c.dtype, pl.Decimal)
                  or "decimal_amount" in c.checks]
    elif kind == "currency":
        chosen = [c for c in cols if "currency" in c.checks or "currency" in c.name]
    elif kind in TEXT_KINDS:
        keys = [c for c in cols if c.name in KEYS[data.table]]
        chosen = keys + [c for c in cols if c.dtype == pl.String and c not in keys][:2]
    else:
        chosen = cols
    return [c.name for c in (chosen or cols)]


@dataclass
class Written:
    """A corrupted export and what the gate must make of each of its records."""

    path: Path
    records: list[dict[str, object]]  # effective values, as the reader will see them
    verdicts: list[bool | None]  # per record: must reject / must land (False) / either
    fuzzed: int
    countable: bool  # False when the file itself is broken (record count unknown)
    must_fail: bool  # the file cannot be read: the extraction must refuse it


def write_case(case: FileCase, data: TableData, folder: Path) -> Written:
    """Write ``case``'s export of ``data`` into ``folder``; predict the gate's verdicts."""
    n = data.loose.height
    records: list[dict[str, object]] = [dict(r) for r in data.loose.iter_rows(named=True)]
    raw_values: dict[tuple[int, str], object] = {}  # hostile values with their JSON types
    json_dups: dict[int, list[tuple[str, object, str]]] = {}
    touched: dict[int, list[bool | None]] = {}
    keys = list(KEYS[data.table])
    if case.fault != "empty" and n:
        for src, dst in case.duplicates:
            i, j = src % n, dst % n
            if i != j:
                for k in keys:
                    records[j][k] = records[i][k]
                touched.setdefault(j, [])
        after: dict[tuple[int, str], object] = {}  # NDJSON keys repeated later: they win
        for c in case.corruptions:
            row = c.row % n
            names = _candidates(data, c.kind)
            name = names[c.column % len(names)]
            touched.setdefault(row, [])
            if case.fmt == "ndjson" and c.json_duplicate:
                json_dups.setdefault(row, []).append((name, c.value, c.json_duplicate))
                if c.json_duplicate == "after":
                    after[(row, name)] = c.value
                continue  # "before": the record's own value comes later and wins
            raw_values[(row, name)] = c.value
        effective = {**raw_values, **after}
        for (row, name), value in effective.items():
            records[row][name] = loose_text(value)
            touched[row].append(must_reject(data.columns[name], loose_text(value)))
    if case.fault == "empty":
        records = []
    retyped = _retype_column(data) if case.fault in ("retype_float", "retype_text") else None
    if case.fault == "retype_float" and retyped and case.fmt == "parquet" and \
            all(name != retyped for _row, name in raw_values):  # else the column is text
        for i, record in enumerate(records):
            if record[retyped] is not None:
                touched.setdefault(i, []).append(True)

    wide = _wide_columns(data, {name for _row, name in raw_values}) \
        if case.fault == "native_huge" and case.fmt == "parquet" else {}
    for row, name in enumerate(wide):
        if row < len(records):
            touched.setdefault(row, []).append(True)
            records[row][name] = str(_WIDE_VALUES[wide[name]])

    verdicts = _verdicts(data, records, touched)
    path = folder / f"{data.table.split('/', 1)[1]}.{case.fmt}"
    as_text = {name for _row, name in raw_values}
    if case.duplicates:
        as_text |= set(keys)
    extra = case.fault == "extra_column"
    if case.fault == "zero_bytes":
        path.write_bytes(b"")
    elif case.fmt == "ndjson":
        _write_ndjson(path, records, raw_values, json_dups, extra=extra)
    elif case.fmt == "csv":
        _write_csv(path, data, records, duplicate_header=case.fault == "duplicate_header",
                   crlf=case.fault == "crlf", extra=extra)
    else:
        _write_parquet(path, data, records, as_text, retyped, case.fault, wide)
    content = path.read_bytes()
    if case.fault == "truncate":
        path.write_bytes(content[:max(1, int(len(content) * case.cut))])
    elif case.fault == "invalid_utf8" and case.fmt != "parquet" and content:
        at = min(len(content) - 1, int(len(content) * case.cut))
        path.write_bytes(content[:at] + b"\xff\xfe" + content[at + 1:])
    elif case.fault == "bom":
        path.write_bytes(b"\xef\xbb\xbf" + content)
    elif case.fault == "crlf" and case.fmt == "ndjson":
        path.write_bytes(content.replace(b"\n", b"\r\n"))
    unreadable = case.fmt == "parquet" and case.fault in ("truncate", "bom")
    broken = case.fault in BROKEN_FILES and (case.fmt, case.fault) not in _NO_OPS
    return Written(path, records, verdicts, len(touched), countable=not broken,
                   must_fail=unreadable)


_WIDE_VALUES: dict[str, object] = {"uint64": 2**64 - 1,
                                   "decimal38": Decimal("9" * 27 + ".5")}


def _wide_columns(data: TableData, text_columns: set[str]) -> dict[str, str]:
    """Column -> wide Parquet type for ``native_huge``: a non-negative integer column as
    UInt64 and a decimal column as Decimal(38, 10) (record 0 and 1 get the huge values)."""
    out = {}
    for column in data.columns.values():
        values = data.typed.get_column(column.name)
        if column.name in KEYS[data.table] or column.name in text_columns:
            continue
        if column.dtype == pl.Int64 and "uint64" not in out.values() and \
                (values.min() or 0) >= 0:  # type: ignore[operator]
            out[column.name] = "uint64"
        elif isinstance(column.dtype, pl.Decimal) and "decimal38" not in out.values():
            out[column.name] = "decimal38"
    return out


def _retype_column(data: TableData) -> str | None:
    """An integer column (not a key) to write with another type, if the table has one."""
    ints = [c.name for c in data.columns.values()
            if c.dtype == pl.Int64 and c.name not in KEYS[data.table]]
    return ints[0] if ints else None


def _verdicts(data: TableData, records: list[dict[str, object]],
              touched: dict[int, list[bool | None]]) -> list[bool | None]:
    """Per record: True must be quarantined, False must land, None either."""
    keys = [data.columns[k] for k in KEYS[data.table]]
    parsed = [tuple(parsed_key_part(k, loose_text(r[k.name])) for k in keys) for r in records]
    copies = Counter(p for p in parsed if None not in p)
    verdicts: list[bool | None] = []
    for i, key in enumerate(parsed):
        marks = touched.get(i)
        if None not in key and copies[key] > 1:
            verdicts.append(True)  # every copy of a duplicated natural key is held back
        elif marks is None:
            verdicts.append(False)
        elif any(m is True for m in marks):
            verdicts.append(True)
        else:
            verdicts.append(None)
    return verdicts


def _write_ndjson(path: Path, records: list[dict[str, object]],
                  raw_values: dict[tuple[int, str], object],
                  json_dups: dict[int, list[tuple[str, object, str]]], *, extra: bool) -> None:
    with path.open("w", encoding="utf-8") as out:
        for i, record in enumerate(records):
            dup_names = {name for name, _v, _w in json_dups.get(i, [])}
            shown = {k: raw_values.get((i, k), v) for k, v in record.items() if v is not None
                     or (i, k) in raw_values or k in dup_names}
            if extra:
                shown[EXTRA_COLUMN] = {"nested": [1, None, "x"]}
            line = json.dumps(shown, ensure_ascii=False)
            for name, value, where in json_dups.get(i, []):
                pair = f"{json.dumps(name)}: {json.dumps(value, ensure_ascii=False)}"
                if where == "before":
                    line = "{" + pair + (", " if line != "{}" else "") + line[1:]
                else:
                    line = line[:-1] + (", " if line != "{}" else "") + pair + "}"
            out.write(line + "\n")


def _write_csv(path: Path, data: TableData, records: list[dict[str, object]], *,
               duplicate_header: bool, crlf: bool, extra: bool) -> None:
    columns = list(SCHEMAS[data.table])
    frame = pl.DataFrame({c: [loose_text(r[c]) for r in records] for c in columns},
                         schema=dict.fromkeys(columns, pl.String))
    if extra:
        frame = frame.with_columns(pl.lit("surprise").alias(EXTRA_COLUMN))
    text = frame.write_csv(line_terminator="\r\n" if crlf else "\n")
    if duplicate_header:  # the first column named twice (a broken export tool)
        header, _, rest = text.partition("\n")
        names = header.split(",")
        text = ",".join([names[0], names[0], *names[2:]]) + "\n" + rest
    path.write_text(text, encoding="utf-8")


def _write_parquet(path: Path, data: TableData, records: list[dict[str, object]],
                   as_text: set[str], retyped: str | None, fault: str | None,
                   wide: dict[str, str]) -> None:
    """Untouched columns keep their Parquet types; a column holding a hostile value (or a
    copied key) arrives as text, as an export tool would have to write it."""
    series = []
    for row, (name, kind) in enumerate(wide.items()):
        values = data.typed.get_column(name).head(len(records)).to_list()
        if row < len(values):
            values[row] = _WIDE_VALUES[kind]
        wide_type = pl.UInt64 if kind == "uint64" else pl.Decimal(38, 10)
        series.append(pl.Series(name, values, wide_type))
    for name, dtype in SCHEMAS[data.table].items():
        if name in wide:
            continue
        if name in as_text:
            series.append(pl.Series(name, [loose_text(r[name]) for r in records], pl.String))
        elif fault in ("retype_float", "retype_text") and name == retyped:
            values = data.typed.get_column(name).head(len(records))
            series.append(values.cast(pl.Float64 if fault == "retype_float" else pl.String))
        else:
            series.append(data.typed.get_column(name).head(len(records)).cast(dtype))
    if fault == "extra_column":
        series.append(pl.Series(EXTRA_COLUMN, [1.5] * len(records), pl.Float64))
    pl.DataFrame(series).select(list(SCHEMAS[data.table]) + (
        [EXTRA_COLUMN] if fault == "extra_column" else [])).write_parquet(path)


# ---- a stand-in HTTP server in front of the sandbox ---------------------------------------
class PageFaultProxy:
    """Forwards every request to the sandbox, but answers the ``nth`` request to ``path``
    (and, when ``persistent``, the following ones) with a broken page: the faults a real API
    shows on a bad night that the sandbox cannot produce on demand."""

    def __init__(self, upstream: str, case: PageCase) -> None:
        self.case = case
        self.broken = 0
        self._seen = 0
        self._lock = threading.Lock()
        target = urlsplit(upstream)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in {"host", "content-length", "connection",
                                                "accept-encoding"}}
                upstream_con = http.client.HTTPConnection(target.hostname or "127.0.0.1",
                                                          target.port, timeout=30)
                try:
                    upstream_con.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream_con.getresponse()
                    status, content = answer.status, answer.read()
                    kept = [(k, v) for k, v in answer.getheaders()
                            if k.lower() in {"content-type", "retry-after", "location"}]
                finally:
                    upstream_con.close()
                broken = proxy._break(self.path, status, content)
                if broken is not None:
                    status, content, kept = broken
                self.send_response(status)
                for name, value in kept:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(content)

            do_GET = _forward
            do_POST = _forward

        self._httpd, self._thread = serve_loopback(Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def _break(self, path: str, status: int, content: bytes
               ) -> tuple[int, bytes, list[tuple[str, str]]] | None:
        case = self.case
        if not path.startswith(API_PATHS[case.source]) or status != 200:
            return None
        with self._lock:
            seen, self._seen = self._seen, self._seen + 1
            if seen < case.nth or (seen > case.nth and not case.persistent) \
                    or self.broken >= MAX_BROKEN_PAGES:
                return None
            self.broken += 1
        json_type = [("Content-Type", "application/json")]
        if case.fault == "html":
            return 200, HTML_PAGE, [("Content-Type", "text/html; charset=utf-8")]
        if case.fault == "truncated":
            return 200, content[:max(1, len(content) // 2)], json_type
        if case.fault == "empty_body":
            return 200, b"", json_type
        if case.fault == "not_a_page":
            return 200, json.dumps({"status": "maintenance"}).encode(), json_type
        return 200, json.dumps(_empty_page(case.source, path)).encode(), json_type

    def stop(self) -> None:
        stop_loopback(self._httpd, self._thread)


def _empty_page(source: str, path: str) -> dict[str, object]:
    """A well-formed page without records that still says there is more."""
    if source == "billing":
        return {"object": "list", "data": [], "has_more": True, "url": urlsplit(path).path}
    if source == "erp":
        return {"items": [], "hasMore": True, "count": 0, "offset": 0, "totalResults": 1}
    parts = urlsplit(path)
    if source == "support":  # Zendesk cursor page: the list is named after the resource
        return {parts.path.rstrip("/").rsplit("/", 1)[-1]: [],
                "meta": {"has_more": True, "after_cursor": None, "before_cursor": None},
                "links": {"next": path, "prev": None}}
    query = dict(parse_qsl(parts.query))
    query["page"] = str(int(query.get("page", "1")) + 1)
    return {"count": 1, "page": 1, "previous": None, "results": [],
            "next": f"{parts.path}?{urlencode(query)}"}


# ---- running and checking one case --------------------------------------------------------
def _one_line_error(exc: BaseException) -> bool:
    return isinstance(exc, TieoutError) and "\n" not in str(exc) and bool(str(exc).strip())


def _crash_line(where: str, exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    at = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"crash: {where}: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}{at}"


@dataclass
class Landed:
    """What a case left in its warehouse, per table."""

    batches: dict[str, list[tuple[int, int, int]]]  # table -> (received, landed, quarantined)
    quarantine_rows: dict[str, set[int]]  # table -> positions quarantined (one chunk)
    bad_reasons: dict[str, int]  # table -> quarantine rows without a one-line reason
    raw_keys: dict[str, set[tuple[object, ...]]]
    raw_rows: dict[str, int]
    run_status: str


def _read_landed(con: duckdb.DuckDBPyConnection, tables: list[str]) -> Landed:
    """The warehouse's own account of a case: judged from what was stored, not from what the
    extraction's report object claims."""
    batches: dict[str, list[tuple[int, int, int]]] = {t: [] for t in tables}
    for table, received, landed, quarantined in con.execute(
            "SELECT table_name, received, landed, quarantined FROM ops.batches").fetchall():
        batches.setdefault(table, []).append((int(received), int(landed), int(quarantined)))
    rows, reasons, keys, counts = {}, {}, {}, {}
    for table in tables:
        q = quarantine_table(table)
        rows[table] = {int(r) for (r,) in con.execute(f'SELECT DISTINCT "row" FROM {q}'
                                                      ).fetchall()}
        [(bad,)] = con.execute(
            f"SELECT count(*) FROM {q} WHERE reason IS NULL OR trim(reason) = '' OR "
            "reason LIKE '%' || chr(10) || '%' OR reason LIKE '%' || chr(13) || '%'"
        ).fetchall()
        reasons[table] = int(bad)
        key_sql = ", ".join(f'"{k}"' for k in KEYS[table])
        keys[table] = set(con.execute(f"SELECT {key_sql} FROM {raw_table(table)}").fetchall())
        [(total,)] = con.execute(f"SELECT count(*) FROM {raw_table(table)}").fetchall()
        counts[table] = int(total)
    statuses = con.execute("SELECT status FROM ops.runs").fetchall()
    return Landed(batches, rows, reasons, keys, counts,
                  statuses[-1][0] if statuses else "none")


class Campaign:
    """A base company, its catalogue and (when a page case needs it) a sandbox to break."""

    def __init__(self, work: Path, seed: int) -> None:
        self.work = work
        work.mkdir(parents=True, exist_ok=True)
        self.base = generate_company(work / "base", seed=seed % 10_000, invoices=200).out_dir
        self.data = _catalogue(self.base)
        self.usage_day = dt.date.fromisoformat(
            self.data["usage/events"].file.parent.name.removeprefix("date="))
        self._sandbox: SandboxServer | None = None
        self._template = work / "template.duckdb"  # an empty warehouse, copied per case
        open_warehouse(self._template).close()
        self._clean: dict[str, dict[str, int]] = {}
        self._n = 0

    def close(self) -> None:
        """Stop the sandbox, if a page case started one (its thread would outlive us)."""
        if self._sandbox is not None:
            self._sandbox.stop()

    # -- files ------------------------------------------------------------------------------
    def _case_dir(self) -> Path:
        self._n += 1
        folder = self.work / f"case{self._n:05d}"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        shutil.copy(self.base / "tieout.toml", folder / "tieout.toml")
        return folder

    def run_file_case(self, case: FileCase, figures: FuzzFigures) -> None:
        """Write the corrupted export, extract its source into a fresh warehouse, judge."""
        data = self.data[case.table]
        source = case.table.split("/", 1)[0]
        folder = self._case_dir()
        try:
            export = self._lay_out(folder, source, data)
            written = write_case(case, data, export)
            figures.records_fuzzed += written.fuzzed
            cfg = load_config(folder / "tieout.toml")
            con = self._fresh_warehouse(cfg)
            try:
                error = self._extract_files(con, cfg, source)
                landed = _read_landed(con, source_tables(source))
            finally:
                con.close()
            self._check_file_case(case, written, landed, error, figures)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _fresh_warehouse(self, cfg: TieoutConfig) -> duckdb.DuckDBPyConnection:
        """An empty warehouse for one case (a copy: creating the schema is the slow part)."""
        shutil.copy(self._template, cfg.warehouse)
        return open_warehouse(cfg.warehouse)

    def _lay_out(self, folder: Path, source: str, data: TableData) -> Path:
        """The case's company: links to the base, except the corrupted table's folder,
        which links every other export and receives the corrupted one."""
        for name in FILE_SOURCES:
            if name != source:
                (folder / name).symlink_to(self.base / name, target_is_directory=True)
        if source == "usage":
            export = folder / "usage" / data.file.parent.name
            export.mkdir(parents=True)
            return export
        export = folder / source
        export.mkdir()
        for other in source_tables(source):
            if other != data.table:
                src = self.data[other].file
                (export / src.name).symlink_to(src)
        return export

    def _extract_files(self, con: duckdb.DuckDBPyConnection, cfg: TieoutConfig,
                       source: str) -> BaseException | None:
        try:
            if source == "usage":
                day = (self.usage_day, self.usage_day + dt.timedelta(days=1))
                with recorded_run(con, "fuzz:usage") as report:
                    extract_source(con, cfg, "usage", run_id=report.run_id, report=report,
                                   days=day)
            else:
                run_extraction(con, cfg, [source])
        except Exception as exc:  # judged by the caller: one-line TieoutError or a crash
            return exc
        return None

    def _check_file_case(self, case: FileCase, written: Written, landed: Landed,
                         error: BaseException | None, figures: FuzzFigures) -> None:
        where = case.describe()
        problems: list[str] = []
        table = case.table
        for other, batches in landed.batches.items():
            for received, ok, held in batches:
                figures.received += received
                figures.landed += ok
                figures.quarantined += held
                if received != ok + held:
                    problems.append(f"{other}: received {received} != landed {ok} + "
                                    f"quarantined {held}")
            if landed.bad_reasons.get(other):
                problems.append(f"{other}: {landed.bad_reasons[other]} quarantine rows "
                                "without a one-line reason")
            if other != table:  # untouched exports: all of it or none of it, never quarantine
                expected = self.data[other].typed.height
                got = sum(r for r, _, _ in batches)
                if got not in (0, expected) or landed.raw_rows[other] not in (0, expected) \
                        or landed.quarantine_rows[other]:
                    problems.append(f"{other} (untouched): received {got}, raw "
                                    f"{landed.raw_rows[other]} of {expected}")
        if error is not None and not _one_line_error(error):
            figures.crashes += 1
            figures.details.append(_crash_line(where, error))
            return
        mine = landed.batches.get(table, [])
        if error is not None:
            # refused: the unit lands nothing, and the run says it failed
            if mine or landed.raw_rows[table] or landed.quarantine_rows[table]:
                problems.append(f"half-landed after {error}: {len(mine)} batches, "
                                f"{landed.raw_rows[table]} rows")
            if landed.run_status != "failed":
                problems.append(f"run status {landed.run_status} after an error")
            if written.countable and not written.must_fail:
                problems.append(f"refused an export whose records are all readable: {error}")
        elif written.must_fail:
            problems.append("a truncated Parquet file was landed")
        else:
            problems += self._check_accounting(table, written, landed)
        if problems:
            figures.mismatches += 1
            figures.details.append(f"mismatch: {where}: {'; '.join(problems)[:600]}")

    def _check_accounting(self, table: str, written: Written, landed: Landed) -> list[str]:
        problems: list[str] = []
        batches = landed.batches.get(table, [])
        received = sum(r for r, _, _ in batches)
        held = landed.quarantine_rows[table]
        if len(held) != sum(q for _, _, q in batches):
            problems.append(f"{len(held)} records in quarantine, batches say "
                            f"{sum(q for _, _, q in batches)}")
        if landed.raw_rows[table] != sum(ok for _, ok, _ in batches):
            problems.append(f"raw table has {landed.raw_rows[table]} rows, batches landed "
                            f"{sum(ok for _, ok, _ in batches)}")
        data = self.data[table]
        keys = [data.columns[k] for k in KEYS[table]]
        if not written.countable:  # a cut or broken file: whatever landed must be real
            originals = {tuple(parsed_key_part(k, loose_text(r[k.name])) for k in keys)
                         for r in written.records}
            if received > len(written.records) + 1:
                problems.append(f"received {received} from a cut file of "
                                f"{len(written.records)} records")
            strangers = landed.raw_keys[table] - originals
            if strangers:
                problems.append(f"landed keys not in the export: {sorted(strangers)[:3]!r}")
            return problems
        if received != len(written.records):
            problems.append(f"received {received}, the file holds {len(written.records)}")
        lost = [i for i, v in enumerate(written.verdicts) if v is False and i in held]
        missed = [i for i, v in enumerate(written.verdicts) if v is True and i not in held]
        if lost:
            problems.append(f"clean records quarantined: rows {lost[:5]}")
        if missed:
            problems.append(f"records that must be refused were landed: rows {missed[:5]} "
                            f"({[written.records[i] for i in missed[:1]]!r})"[:300])
        expected_keys = {tuple(parsed_key_part(k, loose_text(written.records[i][k.name]))
                               for k in keys)
                         for i in range(len(written.records)) if i not in held}
        if landed.raw_keys[table] != expected_keys:
            extra = landed.raw_keys[table] - expected_keys
            gone = expected_keys - landed.raw_keys[table]
            problems.append(f"raw keys differ: {len(extra)} unexpected "
                            f"{sorted(extra, key=repr)[:2]!r}, {len(gone)} missing "
                            f"{sorted(gone, key=repr)[:2]!r}")
        return problems

    # -- API pages --------------------------------------------------------------------------
    def _sandbox_url(self) -> str:
        if self._sandbox is None:
            self._sandbox = SandboxServer(self.base, tokens=TOKENS)
            self._sandbox.start()
        return self._sandbox.url

    def _api_run(self, source: str, url: str, folder: Path
                 ) -> tuple[BaseException | None, Landed]:
        cfg = load_config(folder / "tieout.toml")
        src = replace(cfg.sources[source], mode="api", base_url=url)
        cfg = replace(cfg, sources={**cfg.sources, source: src})
        con = self._fresh_warehouse(cfg)
        try:
            try:
                run_extraction(con, cfg, [source], tokens={source: getattr(TOKENS, source)},
                               client_options={**CLIENT_OPTIONS,
                                               "page_size": API_PAGE_SIZES[source]})
                error = None
            except Exception as exc:  # judged by the caller
                error = exc
            return error, _read_landed(con, source_tables(source))
        finally:
            con.close()

    def clean_counts(self, source: str) -> dict[str, int]:
        """Rows per table of a fault-free API extraction of ``source`` (the reference)."""
        if source not in self._clean:
            folder = self._case_dir()
            try:
                error, landed = self._api_run(source, self._sandbox_url(), folder)
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            if error is not None:
                raise AssertionError(f"clean {source} API extraction failed: {error}")
            self._clean[source] = landed.raw_rows
        return self._clean[source]

    def run_page_case(self, case: PageCase, figures: FuzzFigures) -> None:
        """Extract one source's API through a proxy breaking its pages; the warehouse must
        hold the clean extraction's rows, or (after a one-line error) none of a group."""
        clean = self.clean_counts(case.source)
        proxy = PageFaultProxy(self._sandbox_url(), case)
        folder = self._case_dir()
        try:
            error, landed = self._api_run(case.source, proxy.url, folder)
        finally:
            proxy.stop()
            shutil.rmtree(folder, ignore_errors=True)
        figures.records_fuzzed += proxy.broken
        where = f"{case.describe()} ({proxy.broken} broken answers)"
        for batches in landed.batches.values():
            for received, ok, held in batches:
                figures.received += received
                figures.landed += ok
                figures.quarantined += held
        if error is not None and not _one_line_error(error):
            figures.crashes += 1
            figures.details.append(_crash_line(where, error))
            return
        # complete after a success; each table all or nothing after a refusal
        allowed = {t: {n} if error is None else {0, n} for t, n in clean.items()}
        problems = [f"{t}: {landed.raw_rows[t]} of {n} rows" for t, n in clean.items()
                    if landed.raw_rows[t] not in allowed[t]]
        problems += [f"{t}: {len(rows)} quarantined"
                     for t, rows in landed.quarantine_rows.items() if rows]
        if error is not None and landed.run_status != "failed":
            problems.append(f"run status {landed.run_status} after an error")
        if problems:
            figures.mismatches += 1
            figures.details.append(f"mismatch: {where}: {'; '.join(problems)[:600]}"
                                   + (f" (error: {error})" if error else ""))


MATRIX_TABLE = "revrec/revenue_schedules"  # text amounts, dates, timestamps; a small source


def matrix_cases() -> list[FileCase | PageCase]:
    """Every page fault of every API, once and persistent, and every file fault in every
    format: rare combinations a random campaign of a few dozen cases would miss."""
    pages: list[FileCase | PageCase] = [
        PageCase(source, 1, fault, persistent) for source in API_SOURCES
        for fault in PAGE_FAULTS for persistent in (False, True)]
    files: list[FileCase | PageCase] = [
        FileCase(MATRIX_TABLE, fmt, (), (), fault, 0.5) for fault in FILE_FAULTS
        for fmt in FORMATS if (fmt, fault) not in _NO_OPS]
    return pages + files


# (format, fault) pairs that change nothing: text faults on Parquet, Parquet-only retyping
_NO_OPS = frozenset({("parquet", "invalid_utf8"), ("parquet", "crlf"),
                     ("parquet", "duplicate_header"), ("csv", "retype_float"),
                     ("csv", "retype_text"), ("ndjson", "retype_float"),
                     ("ndjson", "retype_text"), ("ndjson", "duplicate_header"),
                     ("csv", "native_huge"), ("ndjson", "native_huge")})


def run_fuzz_campaign(examples: int, seed: int, work: Path, *,
                      matrix: bool = True) -> FuzzFigures:
    """Run ``examples`` random hostile cases (seeded, reproducible) under ``work``, after the
    fixed ``matrix_cases`` unless ``matrix`` is False; never raises on a finding, counts it."""
    figures = FuzzFigures()
    campaign = Campaign(work, seed)
    tables = sorted(SCHEMAS)

    def run(case: FileCase | PageCase) -> None:
        figures.cases += 1
        try:
            if isinstance(case, FileCase):
                campaign.run_file_case(case, figures)
            else:
                campaign.run_page_case(case, figures)
        except Exception as exc:  # the harness itself must not stop the campaign
            figures.crashes += 1
            figures.details.append(_crash_line(f"harness: {case.describe()}", exc))

    try:
        test = given(case=cases(tables))(run)
        for case in reversed(matrix_cases() if matrix else []):
            test = example(case=case)(test)
        runner: Callable[[], None] = hypothesis_seed(seed)(settings(
            max_examples=max(1, examples), deadline=None, database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck))(test))
        runner()
    finally:
        campaign.close()
    return figures
