"""Build a connector from configuration: the system name, its base URL and its token.

Each system expects its credential in its own header - billing (Stripe), the ERP (NetSuite
token auth) and support (a Zendesk OAuth access token) as ``Authorization: Bearer``, revrec as
``X-API-Key`` - and the ERP wants
``Prefer: transient`` on SuiteQL calls. Keeping that here means callers (the pipeline
resources, the demo) only ever handle a token string from the environment, and the
``HttpClient`` knows every header value is a secret to scrub.
"""

from __future__ import annotations

from typing import Any

from tieout.connectors.base import Connector
from tieout.connectors.billing import BillingConnector
from tieout.connectors.erp import ErpConnector
from tieout.connectors.http import HttpClient
from tieout.connectors.revrec import RevrecConnector
from tieout.connectors.support import SupportConnector
from tieout.errors import InputError

CONNECTORS: dict[str, type[Connector]] = {
    "billing": BillingConnector,
    "erp": ErpConnector,
    "revrec": RevrecConnector,
    "support": SupportConnector,
}


def auth_headers(system: str, token: str) -> dict[str, str]:
    """The headers that carry ``token`` the way ``system`` expects it."""
    if system == "revrec":
        return {"X-API-Key": token}
    headers = {"Authorization": f"Bearer {token}"}
    if system == "erp":
        headers["Prefer"] = "transient"
    return headers


def connect(system: str, base_url: str, token: str, *, page_size: int | None = None,
            **client_options: Any) -> Connector:
    """A connector for ``system`` (a key of ``CONNECTORS``) at ``base_url``.

    ``client_options`` go to ``HttpClient`` (timeouts, retry limits, ``sleep``...);
    ``page_size`` to the connector (default: the API's maximum). An unknown system or an
    empty token is an ``InputError`` (the message never contains the token).
    """
    if system not in CONNECTORS:
        raise InputError(f"unknown source system {system!r} (use one of {', '.join(CONNECTORS)})")
    if not token or not token.strip():
        raise InputError(f"{system}: no API token given (set it in the environment)")
    if page_size is not None and page_size < 1:
        raise InputError(f"{system}: page_size must be at least 1, got {page_size}")
    client = HttpClient(system, base_url, auth_headers(system, token.strip()), **client_options)
    return CONNECTORS[system](client, page_size=page_size)
