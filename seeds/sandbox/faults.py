"""Seeded, reproducible fault injection for the sandbox server.

Connectors must survive what real APIs do on a bad day (DESIGN §3.1, §10): rate limits, 5xx,
slow answers, dropped connections, a journal posting whose response is lost after it was
committed, and pages that repeat or shift because records change while a client pages. Tests
need those faults on demand *and* reproducible, so every decision is a pure function of
(seed, endpoint, per-endpoint request number, kind) - a hash, not a shared RNG - and every
fault actually injected is logged so a test can compare what was injected with what the client
saw.

Spec grammar (``--faults``), comma-separated items, whitespace ignored::

    spec    := item ("," item)*
    item    := rule | option
    rule    := target ":" kind "=" rate          rate: a number in [0, 1]
    target  := "*" | system ".*" | system "." endpoint
    system  := "billing" | "erp" | "revrec" | "support"
    kind    := "429" | "500" | "503" | "slow" | "drop" | "commit_timeout" | "duplicate" | "mutate"
    option  := "slow_ms=" int | "retry_after=" int | "hang_ms=" int

Endpoints: billing.customers, billing.subscriptions, billing.invoices, billing.invoice_lines,
billing.credit_notes, billing.credit_note_lines, billing.products, billing.prices,
erp.suiteql, erp.journalentry (the POST), erp.journalentry_lookup (the GETs),
revrec.schedules, support.organizations, support.service_credits.

Precedence: for one endpoint and kind the most specific rule wins (``billing.invoices`` over
``billing.*`` over ``*``). Kinds that make no sense for an endpoint (``commit_timeout`` off the
journal POST; ``duplicate``/``mutate`` on non-list endpoints; ``mutate`` on lines lists, which
carry no update timestamp) are a spec error when the target names the endpoint and are
silently skipped under a wildcard. Each kind is decided independently; when several status
kinds fire at once the first of 429, 500, 503 is answered. ``slow`` (``slow_ms``, default
1500 ms) adds latency to whatever else happens; a status fault answers before the request is
handled (so a failed journal POST commits nothing); ``drop`` happens after the request was
handled (a dropped journal POST *was* committed; its bodyless 204 is not sent at all).
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter
from dataclasses import dataclass, field

BILLING_ENDPOINTS = (
    "billing.customers", "billing.subscriptions", "billing.invoices", "billing.invoice_lines",
    "billing.credit_notes", "billing.credit_note_lines", "billing.products", "billing.prices",
)
SUPPORT_ENDPOINTS = ("support.organizations", "support.service_credits")
ENDPOINTS: tuple[str, ...] = (
    *BILLING_ENDPOINTS,
    "erp.suiteql", "erp.journalentry", "erp.journalentry_lookup",
    "revrec.schedules",
    *SUPPORT_ENDPOINTS,
)
SYSTEMS = ("billing", "erp", "revrec", "support")
STATUS_KINDS = ("429", "500", "503")
KINDS = (*STATUS_KINDS, "slow", "drop", "commit_timeout", "duplicate", "mutate")

_DUPLICATE_OK = frozenset({*BILLING_ENDPOINTS, "erp.suiteql", "revrec.schedules",
                           *SUPPORT_ENDPOINTS})
_MUTATE_OK = frozenset({
    "billing.customers", "billing.subscriptions", "billing.invoices", "billing.credit_notes",
    "billing.products", "billing.prices", "erp.suiteql", "revrec.schedules", *SUPPORT_ENDPOINTS,
})
_APPLICABLE: dict[str, frozenset[str]] = {
    "commit_timeout": frozenset({"erp.journalentry"}),
    "duplicate": _DUPLICATE_OK,
    "mutate": _MUTATE_OK,
}
_OPTIONS = {"slow_ms": 1500, "retry_after": 1, "hang_ms": 30_000}


class FaultSpecError(ValueError):
    """A ``--faults`` spec that cannot be parsed; the message names the offending part."""


def applicable(endpoint: str, kind: str) -> bool:
    """Whether ``kind`` can be injected on ``endpoint`` at all."""
    allowed = _APPLICABLE.get(kind)
    return allowed is None or endpoint in allowed


@dataclass(frozen=True)
class FaultSpec:
    """Parsed spec: rates per (target, kind) plus the timing options."""

    rules: dict[tuple[str, str], float] = field(default_factory=dict)
    slow_ms: int = _OPTIONS["slow_ms"]
    retry_after: int = _OPTIONS["retry_after"]
    hang_ms: int = _OPTIONS["hang_ms"]

    def rate(self, endpoint: str, kind: str) -> float:
        """The rate of ``kind`` on ``endpoint`` after precedence; 0 when not applicable."""
        if not applicable(endpoint, kind):
            return 0.0
        system = endpoint.split(".", 1)[0]
        for target in (endpoint, f"{system}.*", "*"):
            if (target, kind) in self.rules:
                return self.rules[(target, kind)]
        return 0.0

    @property
    def empty(self) -> bool:
        return not any(rate > 0 for rate in self.rules.values())


def _parse_target(target: str, item: str) -> str:
    if target == "*":
        return target
    system, dot, name = target.partition(".")
    if not dot or system not in SYSTEMS:
        raise FaultSpecError(
            f"fault spec item {item!r}: unknown target {target!r} "
            f"(use '*', '<system>.*' or one of {', '.join(ENDPOINTS)})"
        )
    if name != "*" and target not in ENDPOINTS:
        raise FaultSpecError(f"fault spec item {item!r}: unknown endpoint {target!r}")
    return target


def _parse_int_option(key: str, value: str, item: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise FaultSpecError(f"fault spec option {item!r}: {key} must be an integer") from None
    if number < 0:
        raise FaultSpecError(f"fault spec option {item!r}: {key} must not be negative")
    return number


def parse_fault_spec(spec: str | None) -> FaultSpec:
    """Parse a ``--faults`` spec (see the module docstring); None or "" means no faults."""
    rules: dict[tuple[str, str], float] = {}
    options = dict(_OPTIONS)
    seen_options: set[str] = set()
    for raw in (spec or "").split(","):
        item = "".join(raw.split())
        if not item:
            continue
        head, eq, value = item.rpartition("=")
        if not eq or not head:
            raise FaultSpecError(f"fault spec item {item!r}: expected <target>:<kind>=<rate>")
        if ":" not in head:
            if head not in _OPTIONS:
                raise FaultSpecError(
                    f"fault spec item {item!r}: unknown option {head!r} "
                    f"(options: {', '.join(_OPTIONS)}; rules look like billing.invoices:429=0.2)"
                )
            if head in seen_options:
                raise FaultSpecError(f"fault spec option {head!r} is given twice")
            seen_options.add(head)
            options[head] = _parse_int_option(head, value, item)
            continue
        target, _, kind = head.rpartition(":")
        target = _parse_target(target, item)
        if kind not in KINDS:
            raise FaultSpecError(
                f"fault spec item {item!r}: unknown kind {kind!r} (kinds: {', '.join(KINDS)})"
            )
        if "*" not in target and not applicable(target, kind):
            raise FaultSpecError(f"fault spec item {item!r}: {kind} does not apply to {target}")
        try:
            rate = float(value)
        except ValueError:
            raise FaultSpecError(
                f"fault spec item {item!r}: rate {value!r} is not a number"
            ) from None
        if not 0.0 <= rate <= 1.0:
            raise FaultSpecError(f"fault spec item {item!r}: rate {value} is outside [0, 1]")
        if (target, kind) in rules:
            raise FaultSpecError(f"fault spec item {item!r}: {target}:{kind} is given twice")
        rules[(target, kind)] = rate
    return FaultSpec(rules=rules, **options)


def draw(seed: int, endpoint: str, request_no: int, kind: str) -> float:
    """A uniform number in [0, 1) that depends only on its arguments."""
    key = f"{seed}\x1f{endpoint}\x1f{request_no}\x1f{kind}".encode()
    digest = hashlib.blake2b(key, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class FaultEvent:
    """One fault actually injected: which endpoint, which request to it (1-based), what kind."""

    endpoint: str
    request_no: int
    kind: str


@dataclass(frozen=True)
class FaultPlan:
    """The faults decided for one request; the server and handlers apply what they can."""

    endpoint: str
    request_no: int
    kinds: frozenset[str]

    def has(self, kind: str) -> bool:
        return kind in self.kinds

    @property
    def status_kind(self) -> str | None:
        """The status fault to answer with (first of 429, 500, 503), if any."""
        return next((kind for kind in STATUS_KINDS if kind in self.kinds), None)


NO_FAULTS = FaultPlan(endpoint="", request_no=0, kinds=frozenset())


class FaultInjector:
    """Counts requests per endpoint, decides faults for each, and logs what was injected."""

    def __init__(self, spec: FaultSpec, seed: int = 0) -> None:
        self.spec = spec
        self.seed = seed
        self._lock = threading.Lock()
        self._requests: Counter[str] = Counter()
        self._events: list[FaultEvent] = []

    def plan(self, endpoint: str) -> FaultPlan:
        """Count one request to ``endpoint`` and decide its faults."""
        with self._lock:
            self._requests[endpoint] += 1
            request_no = self._requests[endpoint]
        kinds = frozenset(
            kind for kind in KINDS
            if (rate := self.spec.rate(endpoint, kind)) > 0
            and draw(self.seed, endpoint, request_no, kind) < rate
        )
        return FaultPlan(endpoint=endpoint, request_no=request_no, kinds=kinds)

    def record(self, plan: FaultPlan, kind: str) -> None:
        """Log that ``kind`` was really injected into the request ``plan`` belongs to."""
        with self._lock:
            self._events.append(FaultEvent(plan.endpoint, plan.request_no, kind))

    @property
    def events(self) -> list[FaultEvent]:
        """Injected faults in the order they happened (a copy)."""
        with self._lock:
            return list(self._events)

    @property
    def counts(self) -> Counter[tuple[str, str]]:
        """Injected faults counted by (endpoint, kind)."""
        with self._lock:
            return Counter((event.endpoint, event.kind) for event in self._events)

    @property
    def requests(self) -> Counter[str]:
        """Requests seen per endpoint (authenticated, routed requests only)."""
        with self._lock:
            return Counter(self._requests)
