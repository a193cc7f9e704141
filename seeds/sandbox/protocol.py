"""Request/response values shared by the API modules, and each system's error shape.

The imitated systems report errors in different JSON shapes (Stripe's ``error`` object,
NetSuite's RFC 7807-style document with ``o:errorDetails``, a plain ``error``/``detail`` pair for
revrec, Zendesk's ``error``/``description`` pair for support). Handlers raise one ``ApiError``
and the system it belongs to renders it, so a connector is tested against the shape it will
meet in production. Keeping these values free of ``http.server`` lets the API modules be
exercised without sockets.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import duckdb

from seeds.sandbox.faults import FaultPlan

STRIPE_TYPES = {400: "invalid_request_error", 401: "invalid_request_error",
                404: "invalid_request_error", 405: "invalid_request_error",
                429: "invalid_request_error"}


@dataclass
class Response:
    """What a handler answers; the server writes it (or drops it, when a fault says so)."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    hang_up: bool = False  # commit_timeout: send nothing, hold the socket, then close it


def json_body(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(status: int, payload: object, headers: dict[str, str] | None = None) -> Response:
    merged = {"Content-Type": "application/json"}
    merged.update(headers or {})
    return Response(status=status, body=json_body(payload), headers=merged)


class ApiError(Exception):
    """An error answer; ``code`` is the system's machine-readable code."""

    def __init__(self, status: int, code: str | None, message: str, *, param: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers = dict(headers or {})


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def render_error(system: str, error: ApiError) -> Response:
    """``error`` in the shape of ``system`` ("billing", "erp", "support", "revrec" or anything
    else)."""
    if system == "billing":
        payload: dict[str, Any] = {"error": {
            "type": STRIPE_TYPES.get(error.status, "api_error"),
            "code": error.code, "message": error.message, "param": error.param,
        }}
    elif system == "erp":
        payload = {
            "type": f"https://www.rfc-editor.org/rfc/rfc9110.html#status.{error.status}",
            "title": _reason(error.status),
            "status": error.status,
            "o:errorDetails": [{"detail": error.message, "o:errorCode": error.code}],
        }
    elif system == "support":
        payload = {"error": error.code, "description": error.message}
    else:
        payload = {"error": error.code, "detail": error.message}
    return json_response(error.status, payload, error.headers)


@dataclass
class Request:
    """One parsed HTTP request."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


@dataclass
class Context:
    """What a handler may use: the database, the base URL, its fault plan, the stop signal."""

    cursor: duckdb.DuckDBPyConnection
    write_lock: threading.Lock
    base_url: str
    plan: FaultPlan
    embed_lines: int
    stop_event: threading.Event
    record_fault: Callable[[str], None]  # log a fault (duplicate/mutate/commit_timeout) applied


# ---- values the plain-REST APIs (revrec, support) share ----------------------------------------
def json_value(value: object) -> object:
    """A stored value as JSON: timestamps ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``, dates ISO."""
    if isinstance(value, dt.datetime):
        pattern = "%Y-%m-%dT%H:%M:%S.%fZ" if value.microsecond else "%Y-%m-%dT%H:%M:%SZ"
        return value.strftime(pattern)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def parse_since(raw: str, code: str = "invalid_parameter") -> dt.datetime:
    """An ``updated_since`` parameter as a naive UTC datetime (no offset means UTC); a 400
    ``ApiError`` with ``code`` when it is not ISO 8601."""
    try:
        value = dt.datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ApiError(400, code, f"updated_since must be an ISO 8601 timestamp, got {raw!r}."
                       ) from None
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value
