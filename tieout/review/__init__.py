"""Exception review: state that survives every rebuild, an audit trail, and period close.

``marts.fct_exceptions`` says what the latest run found; ``ops.exception_review`` says what
people did about it (DESIGN §6).  ``sync_review`` carries the state across runs, ``changes``
applies people's edits (validated, all or nothing, audited, stale edits refused), ``queries``
reads it for the CLI, workbook and report, and ``close`` records sign-offs.
"""

from .actor import default_actor
from .changes import Applied, Change, ChangesRejected, Problem, apply_changes, validate
from .close import (
    CloseRefused,
    SignOff,
    blocking_exceptions,
    close_period,
    default_close_period,
    get_close,
)
from .queries import (
    AGEING_BUCKETS,
    REVIEW_COLUMNS,
    Filters,
    Sort,
    ageing_bucket,
    get_review,
    has_review,
    history,
    list_review,
)
from .status import ACTIVE, NEEDS_REASON, SYSTEM_ACTOR, Status, parse_status
from .sync import SyncResult, sync_review

__all__ = [
    "ACTIVE", "AGEING_BUCKETS", "NEEDS_REASON", "REVIEW_COLUMNS", "SYSTEM_ACTOR", "Applied",
    "Change", "ChangesRejected", "CloseRefused", "Filters", "Problem", "SignOff", "Sort",
    "Status", "SyncResult", "ageing_bucket", "apply_changes", "blocking_exceptions",
    "close_period", "default_actor", "default_close_period", "get_close", "get_review",
    "has_review", "history", "list_review", "parse_status", "sync_review", "validate",
]
