"""``tieout.toml``: one typed configuration object, loaded and validated in one place.

Nothing else reads settings; the environment is read only for secrets, and only through the
variable names this file declares (``token_env``).  Every error names the file and the field,
on one line, because this is what a data engineer sees first when a nightly run fails.
"""

from __future__ import annotations

import datetime as dt
import tomllib
import zoneinfo
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from tieout.errors import InputError
from tieout.money import CURRENCY_EXPONENTS

SOURCES = ("billing", "erp", "revrec", "support", "usage")
# Sources a company may not have: without a [sources.<name>] block their raw tables simply
# stay empty and every run, job and asset still works (the support platform came after the
# three money systems, and older companies and configurations have no support data).
OPTIONAL_SOURCES = frozenset({"support"})
Mode = Literal["api", "files"]


@dataclass(frozen=True)
class SourceConfig:
    """Where one system's records come from."""

    name: str
    mode: Mode
    path: Path | None  # files mode: the export folder
    base_url: str | None  # API mode
    token_env: str | None  # the environment variable holding the secret (never the secret)
    overlap_seconds: int = 300  # incremental re-read window at the watermark edge


@dataclass(frozen=True)
class ReconciliationConfig:
    """Tolerances and timing rules (DECISIONLOG.md)."""

    grace_hours: int
    relative_tolerance: Decimal
    materiality: Decimal
    absolute_tolerance: dict[str, Decimal]
    late_hours: int = 72  # past the grace period: "late" for this long, then "missing"
    # Support <-> billing: a paid entitlement is expected to be suspended once an invoice is
    # past due this long; a promised service credit may wait this long for its credit note.
    support_past_due_days: int = 60
    service_credit_grace_days: int = 14


@dataclass(frozen=True)
class JournalConfig:
    """Usage journal postings (DESIGN §7, DECISIONLOG "Usage journals")."""

    window_minutes: int = 60  # micro-batch window length; windows are aligned to the epoch
    post_from: dt.date | None = None  # go-live: windows starting before this local date are
    # never posted (usage before it was accrued by other means); None: every window
    close_after_minutes: int = 15  # a window is closed (postable) this long after its end
    max_attempts: int = 5  # failed attempts before a batch is dead-lettered
    backoff_seconds: float = 0.5  # first retry wait; doubles per attempt (full jitter)


@dataclass(frozen=True)
class OrchestrationConfig:
    """When the nightly run fires and what counts as a stale source (DESIGN §8)."""

    nightly_at: dt.time = dt.time(2, 0)  # local time in the accounting time zone
    source_freshness_hours: int = 26  # a source not landed for this long is a warning


@dataclass(frozen=True)
class MonitoringConfig:
    """Thresholds ``tieout status`` turns into a non-zero exit (DESIGN §8 operating metrics).

    ``None`` leaves a threshold unchecked; source freshness reuses
    ``orchestration.source_freshness_hours``.
    """

    min_posting_success_rate: Decimal = Decimal("0.99")  # successful POSTs / POSTs of a run
    max_quarantined: int | None = None  # records quarantined by the latest extraction
    max_latency_p95_ms: int | None = None  # any API endpoint's p95 in the latest extraction


@dataclass(frozen=True)
class TieoutConfig:
    """Everything a run needs to know, with paths resolved against the config file."""

    path: Path
    company_name: str
    as_of: dt.datetime | None  # None: now
    accounting_timezone: str
    reporting_currency: str
    warehouse: Path
    reference: Path | None
    reconciliation: ReconciliationConfig
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    journal: JournalConfig = field(default_factory=JournalConfig)
    warehouse_memory_limit: str = "1GB"  # DuckDB's cap; it spills beyond it
    orchestration: OrchestrationConfig = field(default_factory=OrchestrationConfig)
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)

    @property
    def root(self) -> Path:
        """The folder relative paths in the file are resolved against."""
        return self.path.parent


class _Reader:
    """Typed access to a parsed TOML document with errors that name file and field."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path, self.data = path, data

    def fail(self, key: str, problem: str) -> InputError:
        return InputError(f"{self.path}: {key}: {problem}")

    def get(self, key: str, kind: type, default: Any = ..., *,
            where: dict[str, Any] | None = None, prefix: str = "") -> Any:
        table = self.data if where is None else where
        full = f"{prefix}{key}"
        if key not in table:
            if default is ...:
                raise self.fail(full, "is missing")
            return default
        value = table[key]
        if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise self.fail(full, f"must be an integer, got {value!r}")
        if kind is str and not isinstance(value, str):
            raise self.fail(full, f"must be a string, got {value!r}")
        if kind is dict and not isinstance(value, dict):
            raise self.fail(full, "must be a table")
        return value

    def decimal(self, key: str, value: object) -> Decimal:
        if isinstance(value, float) or not isinstance(value, str | int):
            raise self.fail(key, f"write money and rates as strings (e.g. \"0.01\"), got {value!r}")
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise self.fail(key, f"is not a decimal number: {value!r}") from None
        if not number.is_finite() or number < 0:
            raise self.fail(key, f"must be a finite, non-negative number, got {value!r}")
        return number


def load_config(path: Path) -> TieoutConfig:
    """Read and validate ``tieout.toml``; raises ``InputError`` naming the problem."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise InputError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise InputError(f"config file {path} is a directory") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"config file {path} is not valid TOML: {exc}") from None
    r = _Reader(path, data)
    root = path.parent
    company = r.get("company", dict)
    tz = r.get("accounting_timezone", str, where=company, prefix="company.")
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise r.fail("company.accounting_timezone", f"unknown time zone {tz!r}") from None
    reporting = r.get("reporting_currency", str, where=company, prefix="company.").upper()
    if reporting not in CURRENCY_EXPONENTS:
        raise r.fail("company.reporting_currency", f"unknown currency {reporting!r}")
    as_of_text = r.get("as_of", str, None, where=company, prefix="company.")
    as_of = None
    if as_of_text is not None:
        try:
            as_of = dt.datetime.fromisoformat(as_of_text.replace("Z", "+00:00"))
        except ValueError:
            raise r.fail("company.as_of", f"not an ISO 8601 timestamp: {as_of_text!r}") from None
        if as_of.tzinfo is None:
            raise r.fail("company.as_of", "needs a UTC offset (e.g. 2026-01-20T18:00:00Z)")
    warehouse = r.get("warehouse", dict, {})
    reference = r.get("reference", dict, {})
    rec = r.get("reconciliation", dict)
    tolerances = r.get("absolute_tolerance", dict, where=rec, prefix="reconciliation.")
    unknown = sorted(set(tolerances) - set(CURRENCY_EXPONENTS))
    if unknown:
        raise r.fail("reconciliation.absolute_tolerance", f"unknown currencies {unknown}")
    reconciliation = ReconciliationConfig(
        grace_hours=r.get("grace_hours", int, where=rec, prefix="reconciliation."),
        relative_tolerance=r.decimal("reconciliation.relative_tolerance",
                                     rec.get("relative_tolerance", "0")),
        materiality=r.decimal("reconciliation.materiality", rec.get("materiality", "0")),
        absolute_tolerance={ccy: r.decimal(f"reconciliation.absolute_tolerance.{ccy}", v)
                            for ccy, v in tolerances.items()},
        late_hours=r.get("late_hours", int, 72, where=rec, prefix="reconciliation."),
        support_past_due_days=_days(r, rec, "support_past_due_days", 60),
        service_credit_grace_days=_days(r, rec, "service_credit_grace_days", 14),
    )
    sources_table = r.get("sources", dict)
    unknown = sorted(set(sources_table) - set(SOURCES))
    if unknown:
        raise r.fail("sources", f"unknown source(s) {unknown}; known: {list(SOURCES)}")
    sources = {name: _source(r, root, name, sources_table[name]) for name in SOURCES
               if name in sources_table}
    journal = r.get("journal", dict, {})
    return TieoutConfig(
        path=path, company_name=r.get("name", str, "tieout", where=company, prefix="company."),
        as_of=as_of, accounting_timezone=tz, reporting_currency=reporting,
        warehouse=root / r.get("path", str, "warehouse.duckdb", where=warehouse,
                               prefix="warehouse."),
        reference=(root / reference["path"]) if "path" in reference else None,
        reconciliation=reconciliation, sources=sources,
        journal=_journal(r, journal),
        warehouse_memory_limit=_memory(r, r.get("memory_limit", str, "1GB", where=warehouse,
                                                prefix="warehouse.")),
        orchestration=_orchestration(r, r.get("orchestration", dict, {})),
        monitoring=_monitoring(r, r.get("monitoring", dict, {})),
    )


def _days(r: _Reader, table: dict[str, Any], key: str, default: int) -> int:
    """A whole number of days in [reconciliation], at least 0."""
    days = int(r.get(key, int, default, where=table, prefix="reconciliation."))
    if days < 0:
        raise r.fail(f"reconciliation.{key}", f"must be 0 or more days, got {days}")
    return days


def _orchestration(r: _Reader, table: dict[str, Any]) -> OrchestrationConfig:
    text = r.get("nightly_at", str, "02:00", where=table, prefix="orchestration.")
    try:
        at = dt.time.fromisoformat(text)
    except ValueError:
        raise r.fail("orchestration.nightly_at", f"not a time of day (HH:MM): {text!r}"
                     ) from None
    if at.second or at.microsecond or at.tzinfo:
        raise r.fail("orchestration.nightly_at", f"give hours and minutes only (local time "
                                                 f"in the accounting time zone), got {text!r}")
    hours = int(r.get("source_freshness_hours", int, 26, where=table,
                      prefix="orchestration."))
    if hours < 1:
        raise r.fail("orchestration.source_freshness_hours", f"must be at least 1, got {hours}")
    return OrchestrationConfig(nightly_at=at, source_freshness_hours=hours)


def _monitoring(r: _Reader, table: dict[str, Any]) -> MonitoringConfig:
    rate = r.decimal("monitoring.min_posting_success_rate",
                     table.get("min_posting_success_rate", "0.99"))
    if rate > 1:
        raise r.fail("monitoring.min_posting_success_rate",
                     f"is a fraction of attempts, from 0 to 1; got {rate}")

    def optional(key: str, least: int) -> int | None:
        value = r.get(key, int, None, where=table, prefix="monitoring.")
        if value is not None and value < least:
            raise r.fail(f"monitoring.{key}", f"must be at least {least}, got {value}")
        return None if value is None else int(value)

    return MonitoringConfig(min_posting_success_rate=rate,
                            max_quarantined=optional("max_quarantined", 0),
                            max_latency_p95_ms=optional("max_latency_p95_ms", 1))


def _journal(r: _Reader, table: dict[str, Any]) -> JournalConfig:
    def positive(key: str, default: int) -> int:
        value = int(r.get(key, int, default, where=table, prefix="journal."))
        if value < 1:
            raise r.fail(f"journal.{key}", f"must be at least 1, got {value}")
        return value

    window = positive("window_minutes", 60)
    if 1440 % window:
        raise r.fail("journal.window_minutes", f"must divide a day (1440 minutes) evenly, "
                                               f"got {window}")
    post_from_text = r.get("post_from", str, None, where=table, prefix="journal.")
    post_from = None
    if post_from_text is not None:
        try:
            post_from = dt.date.fromisoformat(post_from_text)
        except ValueError:
            raise r.fail("journal.post_from", f"not a date (YYYY-MM-DD): {post_from_text!r}"
                         ) from None
    backoff = r.decimal("journal.backoff_seconds", table.get("backoff_seconds", "0.5"))
    return JournalConfig(
        window_minutes=window, post_from=post_from,
        close_after_minutes=int(r.get("close_after_minutes", int, 15, where=table,
                                      prefix="journal.")),
        max_attempts=positive("max_attempts", 5), backoff_seconds=float(backoff))


def _memory(r: _Reader, text: str) -> str:
    import re

    if not re.fullmatch(r"\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)", text.strip(), re.I):
        raise r.fail("warehouse.memory_limit", f"must look like \"1GB\" or \"512MiB\", "
                                               f"got {text!r}")
    return text.strip()


def _source(r: _Reader, root: Path, name: str, table: object) -> SourceConfig:
    prefix = f"sources.{name}."
    if not isinstance(table, dict):
        raise r.fail(f"sources.{name}", "must be a table")
    mode = r.get("mode", str, where=table, prefix=prefix)
    if mode not in ("api", "files"):
        raise r.fail(prefix + "mode", f"must be \"api\" or \"files\", got {mode!r}")
    if name == "usage" and mode != "files":
        raise r.fail(prefix + "mode", "usage events only come as files")
    path = r.get("path", str, None, where=table, prefix=prefix)
    base_url = r.get("base_url", str, None, where=table, prefix=prefix)
    token_env = r.get("token_env", str, None, where=table, prefix=prefix)
    if mode == "files" and path is None:
        raise r.fail(prefix + "path", "is required in files mode")
    if mode == "api":
        if not base_url:
            raise r.fail(prefix + "base_url", "is required in api mode")
        if not base_url.startswith(("http://", "https://")):
            raise r.fail(prefix + "base_url", f"must be an http(s) URL, got {base_url!r}")
        if not token_env:
            raise r.fail(prefix + "token_env", "is required in api mode (the variable that "
                                               "holds the token)")
    overlap = r.get("overlap_seconds", int, 300, where=table, prefix=prefix)
    return SourceConfig(name=name, mode=mode, path=(root / path) if path else None,
                        base_url=base_url.rstrip("/") if base_url else None,
                        token_env=token_env, overlap_seconds=overlap)
