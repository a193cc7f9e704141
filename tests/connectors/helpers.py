"""Helpers for the connector tests: tokens, recording sleeps, collecting batches, rendering the
generator's Parquet the way each API sends it, and a scripted HTTP stub.

``StubServer`` answers from a script, for cases the sandbox cannot produce on demand
(an HTTP-date ``Retry-After``, 502/504, redirects, an error body echoing the credential).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import polars as pl

from seeds.sandbox import SandboxTokens
from seeds.sandbox.erp_api import decimal_text
from seeds.tables import KEYS, SCHEMAS
from tieout.connectors import Connector, connect

TOKENS = SandboxTokens(
    billing="sk_test_bill_5f0c1d2e3a4b9c8d",
    erp="erp_tok_8c7b6a5d4e3f2a1b",
    revrec="rk_rev_1a2b3c4d5e6f7a8b",
    support="zd_sup_9e8d7c6b5a4f3e2d",
)
EMBED = 1


class Sleeps(list[float]):
    """An injected ``sleep`` that records instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


class FakeClock:
    """A monotonic clock that only moves when the injected sleep is called."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_connector(url: str, system: str, **options: Any) -> Connector:
    """A connector with the right sandbox token and a recording sleep (unless given)."""
    options.setdefault("sleep", Sleeps())
    return connect(system, url, getattr(TOKENS, system), **options)


def collect(batches: Iterator[Any]) -> dict[str, pl.DataFrame]:
    """All batches concatenated per table (raw: duplicates kept)."""
    frames: dict[str, list[pl.DataFrame]] = {}
    for batch in batches:
        assert list(batch.frame.columns) == list(SCHEMAS[batch.table])
        assert all(dtype == pl.String for dtype in batch.frame.dtypes)
        frames.setdefault(batch.table, []).append(batch.frame)
    return {table: pl.concat(parts) for table, parts in frames.items()}


def dedup(table: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Last version of each natural key, sorted by key."""
    keys = list(KEYS[table])
    return frame.unique(subset=keys, keep="last", maintain_order=True).sort(keys)


def key_set(table: str, frame: pl.DataFrame) -> set[tuple[Any, ...]]:
    return set(frame.select(list(KEYS[table])).iter_rows())


# ---- the generator's Parquet rendered the way each API sends it -------------------------------
def _render(system: str, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, dt.datetime):
        value = value.astimezone(dt.UTC)
        if system == "erp":
            return value.strftime("%Y-%m-%d %H:%M:%S.%f" if value.microsecond
                                  else "%Y-%m-%d %H:%M:%S")
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ" if value.microsecond
                              else "%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str) and system == "erp":
        return value or None  # Oracle: '' is NULL
    return str(value)


def expected_loose(company_dir: Path, table: str) -> pl.DataFrame:
    """The Parquet table as loose strings, sorted by key."""
    source = pl.read_parquet(company_dir / f"{table}.parquet").select(list(SCHEMAS[table]))
    system = table.split("/", 1)[0]
    data = {
        column: [_render(system, value) for value in source[column].to_list()]
        for column in source.columns
    }
    frame = pl.DataFrame(data, schema=dict.fromkeys(source.columns, pl.String))
    return frame.sort(list(KEYS[table]))


# ---- a scripted HTTP stub ----------------------------------------------------------------------
@dataclass
class Reply:
    status: int = 200
    body: Any = field(default_factory=dict)  # JSON-able, or bytes sent as-is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    echo_auth: bool = False  # put the request's credential headers into the body


def serve_loopback(handler: type[BaseHTTPRequestHandler]
                   ) -> tuple[ThreadingHTTPServer, threading.Thread]:
    """A threaded HTTP server for ``handler`` on 127.0.0.1 and a free port, already serving."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    return httpd, thread


def stop_loopback(httpd: ThreadingHTTPServer, thread: threading.Thread) -> None:
    """Stop a server from ``serve_loopback`` and free its port."""
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


class StubServer:
    """Answers requests from ``script`` in order (the last reply repeats); records requests."""

    def __init__(self, script: list[Reply]) -> None:
        self.script = list(script)
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                headers = {k.lower(): v for k, v in self.headers.items()}
                with stub._lock:
                    stub.requests.append((self.command, self.path, headers))
                    reply = stub.script.pop(0) if len(stub.script) > 1 else stub.script[0]
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body
                if reply.echo_auth:
                    body = {"error": {"message": "bad credentials: "
                                      f"{headers.get('authorization')} {headers.get('x-api-key')}"}}
                raw = body if isinstance(body, bytes) else json.dumps(body).encode()
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(raw)

            do_GET = _answer
            do_POST = _answer

        self._httpd, self._thread = serve_loopback(Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def stop(self) -> None:
        stop_loopback(self._httpd, self._thread)
