"""Who is making a change: recorded on every audit row and sign-off."""

from __future__ import annotations

import getpass
import os

ACTOR_ENV = "TIEOUT_USER"


def default_actor() -> str:
    """``$TIEOUT_USER`` when set (shared service accounts should set it), else the login."""
    name = os.environ.get(ACTOR_ENV, "").strip()
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"
