"""The one line a failed in-process Dagster run is reported with: the user's own error.

Dagster wraps a failing step as ``Execution of step "x" failed`` around the error the asset
raised (a ``dg.Failure`` description, a connector's 401, ...).  The controller needs that
inner reason, so this walks the step failure's cause chain to it, scrubbed of secrets.
"""

from __future__ import annotations

from typing import Any

from tieout.alerts import scrub


def failure_reason(result: Any, limit: int = 400) -> str:
    """``step: reason`` of the first failed step, else the run's failure message."""
    for event in result.all_events:
        if event.event_type_value != "STEP_FAILURE":
            continue
        data = event.step_failure_data
        description = getattr(getattr(data, "user_failure_data", None), "description", None)
        info = data.error if data else None
        while info is not None and info.cause is not None:
            info = info.cause
        reason = description or (info.message if info is not None else None)
        if reason:
            return scrub(" ".join(f"{event.step_key}: {reason}".split()))[:limit]
    failure = next((e for e in result.all_events if e.is_failure and e.message), None)
    message = failure.message if failure and failure.message else "see the Dagster run"
    return scrub(" ".join(message.split()))[:limit]
