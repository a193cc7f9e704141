"""What the API clients did during a run, per source system and endpoint, as they did it.

``HttpClient`` already keeps ``ClientStats`` per client, but a client serves every endpoint of
its system and lives only as long as one extraction; an operator wants to know *which*
endpoint was slow or rate-limited tonight.  So the extraction hands every client of a run one
``HttpRecorder`` and the client reports each attempt (latency, failure kind), each retry wait,
and the connectors each page's records and dropped repeats.  Nothing is estimated: the numbers
are the calls that were made.

Endpoints are the request path with ids replaced by ``{id}`` (``/v1/invoices/{id}/lines``,
``.../journalentry/{id}``): one row per endpoint, not per record, and never a query string, so
no parameter (or anything a careless API put in a URL) reaches the warehouse.  Records and
repeats are attributed to the endpoint of the system's last successful page, which is the
page they came from: connectors hand a page on before asking for the next one.
"""

from __future__ import annotations

import math
import random
import re
import threading
from collections import Counter
from dataclasses import dataclass, field

from .catalog import Metric

LATENCY_SAMPLES = 100_000  # exact percentiles up to this many attempts per endpoint
_ID_SEGMENT = re.compile(r"\d")
_VERSION_SEGMENT = re.compile(r"v\d+")


def endpoint_of(path: str) -> str:
    """``path`` without its query and fragment, each id-like segment (one holding a digit,
    other than an API version such as ``v1``) replaced by ``{id}``."""
    bare = path.split("?", 1)[0].split("#", 1)[0]
    parts = [part if not _ID_SEGMENT.search(part) or _VERSION_SEGMENT.fullmatch(part)
             else "{id}" for part in bare.split("/")]
    return "/".join(parts) or "/"


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
    return ordered[rank]


@dataclass
class EndpointStats:
    """Everything recorded about one (system, endpoint)."""

    requests: int = 0
    pages: int = 0
    retries: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    busy_seconds: float = 0.0  # attempt latencies plus retry waits
    records: Counter[str] = field(default_factory=Counter)  # contract table -> records
    duplicates: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    _seen: int = 0  # latency samples offered (reservoir sampling past LATENCY_SAMPLES)

    def sample(self, latency_ms: float, rng: random.Random) -> None:
        """Keep every latency up to ``LATENCY_SAMPLES``, then a uniform reservoir of them."""
        self._seen += 1
        if len(self.latencies_ms) < LATENCY_SAMPLES:
            self.latencies_ms.append(latency_ms)
            return
        slot = rng.randrange(self._seen)
        if slot < LATENCY_SAMPLES:
            self.latencies_ms[slot] = latency_ms


class HttpRecorder:
    """Per (system, endpoint) counters fed by ``HttpClient`` and the connectors.

    Thread-safe (a lock around each update), though one extraction uses one thread.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats: dict[tuple[str, str], EndpointStats] = {}
        self._last: dict[str, str] = {}  # system -> endpoint of its last successful page
        self._rng = random.Random(0)  # reservoir sampling only; not a security matter

    def _entry(self, system: str, endpoint: str) -> EndpointStats:
        key = (system, endpoint)
        if key not in self._stats:
            self._stats[key] = EndpointStats()
        return self._stats[key]

    # ---- fed by HttpClient ------------------------------------------------------------------
    def attempt(self, system: str, path: str, latency_ms: float,
                failure: str | None = None) -> None:
        """One HTTP attempt took ``latency_ms``; ``failure`` is its stats key ("429",
        "timeout", "truncated", ...) or None when it answered a page."""
        endpoint = endpoint_of(path)
        with self._lock:
            entry = self._entry(system, endpoint)
            entry.requests += 1
            entry.busy_seconds += latency_ms / 1000
            entry.sample(latency_ms, self._rng)
            if failure is None:
                entry.pages += 1
                self._last[system] = endpoint
            else:
                entry.errors[failure] += 1

    def retry(self, system: str, path: str, wait_seconds: float) -> None:
        """A failed attempt is retried after ``wait_seconds``."""
        with self._lock:
            entry = self._entry(system, endpoint_of(path))
            entry.retries += 1
            entry.busy_seconds += wait_seconds

    # ---- fed by the connectors --------------------------------------------------------------
    def records(self, system: str, table: str, count: int) -> None:
        """``count`` records of ``table`` were handed on from the last page."""
        with self._lock:
            self._entry(system, self._last.get(system, "")).records[table] += count

    def duplicates(self, system: str, count: int) -> None:
        """``count`` exact repeats were dropped from the last page."""
        if count:
            with self._lock:
                self._entry(system, self._last.get(system, "")).duplicates += count

    # ---- read -------------------------------------------------------------------------------
    def endpoints(self) -> dict[tuple[str, str], EndpointStats]:
        """A snapshot of every (system, endpoint) recorded so far."""
        with self._lock:
            return dict(self._stats)

    def metrics(self, system: str | None = None) -> list[Metric]:
        """The recorded numbers as metric rows (of one system, or all)."""
        rows: list[Metric] = []
        for (source, endpoint), s in sorted(self.endpoints().items()):
            if system is not None and source != system:
                continue

            def put(name: str, value: float, dimension: str = "", where: str = endpoint,
                    source: str = source) -> None:
                rows.append(Metric(name, float(value), source, where, dimension))

            if s.requests:
                put("http_requests", s.requests)
                put("pages_fetched", s.pages)
                put("retries", s.retries)
                for key, count in sorted(s.errors.items()):
                    put("errors", count, key)
                for name, q in (("latency_p50", 0.5), ("latency_p95", 0.95)):
                    value = percentile(s.latencies_ms, q)
                    if value is not None:
                        put(name, round(value, 3))
            for table, count in sorted(s.records.items()):
                put("records_fetched", count, table)
            if s.requests and s.busy_seconds > 0:
                put("throughput", round(sum(s.records.values()) / s.busy_seconds, 3))
            if s.duplicates:
                put("duplicates_suppressed", s.duplicates, "connector")
        return rows
