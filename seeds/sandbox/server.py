"""The sandbox HTTP server: routing, authentication, fault application and lifecycle.

Demo, tests and benchmarks need the three money systems and the support platform on loopback
without the internet (DESIGN §3.1). This module wires the API modules to the stdlib
``ThreadingHTTPServer``: one thread per connection (HTTP/1.1 keep-alive), one DuckDB cursor per
request, writes serialised by the store's lock. Each request is routed to a system and
endpoint, authenticated in that system's way (401 in that system's error shape; the token is
never echoed or logged), then faults are decided (see ``faults``) and applied around the
handler: ``slow`` delays, status faults answer instead of the handler, ``drop`` writes the
headers and half the body then closes the socket (a bodyless answer - the journal POST's 204 -
is dropped whole: the connection closes without a response), ``commit_timeout`` sends nothing,
holds the connection for ``hang_ms`` and closes it. The http.server access log is routed to the
``seeds.sandbox`` logger at DEBUG with method, path and status only.

``SandboxServer`` is the public face: ``start()``/``stop()`` (or a ``with`` block) for tests and
the demo, ``serve_forever()`` for ``tieout sandbox serve`` - it returns cleanly on SIGINT or
SIGTERM (handlers are installed only when called from the main thread).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import signal
import socket
import threading
import time
import types
from collections import Counter
from collections.abc import Callable
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from seeds.sandbox import billing_api, erp_api, revrec_api, support_api
from seeds.sandbox.auth import SandboxTokens, api_key_ok, bearer_ok, tokens_from_env
from seeds.sandbox.faults import FaultEvent, FaultInjector, FaultPlan, parse_fault_spec
from seeds.sandbox.protocol import ApiError, Context, Request, Response, json_response, render_error
from seeds.sandbox.store import Store

log = logging.getLogger("seeds.sandbox")

MAX_BODY = 10 * 1024 * 1024
Handler = Callable[[Request, Context], Response]

_STATUS_FAULTS: dict[str, dict[str, tuple[str | None, str]]] = {
    "billing": {
        "429": ("rate_limit", "Too many requests hit the API too quickly."),
        "500": (None, "An unexpected error occurred on the sandbox billing API."),
        "503": (None, "The billing API is temporarily unavailable."),
    },
    "erp": {
        "429": ("CONCURRENCY_LIMIT_EXCEEDED", "Concurrent request limit exceeded."),
        "500": ("UNEXPECTED_ERROR", "An unexpected error occurred."),
        "503": ("SERVICE_UNAVAILABLE", "The service is temporarily unavailable."),
    },
    "revrec": {
        "429": ("rate_limited", "Too many requests."),
        "500": ("server_error", "Internal server error."),
        "503": ("service_unavailable", "Service temporarily unavailable."),
    },
    "support": {
        "429": ("TooManyRequests", "You have made too many requests. Retry after the time in"
                " the Retry-After header."),
        "500": ("InternalServerError", "Something went wrong on our side."),
        "503": ("ServiceUnavailable", "The support API is temporarily unavailable."),
    },
}
_UNAUTHORIZED = {
    "billing": ApiError(401, None, "Invalid or missing API key. Provide your API key in the"
                        " Authorization header using Bearer auth."),
    "erp": ApiError(401, "INVALID_LOGIN", "Invalid login attempt. For more details, see the"
                    " Login Audit Trail in the NetSuite UI at Setup > Users/Roles > User"
                    " Management > View Login Audit Trail."),
    "revrec": ApiError(401, "unauthorized", "Missing or invalid X-API-Key header."),
    "support": ApiError(401, "Unauthorized", "Couldn't authenticate you"),
}


# ---- routing ---------------------------------------------------------------------------------
_RouteHandler = Callable[..., Response]


class _Route:
    def __init__(self, pattern: str, system: str,
                 methods: dict[str, tuple[str, _RouteHandler]]) -> None:
        self.pattern = re.compile(pattern)
        self.system = system
        self.methods = methods  # method -> (endpoint, handler(*groups, req, ctx))


_BILLING_LISTS = "|".join(billing_api.BILLING_LISTS)


def _billing_list(resource: str, req: Request, ctx: Context) -> Response:
    return billing_api.list_resource(resource, req, ctx)


def _billing_lines(resource: str, parent_id: str, req: Request, ctx: Context) -> Response:
    return billing_api.list_lines(resource, unquote(parent_id), req, ctx)


def _journal_get(key: str, req: Request, ctx: Context) -> Response:
    return erp_api.get_journalentry(unquote(key), req, ctx)


_SUPPORT_LISTS = "|".join(support_api.RESOURCES)


def _support_list(resource: str, req: Request, ctx: Context) -> Response:
    return support_api.list_resource(resource, req, ctx)


_ROUTES = [
    _Route(rf"^/v1/({_BILLING_LISTS})/?$", "billing",
           {"GET": ("billing.{0}", _billing_list)}),
    _Route(r"^/v1/(invoices|credit_notes)/([^/]+)/lines/?$", "billing",
           {"GET": ("billing.{0}_lines", _billing_lines)}),
    _Route(r"^/services/rest/query/v1/suiteql/?$", "erp",
           {"POST": ("erp.suiteql", erp_api.suiteql)}),
    _Route(r"^/services/rest/record/v1/journalentry/?$", "erp",
           {"POST": ("erp.journalentry", erp_api.post_journalentry)}),
    _Route(r"^/services/rest/record/v1/journalentry/([^/]+)/?$", "erp",
           {"GET": ("erp.journalentry_lookup", _journal_get)}),
    _Route(r"^/api/v1/revenue_schedules/?$", "revrec",
           {"GET": ("revrec.schedules", revrec_api.list_schedules)}),
    _Route(rf"^/api/v2/({_SUPPORT_LISTS})(?:\.json)?/?$", "support",
           {"GET": ("support.{0}", _support_list)}),
]


def _endpoint_name(template: str, groups: tuple[str, ...]) -> str:
    if "{0}" not in template:
        return template
    resource = groups[0]
    singular = {"invoices": "invoice", "credit_notes": "credit_note"}
    return template.format(singular.get(resource, resource) if "_lines" in template else resource)


def _system_of(path: str) -> str | None:
    if path.startswith("/v1/") or path == "/v1":
        return "billing"
    if path.startswith("/services/rest"):
        return "erp"
    if path.startswith("/api/v2/") or path == "/api/v2":
        return "support"
    if path.startswith("/api/"):
        return "revrec"
    return None


def _not_found(system: str | None, method: str, path: str) -> ApiError:
    if system == "billing":
        return ApiError(404, None, f"Unrecognized request URL ({method}: {path}).")
    if system == "erp":
        return ApiError(404, "NONEXISTENT_ID", f"The requested resource {path} was not found.")
    if system == "support":
        return ApiError(404, "InvalidEndpoint", "Not found")
    return ApiError(404, "not_found", f"No endpoint at {path}.")


# ---- HTTP plumbing -----------------------------------------------------------------------------
class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self._sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()
        super().__init__(address, _RequestHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._sockets_lock:
            self._sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._sockets_lock:
            self._sockets.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints a traceback to stderr for every broken client connection
        log.debug("sandbox: connection error from %s", client_address[0], exc_info=True)

    def close_connections(self) -> None:
        """Wake every handler blocked on a keep-alive socket so it can exit."""
        with self._sockets_lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "tieout-sandbox/0.1"
    sys_version = ""
    timeout = 120
    server: _HTTPServer

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sandbox: %s", format % args)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = urlsplit(self.path).path
        log.debug("sandbox %s %s -> %s", self.command, path, code)

    # -- dispatch -----------------------------------------------------------------------------
    def _read_request(self) -> Request | None:
        parts = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        if "chunked" in headers.get("transfer-encoding", "").lower():
            self._write(json_response(411, {"error": "length_required",
                                            "detail": "Send a Content-Length body."}), close=True)
            return None
        try:
            length = int(headers.get("content-length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._write(json_response(413, {"error": "payload_too_large",
                                            "detail": "Request body too large."}), close=True)
            return None
        body = self.rfile.read(length) if length else b""
        return Request(
            method=self.command, path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers=headers, body=body,
        )

    def _dispatch(self) -> None:
        sandbox = self.server.sandbox
        sandbox._enter_request()
        try:
            req = self._read_request()
            if req is not None:
                self._handle(sandbox, req)
        finally:
            sandbox._leave_request()

    def _handle(self, sandbox: SandboxServer, req: Request) -> None:
        system = _system_of(req.path)
        if system is not None and not sandbox._authorized(system, req):
            self._write(render_error(system, _UNAUTHORIZED[system]))
            return
        for route in _ROUTES:
            match = route.pattern.match(req.path)
            if match is None:
                continue
            if req.method not in route.methods:
                error = ApiError(405, "method_not_allowed" if system != "erp" else
                                 "INVALID_REQUEST", f"{req.method} is not allowed on {req.path}.",
                                 headers={"Allow": ", ".join(route.methods)})
                self._write(render_error(route.system, error))
                return
            template, handler = route.methods[req.method]
            endpoint = _endpoint_name(template, match.groups())
            self._run(sandbox, route.system, endpoint, req,
                      functools.partial(handler, *match.groups()))
            return
        self._write(render_error(system or "none", _not_found(system, req.method, req.path)))

    def _run(self, sandbox: SandboxServer, system: str, endpoint: str, req: Request,
             handler: Handler) -> None:
        plan = sandbox._injector.plan(endpoint)
        spec = sandbox._injector.spec
        if plan.has("slow"):
            sandbox._injector.record(plan, "slow")
            sandbox._stop_event.wait(spec.slow_ms / 1000)
        status_kind = plan.status_kind
        if status_kind is not None:
            sandbox._injector.record(plan, status_kind)
            self._write(render_error(system, _status_fault(system, status_kind, spec.retry_after)))
            return
        response = sandbox._call(system, handler, req, plan)
        if response.hang_up:
            sandbox._stop_event.wait(spec.hang_ms / 1000)
            self._abort()
            return
        if plan.has("drop"):
            sandbox._injector.record(plan, "drop")
            self._write(response, truncate=True)
            return
        self._write(response)

    # -- writing ------------------------------------------------------------------------------
    def _write(self, response: Response, *, close: bool = False, truncate: bool = False) -> None:
        closing = close or truncate or self.close_connection
        status = response.status
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        lines = [f"HTTP/1.1 {status} {phrase}",
                 f"Date: {formatdate(usegmt=True)}", f"Server: {self.server_version}"]
        headers = dict(response.headers)
        if status != 204 and status >= 200:
            headers["Content-Length"] = str(len(response.body))
        if closing:
            headers["Connection"] = "close"
        lines.extend(f"{name}: {value}" for name, value in headers.items())
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        payload = head + (b"" if status == 204 else response.body)
        if truncate:
            # part of the body; a bodyless answer (the journal POST's 204) is not sent at all,
            # since clients may accept truncated headers as a complete response
            has_body = bool(response.body) and status != 204
            payload = payload[: len(head) + len(response.body) // 2] if has_body else b""
        try:
            self.wfile.write(payload)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
            return
        self.log_request(status, len(response.body))
        if truncate:
            self._abort()
        elif closing:
            self.close_connection = True

    def _abort(self) -> None:
        """Close the connection without (the rest of) a response."""
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _status_fault(system: str, kind: str, retry_after: int) -> ApiError:
    code, message = _STATUS_FAULTS[system][kind]
    headers: dict[str, str] = {}
    if kind in {"429", "503"}:
        headers["Retry-After"] = str(retry_after)
    if system == "billing":
        headers["Stripe-Should-Retry"] = "true"
    return ApiError(int(kind), code, f"{message} (sandbox fault injection)", headers=headers)


# ---- public server -----------------------------------------------------------------------------
class SandboxServer:
    """The sandbox billing, ERP, revrec and support APIs over one company directory, on
    loopback (a company without ``support/`` serves empty support lists).

    ``tokens`` default to ``tokens_from_env()``; ``faults`` is a spec (see ``faults``) parsed
    here, so a bad spec fails before anything binds; ``embed_lines`` caps the lines embedded
    in each invoice or credit note.
    """

    def __init__(self, data_dir: Path, host: str = "127.0.0.1", port: int = 0,
                 faults: str | None = None, seed: int = 0, tokens: SandboxTokens | None = None,
                 embed_lines: int = 10) -> None:
        if embed_lines < 0:
            raise ValueError(f"embed_lines must not be negative, got {embed_lines}")
        self.data_dir = Path(data_dir)
        self.host = host
        self.port = port
        self.seed = seed
        self.embed_lines = embed_lines
        self.tokens = tokens if tokens is not None else tokens_from_env()
        self._injector = FaultInjector(parse_fault_spec(faults), seed)
        self.url = ""
        self._store: Store | None = None
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stop_event = threading.Event()
        self._state_lock = threading.Lock()
        self._active = 0
        self._idle = threading.Condition(self._state_lock)
        self._cursors: set[Any] = set()
        self._stopped = False

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Load the company, bind, and serve in a background thread; returns when ready."""
        with self._state_lock:
            if self._stopped:
                raise RuntimeError("a stopped SandboxServer cannot be started again")
            if self._httpd is not None:
                return
            started = time.perf_counter()
            store = Store(self.data_dir)
            try:
                httpd = _HTTPServer((self.host, self.port), self)
            except BaseException:
                store.close()
                raise
            self._store, self._httpd = store, httpd
            port = httpd.server_address[1]
            host = f"[{self.host}]" if ":" in self.host else self.host
            self.url = f"http://{host}:{port}"
            self._thread = threading.Thread(
                target=httpd.serve_forever, kwargs={"poll_interval": 0.1},
                name="tieout-sandbox", daemon=True,
            )
            self._thread.start()
        log.info("sandbox serving %s from %s (loaded in %.1f s)", self.url, self.data_dir,
                 time.perf_counter() - started)

    def stop(self) -> None:
        """Stop serving, close connections and the database; idempotent."""
        with self._state_lock:
            if self._stopped:
                return
            self._stopped = True
            httpd, thread, store = self._httpd, self._thread, self._store
        self._stop_event.set()
        if httpd is not None:
            httpd.shutdown()
            httpd.close_connections()
            httpd.server_close()
        if thread is not None:
            thread.join(timeout=10)
        with self._state_lock:
            running = list(self._cursors)
        for cursor in running:  # long SuiteQL queries must not hold up shutdown
            with contextlib.suppress(Exception):
                cursor.interrupt()
        with self._idle:
            deadline = time.monotonic() + 10
            while self._active and time.monotonic() < deadline:
                self._idle.wait(timeout=0.1)
        if store is not None:
            store.close()
        log.info("sandbox stopped")

    def serve_forever(self) -> None:
        """Serve in the foreground until SIGINT/SIGTERM (main thread) or ``stop()``."""
        self.start()
        previous: dict[signal.Signals, Any] = {}
        if threading.current_thread() is threading.main_thread():
            def request_stop(signum: int, frame: types.FrameType | None) -> None:
                self._stop_event.set()

            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, request_stop)
        try:
            while not self._stop_event.wait(0.2):
                pass
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.stop()

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- observation --------------------------------------------------------------------------
    @property
    def fault_log(self) -> list[FaultEvent]:
        """Faults injected so far, in order: (endpoint, request number, kind)."""
        return self._injector.events

    @property
    def fault_counts(self) -> Counter[tuple[str, str]]:
        """Faults injected so far, counted by (endpoint, kind)."""
        return self._injector.counts

    @property
    def request_counts(self) -> Counter[str]:
        """Authenticated requests seen per endpoint."""
        return self._injector.requests

    # -- used by the request handler ----------------------------------------------------------
    def _enter_request(self) -> None:
        with self._state_lock:
            self._active += 1

    def _leave_request(self) -> None:
        with self._idle:
            self._active -= 1
            self._idle.notify_all()

    def _authorized(self, system: str, req: Request) -> bool:
        if system == "billing":
            return bearer_ok(req.header("authorization"), self.tokens.billing)
        if system == "erp":
            return bearer_ok(req.header("authorization"), self.tokens.erp)
        if system == "support":
            return bearer_ok(req.header("authorization"), self.tokens.support)
        return api_key_ok(req.header("x-api-key"), self.tokens.revrec)

    def _call(self, system: str, handler: Handler, req: Request, plan: FaultPlan) -> Response:
        stopping = render_error(system, ApiError(
            503, None if system == "billing" else "SERVICE_UNAVAILABLE",
            "The sandbox is stopping."))
        with self._state_lock:
            store = self._store
            if store is None or self._stop_event.is_set():
                return stopping
            cursor = store.cursor()
            self._cursors.add(cursor)
        ctx = Context(
            cursor=cursor, write_lock=store.write_lock, base_url=self.url, plan=plan,
            embed_lines=self.embed_lines, stop_event=self._stop_event,
            record_fault=lambda kind: self._injector.record(plan, kind),
        )
        try:
            return handler(req, ctx)
        except ApiError as error:
            return render_error(system, error)
        except Exception:
            if self._stop_event.is_set():
                return stopping
            log.exception("sandbox: unexpected error on %s %s", req.method, req.path)
            return render_error(system, ApiError(500, None if system == "billing" else
                                                 "UNEXPECTED_ERROR", "Unexpected sandbox error."))
        finally:
            with self._state_lock:
                self._cursors.discard(cursor)
            cursor.close()
