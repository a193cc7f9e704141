"""One HTTP client for every connector: a session, timeouts, bounded retries, secret-free errors.

The sources fail in the same few ways on a bad night - rate limits (429 with
``Retry-After``), 5xx, refused or dropped connections, slow answers, a 200 whose body is cut
off - and the nightly run must ride those out without hammering a struggling API, without
waiting forever, and without ever letting a credential reach a log line, an exception or a
report (DESIGN §3, §10). Putting that in one place keeps the connectors about paging only.

Retry policy (``HttpClient``): an attempt is retried on 429, 500, 502, 503, 504, on connection
errors and timeouts, and on a 2xx whose body is not valid JSON (a response truncated by a
dropped connection). Everything else (400, 401, 403, 404, 405, redirects, ...) fails at once:
retrying cannot fix a bad request or a wrong token, and a nightly run should say so in one
line instead of after two minutes. The wait before a retry is the server's ``Retry-After``
(seconds or an HTTP-date) when it sends one, else "full jitter" exponential backoff
(uniform in [0, min(cap, base * 2**n)]) so many clients recovering at once do not retry in
lock-step. Attempts are capped (``max_attempts``) and so is the total time spent on one call
(``max_total_seconds``): a wait that would cross that limit is not started, and each
attempt's read timeout is shortened to what is left. Stripe's ``Stripe-Should-Retry`` header,
when present, overrides the status-based decision, as Stripe's own clients do.

Secrets: every value in ``headers`` (and the credential part of "Scheme credential" values) is
scrubbed from every message this module builds, errors are raised outside ``except`` blocks so
no requests exception (whose ``request`` carries the headers) hangs off them as context,
redirects are not followed (requests keeps custom headers such as ``X-API-Key`` across hosts),
``next`` links are only followed on the configured origin, and ``.netrc`` is never consulted
(requests would let it replace our ``Authorization`` header).
"""

from __future__ import annotations

import email.utils
import http
import json
import logging
import math
import random as _random
import time
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, quote, urlsplit

import requests

from tieout.errors import InputError, TieoutError

if TYPE_CHECKING:
    from tieout.metrics.recorder import HttpRecorder

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
LATENCY_SAMPLES = 10_000  # latency samples kept per client (the most recent ones)
_MAX_DETAIL = 300  # characters of the server's message kept in an error
_MIN_READ_TIMEOUT = 0.05
_REDACTED = "***"


class SourceError(TieoutError):
    """A source API call failed for good; the message is one line without secrets.

    Attributes say what failed so callers can report it without parsing the message.
    ``status`` is the HTTP status of the last attempt, or None when no response came back.
    """

    def __init__(self, message: str, *, system: str, method: str, path: str,
                 status: int | None = None, attempts: int = 1) -> None:
        super().__init__(message)
        self.system = system
        self.method = method
        self.path = path
        self.status = status
        self.attempts = attempts


@dataclass
class ClientStats:
    """Operating numbers of one client (DESIGN §8): what was asked, what failed, how fast.

    ``requests`` counts HTTP attempts (retries included); ``errors_by_status`` counts failed
    attempts by HTTP status ("429", "503", ...) or by problem ("timeout", "connection",
    "truncated"); ``pages`` counts successful answers; ``records`` (and per table) and
    ``duplicates_suppressed`` are counted by the connectors as they yield batches;
    ``latencies_ms`` keeps the most recent ``LATENCY_SAMPLES`` attempt latencies.
    """

    requests: int = 0
    retries: int = 0
    errors_by_status: Counter[str] = field(default_factory=Counter)
    pages: int = 0
    records: int = 0
    records_by_table: Counter[str] = field(default_factory=Counter)
    duplicates_suppressed: int = 0
    slept_seconds: float = 0.0
    latencies_ms: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))

    def count_records(self, table: str, records: int) -> None:
        """``records`` records of ``table`` were handed on in a batch."""
        self.records += records
        self.records_by_table[table] += records

    def latency_percentile(self, q: float) -> float | None:
        """The ``q`` quantile (0..1, nearest rank) of the latency samples in ms; None if none."""
        if not self.latencies_ms:
            return None
        ordered = sorted(self.latencies_ms)
        rank = min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))
        return ordered[rank]

    def as_dict(self) -> dict[str, Any]:
        """Plain values for run logs and asset metadata."""
        return {
            "requests": self.requests, "retries": self.retries,
            "errors_by_status": dict(self.errors_by_status), "pages": self.pages,
            "records": self.records, "records_by_table": dict(self.records_by_table),
            "duplicates_suppressed": self.duplicates_suppressed,
            "slept_seconds": round(self.slept_seconds, 3),
            "latency_p50_ms": self.latency_percentile(0.5),
            "latency_p95_ms": self.latency_percentile(0.95),
        }


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or HTTP-date); None if absent
    or unreadable. A date in the past means 0."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if math.isfinite(seconds) else None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    return max(0.0, (when - current).total_seconds())


def server_message(body: bytes) -> str:
    """The error message in any of the systems' error shapes (or the body's start).

    Stripe ``{"error": {"code", "message"}}``; NetSuite ``{"title", "o:errorDetails":
    [{"detail", "o:errorCode"}]}``; revrec ``{"error": code, "detail": message}``; Zendesk
    ``{"error": code, "description": message}``.
    """
    try:
        payload = json.loads(body)
    except ValueError:
        payload = None
    text = ""
    if isinstance(payload, dict):
        error = payload.get("error")
        details = payload.get("o:errorDetails")
        if isinstance(error, dict):
            text = _coded(error.get("code"), error.get("message"))
        elif isinstance(details, list) and details and isinstance(details[0], dict):
            text = _coded(details[0].get("o:errorCode"), details[0].get("detail"))
        elif isinstance(error, str) or isinstance(payload.get("detail"), str):
            text = _coded(error, payload.get("detail") or payload.get("description"))
        if not text:
            text = str(payload.get("message") or payload.get("title") or "")
    if not text:
        text = body[:_MAX_DETAIL].decode("utf-8", "replace")
    text = " ".join(text.split())
    return text[:_MAX_DETAIL] + ("..." if len(text) > _MAX_DETAIL else "")


def _coded(code: object, message: object) -> str:
    message_text = str(message) if message else ""
    if code and message_text:
        return f"{code}: {message_text}"
    return message_text or (str(code) if code else "")


@dataclass(frozen=True)
class _Outcome:
    """What one attempt came to: a payload, or a failure and whether to retry it."""

    payload: dict[str, Any] | None = None
    status: int | None = None
    problem: str = ""          # one line: "HTTP 503 Service Unavailable: ..." or "read timeout"
    key: str = ""              # stats key: the status or the problem kind
    retryable: bool = False
    retry_after: float | None = None


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """Session auth that changes nothing: keeps requests from applying ~/.netrc credentials."""
    return request


def _root_reason(exc: BaseException) -> str:
    """The innermost OS-level reason of a connection error ("Connection refused"), if any."""
    stack: list[BaseException] = [exc]
    seen: set[int] = set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, OSError) and current.strerror:
            return str(current.strerror)
        nested = [a for a in current.args if isinstance(a, BaseException)]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            nested.append(reason)
        nested.extend(e for e in (current.__cause__, current.__context__) if e is not None)
        stack.extend(nested)
    return type(exc).__name__


def _classify(exc: requests.exceptions.RequestException) -> tuple[str, str, bool]:
    """(stats key, description, retryable) for an exception raised by requests."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return "timeout", "connect timeout", True
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return "timeout", "read timeout", True
    if isinstance(exc, requests.exceptions.Timeout):
        return "timeout", "timeout", True
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | (
            requests.exceptions.ContentDecodingError)):
        return "truncated", "response cut off", True
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection", f"connection failed ({_root_reason(exc)})", True
    return "request", f"request failed ({type(exc).__name__})", False


def _secrets_of(headers: Mapping[str, str]) -> tuple[str, ...]:
    """Strings to scrub: each header value, its credential part, and their URL-encoded forms."""
    found: set[str] = set()
    for value in headers.values():
        value = str(value).strip()
        candidates = [value, *(part for part in value.split() if len(part) >= 8)]
        for candidate in candidates:
            if len(candidate) >= 4:
                found.add(candidate)
                found.add(quote(candidate, safe=""))
    return tuple(sorted(found, key=len, reverse=True))


class HttpClient:
    """A ``requests.Session`` for one system with retries, timeouts, stats and scrubbed errors.

    ``headers`` are sent with every request and treated as secrets. ``sleep``, ``random`` and
    ``clock`` are injectable so tests can record waits instead of sleeping. ``random`` defaults
    to a fresh, unseeded generator per client: a fixed seed would make every worker of a fleet
    jitter identically, defeating the point of jitter. ``recorder`` (optional) receives every
    attempt, retry wait, record and dropped repeat per endpoint (the run's operating metrics,
    ``tieout.metrics``); ``stats`` is kept either way.
    """

    def __init__(
        self,
        system: str,
        base_url: str,
        headers: Mapping[str, str],
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 8,
        max_total_seconds: float = 120.0,
        backoff_base: float = 0.2,
        backoff_cap: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
        random: _random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        recorder: HttpRecorder | None = None,
    ) -> None:
        parts = urlsplit(base_url.strip())
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise InputError(f"{system}: base URL {base_url!r} is not an http(s) URL")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        for name, number in (("connect_timeout", connect_timeout),
                             ("read_timeout", read_timeout),
                             ("max_total_seconds", max_total_seconds)):
            if not number > 0:
                raise ValueError(f"{name} must be positive, got {number}")
        if backoff_base < 0 or backoff_cap < 0:
            raise ValueError("backoff_base and backoff_cap must not be negative")
        self.system = system
        self.base_url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
        self._origin = (parts.scheme, parts.netloc.lower())
        self._prefix = parts.path.rstrip("/")
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.max_attempts = max_attempts
        self.max_total_seconds = max_total_seconds
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self._sleep = sleep
        self._random = random if random is not None else _random.Random()
        self._clock = clock
        self._secrets = _secrets_of(headers)
        self._session = requests.Session()
        self._session.headers.update({"Accept": "application/json", "User-Agent": "tieout"})
        self._session.headers.update(dict(headers))
        self._session.auth = _no_auth
        self.stats = ClientStats()
        self.recorder = recorder

    def __repr__(self) -> str:
        return f"HttpClient(system={self.system!r}, base_url={self.base_url!r})"

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the session's connections."""
        self._session.close()

    # ---- public calls ---------------------------------------------------------------------
    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET ``path`` (relative to the base URL) and return its JSON object."""
        return self._call("GET", path, params, None)

    def post_json(self, path: str, params: Mapping[str, Any] | None,
                  body: Any) -> dict[str, Any]:
        """POST ``body`` as JSON to ``path``; the JSON object answered, or for a bodiless
        answer (204) ``{"Location": ...}`` when the server sent one, else ``{}``."""
        return self._call("POST", path, params, body)

    def count_records(self, table: str, records: int) -> None:
        """A connector handed on ``records`` records of ``table`` from the last page."""
        self.stats.count_records(table, records)
        if self.recorder is not None:
            self.recorder.records(self.system, table, records)

    def count_duplicates(self, records: int) -> None:
        """A connector dropped ``records`` exact repeats from the last page."""
        self.stats.duplicates_suppressed += records
        if self.recorder is not None:
            self.recorder.duplicates(self.system, records)

    def relative(self, link: str) -> tuple[str, dict[str, str]]:
        """Path and query parameters of a link the API returned (absolute or root-relative).

        A link to another origin is refused: following it would send our credentials there.
        """
        parts = urlsplit(link)
        path = parts.path or "/"
        if parts.scheme or parts.netloc:
            if (parts.scheme, parts.netloc.lower()) != self._origin:
                raise self.error("GET", path, "refusing to follow a link to another host "
                                 f"({parts.scheme}://{parts.netloc})")
            if self._prefix and path.startswith(self._prefix + "/"):
                path = path[len(self._prefix):]
        return path, dict(parse_qsl(parts.query, keep_blank_values=True))

    def scrub(self, text: str) -> str:
        """``text`` with every header value (token) replaced by ***."""
        for secret in self._secrets:
            text = text.replace(secret, _REDACTED)
        return text

    def error(self, method: str, path: str, detail: str, *, status: int | None = None,
              attempts: int = 1, after: str = "") -> SourceError:
        """A one-line, scrubbed ``SourceError`` about ``method path`` (for connectors too).

        ``after`` says how the retrying ended ("after 3 attempts in 4.2 s"), when it did.
        """
        failed = f"failed {after}" if after else "failed"
        message = self.scrub(" ".join(f"{self.system} {method} {path} {failed}: {detail}".split()))
        return SourceError(message, system=self.system, method=method, path=self.scrub(path),
                           status=status, attempts=attempts)

    # ---- retry loop -----------------------------------------------------------------------
    def _call(self, method: str, path: str, params: Mapping[str, Any] | None,
              body: Any) -> dict[str, Any]:
        if not path.startswith("/"):
            path = "/" + path
        url = self.base_url + path
        started = self._clock()
        attempt = 0
        while True:
            attempt += 1
            outcome = self._attempt(method, url, path, params, body, started, attempt)
            if outcome.payload is not None:
                self.stats.pages += 1
                return outcome.payload
            self.stats.errors_by_status[outcome.key] += 1
            elapsed = self._clock() - started
            if not outcome.retryable:
                raise self.error(method, path, outcome.problem, status=outcome.status,
                                 attempts=attempt)
            after = f"after {attempt} attempt{'s' if attempt > 1 else ''} in {elapsed:.1f} s"
            if attempt >= self.max_attempts:
                raise self.error(method, path, outcome.problem, status=outcome.status,
                                 attempts=attempt, after=after)
            delay = (outcome.retry_after if outcome.retry_after is not None
                     else self._backoff(attempt))
            if elapsed + delay > self.max_total_seconds:
                raise self.error(
                    method, path, outcome.problem, status=outcome.status, attempts=attempt,
                    after=f"{after} (waiting {delay:.1f} s more would pass the "
                    f"{self.max_total_seconds:g} s limit)")
            self.stats.retries += 1
            self.stats.slept_seconds += delay
            if self.recorder is not None:
                self.recorder.retry(self.system, path, delay)
            log.info("%s", self.scrub(
                f"{self.system} {method} {path}: {outcome.problem}; retry {attempt} of "
                f"{self.max_attempts - 1} in {delay:.2f} s"))
            self._sleep(delay)

    def _backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]."""
        ceiling = min(self.backoff_cap, self.backoff_base * 2.0 ** min(attempt - 1, 60))
        return self._random.uniform(0.0, ceiling)

    def _attempt(self, method: str, url: str, path: str, params: Mapping[str, Any] | None,
                 body: Any, started: float, attempt: int) -> _Outcome:
        remaining = self.max_total_seconds - (self._clock() - started)
        timeout = (self.connect_timeout,
                   max(_MIN_READ_TIMEOUT, min(self.read_timeout, remaining)))
        self.stats.requests += 1
        began = time.perf_counter()
        failure: _Outcome | None = None
        response: requests.Response | None = None
        try:
            response = self._session.request(
                method, url, params=dict(params) if params else None,
                json=body if method != "GET" else None, timeout=timeout, allow_redirects=False,
            )
        except requests.exceptions.RequestException as exc:
            key, description, retryable = _classify(exc)
            failure = _Outcome(problem=self.scrub(description), key=key, retryable=retryable)
        latency_ms = (time.perf_counter() - began) * 1000
        self.stats.latencies_ms.append(latency_ms)
        if failure is not None or response is None:
            log.debug("%s %s %s -> %s in %.0f ms (attempt %d)", self.system, method, path,
                      failure.key if failure else "?", latency_ms, attempt)
            outcome = failure or _Outcome(problem="no response", key="connection",
                                          retryable=True)
        else:
            log.debug("%s %s %s -> %d in %.0f ms (attempt %d)", self.system, method, path,
                      response.status_code, latency_ms, attempt)
            outcome = self._judge(response)
        if self.recorder is not None:
            self.recorder.attempt(self.system, path, latency_ms,
                                  None if outcome.payload is not None else outcome.key)
        return outcome

    def _judge(self, response: requests.Response) -> _Outcome:
        """Turn a response into a payload or a (maybe retryable) failure."""
        status = response.status_code
        if 200 <= status < 300:
            if status == 204 or (not response.content and status != 200):
                # A bodiless answer to a create says where the new record is (NetSuite's
                # 204 + Location); keep that, so the caller needs no second request.
                location = response.headers.get("Location")
                return _Outcome(payload={"Location": location} if location else {},
                                status=status)
            try:
                payload = json.loads(response.content)
            except ValueError:
                return _Outcome(status=status, key="truncated", retryable=True,
                                problem=f"HTTP {status} with a truncated or non-JSON body")
            if not isinstance(payload, dict):
                return _Outcome(status=status, key=str(status),
                                problem=f"HTTP {status} answered JSON that is not an object")
            return _Outcome(payload=payload, status=status)
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = response.reason or ""
        detail = server_message(response.content)
        problem = self.scrub(f"HTTP {status} {phrase}: {detail}" if detail
                             else f"HTTP {status} {phrase}")
        retryable = status in RETRY_STATUSES
        should_retry = response.headers.get("Stripe-Should-Retry", "").strip().lower()
        if should_retry in {"true", "false"} and status >= 400:
            retryable = should_retry == "true"
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return _Outcome(status=status, problem=problem, key=str(status), retryable=retryable,
                        retry_after=retry_after if retryable else None)
