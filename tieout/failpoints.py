"""Named crash points, so the reliability suite can kill a run exactly where it hurts.

"Nothing lost, nothing posted twice" (DESIGN §10) has to hold when the machine dies between
any two steps, not only where an exception would be raised.  A failpoint is a one-line hook
in the code at such a step; it does nothing unless the environment variable
``TIEOUT_FAILPOINTS`` names it, and then it SIGKILLs the whole process group - no ``finally``,
no rollback, no flush, and the dbt child (or anything else started by the run) dies with it,
as on a power cut.

``TIEOUT_FAILPOINTS`` is read once, when this module is first imported: comma-separated items
``name`` (fire on the first hit) or ``name@N`` (fire on the N-th hit, counted per process).
An unknown name is an error rather than a crash that never comes: a campaign with a typo
would otherwise report every run as "not reached" and prove nothing.

A process that does not lead its own process group (a test calling library code in-process,
say) kills only itself: killing the group there would take the test runner and its shell.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV = "TIEOUT_FAILPOINTS"

POINTS: tuple[str, ...] = (
    "extract.unit.staged",  # a unit's batches are staged; its landing transaction not begun
    "extract.unit.before_commit",  # merged, watermark and manifest written; COMMIT not sent
    "journal.post.before_request",  # the attempt is recorded in_flight; nothing sent yet
    "journal.post.after_erp_commit",  # the ERP created the entry; the ledger does not know
    "analyst.publish.before_swap",  # the new snapshot is written; the old one not replaced
)


def parse(spec: str | None) -> dict[str, int]:
    """``name`` / ``name@N`` items -> the hit number at which each point fires."""
    armed: dict[str, int] = {}
    for raw in (spec or "").split(","):
        item = raw.strip()
        if not item:
            continue
        name, at, count = item.partition("@")
        name = name.strip()
        if name not in POINTS:
            raise ValueError(f"{ENV}: unknown failpoint {name!r} (known: {', '.join(POINTS)})")
        try:
            hit = int(count) if at else 1
        except ValueError:
            raise ValueError(f"{ENV}: {item!r}: the hit after '@' must be an integer") from None
        if hit < 1:
            raise ValueError(f"{ENV}: {item!r}: the hit after '@' must be at least 1")
        armed[name] = hit
    return armed


_armed: dict[str, int] = parse(os.environ.get(ENV))
_hits: Counter[str] = Counter()


def arm(spec: str | None) -> None:
    """Replace the armed points and reset the hit counts (tests; the env var is read once)."""
    global _armed
    _armed = parse(spec)
    _hits.clear()


def failpoint(name: str) -> None:
    """Die here, by SIGKILL, when ``name`` is armed and this is its chosen hit."""
    if not _armed or name not in _armed:
        return
    _hits[name] += 1
    if _hits[name] != _armed[name]:
        return
    group = os.getpgid(0)
    if group == os.getpid():
        os.killpg(group, signal.SIGKILL)
    else:
        os.kill(os.getpid(), signal.SIGKILL)


def hits() -> dict[str, int]:
    """How often each armed point was passed in this process: a clean run armed at a hit it
    never reaches tells a campaign which hits exist."""
    return dict(_hits)
