"""Credentials for the three sandbox systems, and the checks each system applies.

The sandbox must reject requests the real systems would reject (so connectors prove they send
their credentials the way production expects) without ever leaking a secret: tokens come only
from the environment or the caller, are compared in constant time, and never appear in a
message, a repr or a log line.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

BILLING_ENV = "TIEOUT_BILLING_API_KEY"
ERP_ENV = "TIEOUT_ERP_TOKEN"
REVREC_ENV = "TIEOUT_REVREC_API_KEY"


@dataclass(frozen=True)
class SandboxTokens:
    """The secret each system accepts. ``repr`` hides the values."""

    billing: str = field(repr=False)
    erp: str = field(repr=False)
    revrec: str = field(repr=False)


def tokens_from_env(environ: Mapping[str, str] | None = None) -> SandboxTokens:
    """Read the three tokens from the environment; a missing or empty one is a ValueError."""
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    for attr, name in (("billing", BILLING_ENV), ("erp", ERP_ENV), ("revrec", REVREC_ENV)):
        value = env.get(name, "")
        if not value:
            raise ValueError(f"environment variable {name} is not set (the sandbox needs it)")
        values[attr] = value
    return SandboxTokens(**values)


def _same(given: str | None, expected: str) -> bool:
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def bearer_ok(authorization: str | None, expected: str) -> bool:
    """True when an ``Authorization: Bearer <token>`` header carries ``expected``."""
    if not authorization:
        return False
    scheme, _, value = authorization.strip().partition(" ")
    return scheme.lower() == "bearer" and _same(value.strip(), expected)


def api_key_ok(header_value: str | None, expected: str) -> bool:
    """True when an ``X-API-Key`` header carries ``expected``."""
    return _same(header_value.strip() if header_value else None, expected)
