"""Failure alerts: one JSON POST to a webhook whose URL comes from the environment."""

from .webhook import ALERT_ENV, FailureAlert, scrub, send_failure_alert

__all__ = ["ALERT_ENV", "FailureAlert", "scrub", "send_failure_alert"]
