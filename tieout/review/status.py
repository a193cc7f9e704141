"""Review statuses and who may move an exception between them (DESIGN §6).

The pipeline itself only ever opens, reopens and auto-resolves; people investigate, resolve
and waive.  Waiving accepts a difference for good, so it needs a reason; resolving by hand
needs one too, because the next run will reopen it if the difference is still there.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """Where an exception stands in review."""

    OPEN = "open"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    WAIVED = "waived"


# Statuses a person may set; each needs a reason when it is in NEEDS_REASON.
NEEDS_REASON = frozenset({Status.RESOLVED, Status.WAIVED})
# An exception in one of these still asks for work (the close refuses while material ones
# remain for the period).
ACTIVE = frozenset({Status.OPEN, Status.INVESTIGATING})

SYSTEM_ACTOR = "tieout"  # the actor of changes the nightly run makes


def parse_status(value: str) -> Status:
    """A status from user input (any case), or ``ValueError`` naming the valid ones."""
    try:
        return Status(value.strip().lower())
    except ValueError:
        valid = ", ".join(s.value for s in Status)
        raise ValueError(f"unknown status {value!r} (valid: {valid})") from None
