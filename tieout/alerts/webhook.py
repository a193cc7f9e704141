"""Tell someone when a run fails: the run, the failed step and the error, never a secret.

The webhook URL is itself a secret (it usually embeds a token), so it is read from
``TIEOUT_ALERT_WEBHOOK`` at send time and never logged.  Before anything leaves the process
the error text is scrubbed of every secret tieout knows (the source tokens named by
``*_TOKEN`` variables and the webhook URL), so a connector error quoting a header cannot leak
one.  Sending never raises: a broken alert channel must not hide the failure it reports.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass

import requests

ALERT_ENV = "TIEOUT_ALERT_WEBHOOK"
SECRET_SUFFIXES = ("_TOKEN", "_KEY", "_PASSWORD", "_SECRET", "_WEBHOOK")
TIMEOUT_SECONDS = 10
MAX_ERROR = 2000

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FailureAlert:
    """What a failed run tells the on-call person."""

    run_id: str
    job: str
    failed_step: str | None
    error: str
    where: str  # "dagster" (a scheduled or UI run) or "cli"


def secret_values() -> list[str]:
    """Values of environment variables that hold secrets (by name), longest first."""
    values = {v for k, v in os.environ.items() if k.endswith(SECRET_SUFFIXES) and len(v) >= 6}
    return sorted(values, key=len, reverse=True)


def scrub(text: str) -> str:
    """``text`` with every known secret value replaced by ``***``."""
    for value in secret_values():
        text = text.replace(value, "***")
    return text


def send_failure_alert(alert: FailureAlert) -> bool:
    """POST the alert as JSON to ``$TIEOUT_ALERT_WEBHOOK``; False when unset or it failed."""
    url = os.environ.get(ALERT_ENV, "").strip()
    if not url:
        return False
    payload = {k: scrub(v) if isinstance(v, str) else v for k, v in asdict(alert).items()}
    payload["error"] = payload["error"][:MAX_ERROR]
    payload["text"] = (f"tieout {alert.where} run {alert.run_id} ({alert.job}) failed"
                       + (f" at {payload['failed_step']}" if alert.failed_step else "")
                       + f": {payload['error'][:300]}")
    try:
        response = requests.post(url, data=json.dumps(payload),
                                 headers={"Content-Type": "application/json"},
                                 timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
    except requests.RequestException as exc:  # never let the alert hide the failure
        log.warning("failure alert not delivered: %s", scrub(type(exc).__name__))
        return False
    return True
