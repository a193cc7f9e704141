"""Credentials for the sandbox systems, and the checks each system applies.

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
SUPPORT_ENV = "TIEOUT_SUPPORT_TOKEN"


@dataclass(frozen=True)
class SandboxTokens:
    """The secret each system accepts. ``repr`` hides the values.

    ``support`` is optional because the support platform came after the three money systems
    and is an optional source: without a token the support endpoints refuse every request
    (401), so the sandbox never serves support data unauthenticated.
    """

    billing: str = field(repr=False)
    erp: str = field(repr=False)
    revrec: str = field(repr=False)
    support: str | None = field(default=None, repr=False)


def tokens_from_env(environ: Mapping[str, str] | None = None) -> SandboxTokens:
    """Read the tokens from the environment; a missing or empty money-system token is a
    ValueError, a missing support token leaves the support API closed (see ``SandboxTokens``).
    """
    env = os.environ if environ is None else environ
    values: dict[str, str] = {}
    for attr, name in (("billing", BILLING_ENV), ("erp", ERP_ENV), ("revrec", REVREC_ENV)):
        value = env.get(name, "")
        if not value:
            raise ValueError(f"environment variable {name} is not set (the sandbox needs it)")
        values[attr] = value
    return SandboxTokens(**values, support=env.get(SUPPORT_ENV) or None)


def _same(given: str | None, expected: str | None) -> bool:
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def bearer_ok(authorization: str | None, expected: str | None) -> bool:
    """True when an ``Authorization: Bearer <token>`` header carries ``expected`` (never when
    no token is expected: a closed API)."""
    if not authorization:
        return False
    scheme, _, value = authorization.strip().partition(" ")
    return scheme.lower() == "bearer" and _same(value.strip(), expected)


def api_key_ok(header_value: str | None, expected: str) -> bool:
    """True when an ``X-API-Key`` header carries ``expected``."""
    return _same(header_value.strip() if header_value else None, expected)
