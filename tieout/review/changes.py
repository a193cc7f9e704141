"""People's edits to the review state: all validated first, applied all or nothing, audited.

Every edit names the revision its author saw when it matters (the workbook carries it per
row; ``--revision`` on the CLI).  If someone else changed that exception since, the edit is
refused naming who and when, never silently overwritten; edits to different exceptions never
collide.  Each changed field appends one row to ``ops.exception_audit`` in the same
transaction as the change itself, so the state and its trail cannot disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from tieout.errors import InputError

from .status import NEEDS_REASON, Status
from .sync import AUDIT, REVIEW

MAX_TEXT = 2000  # owner, note and reason lengths a workbook cell or a terminal can show


@dataclass(frozen=True)
class Change:
    """What one person wants changed on one exception; None leaves a field as it is."""

    exception_id: str
    status: Status | None = None
    owner: str | None = None  # "" clears the owner
    note: str | None = None
    reason: str | None = None  # why: required to resolve or waive
    expected_revision: int | None = None  # refuse if the exception changed since


@dataclass(frozen=True)
class Problem:
    """Why one change cannot be applied: which change, which field, what is wrong."""

    index: int
    field: str
    message: str


class ChangesRejected(InputError):
    """A batch of changes was refused as a whole; ``problems`` says why, change by change."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        first = self.problems[0]
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{first.message}{more}")


@dataclass(frozen=True)
class Applied:
    """One field a change actually moved (no-ops are not recorded)."""

    exception_id: str
    field: str
    old: str | None
    new: str | None
    revision: int


def validate(con: duckdb.DuckDBPyConnection, changes: Sequence[Change]) -> list[Problem]:
    """Every reason a change cannot be applied, in order; empty when all can."""
    ids = [c.exception_id for c in changes]
    current = _current(con, ids)
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for index, change in enumerate(changes):
        def fail(field: str, message: str, index: int = index) -> None:
            problems.append(Problem(index, field, message))

        row = current.get(change.exception_id)
        if row is None:
            fail("exception_id", f"unknown exception {change.exception_id!r}")
            continue
        if change.exception_id in seen:
            fail("exception_id", f"exception {change.exception_id} appears twice "
                                 f"(first as change {seen[change.exception_id] + 1})")
        seen.setdefault(change.exception_id, index)
        revision, _status, _owner, _note, updated_by, updated_at = row
        if change.expected_revision is not None and change.expected_revision != revision:
            fail("revision", f"exception {change.exception_id} was changed by {updated_by} at "
                             f"{updated_at:%Y-%m-%d %H:%M UTC} after revision "
                             f"{change.expected_revision}; reload it and edit again")
        if change.status in NEEDS_REASON and not (change.reason or "").strip():
            fail("reason", f"exception {change.exception_id}: setting it to "
                           f"{change.status.value} needs a reason")
        for field in ("owner", "note", "reason"):
            text = getattr(change, field)
            if text is not None and len(text) > MAX_TEXT:
                fail(field, f"exception {change.exception_id}: {field} is longer than "
                            f"{MAX_TEXT} characters")
    return problems


def apply_changes(con: duckdb.DuckDBPyConnection, changes: Sequence[Change], actor: str,
                  *, now: dt.datetime | None = None) -> list[Applied]:
    """Validate every change, then apply them all in one transaction (or none, raising
    ``ChangesRejected``).  Returns the fields that moved."""
    if not actor.strip():
        raise InputError("the actor is empty: set --actor or TIEOUT_USER")
    now = now or dt.datetime.now(dt.UTC)
    con.execute("BEGIN TRANSACTION")
    try:
        problems = validate(con, changes)
        if problems:
            raise ChangesRejected(problems)
        applied = [a for i, c in enumerate(changes) for a in _apply(con, i, c, actor, now)]
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    return applied


def _apply(con: duckdb.DuckDBPyConnection, index: int, change: Change, actor: str,
           now: dt.datetime) -> list[Applied]:
    [(revision, status, owner, note, _by, _at)] = _current(con, [change.exception_id]).values()
    moves: list[tuple[str, str | None, str | None]] = []
    if change.status is not None and change.status.value != status:
        moves.append(("status", status, change.status.value))
    if change.owner is not None and (change.owner.strip() or None) != owner:
        moves.append(("owner", owner, change.owner.strip() or None))
    if change.note is not None and change.note.strip() and change.note.strip() != note:
        moves.append(("note", note, change.note.strip()))
    if not moves:
        return []
    new_revision = revision + 1
    sets = {field: new for field, _old, new in moves}
    assignments = ", ".join(f"{field} = ${field}" for field in sets)
    extra = ""
    if "status" in sets:
        extra = (", status_changed_at = $now, resolution = "
                 + ("'manual'" if sets["status"] in ("resolved", "waived") else "NULL"))
    [(updated,)] = con.execute(f"""
        UPDATE {REVIEW} SET {assignments}{extra}, updated_at = $now, updated_by = $actor,
            revision = $new_revision
        WHERE exception_id = $id AND revision = $revision""",
                               {**sets, "now": now, "actor": actor, "id": change.exception_id,
                                "new_revision": new_revision, "revision": revision}).fetchall()
    if updated != 1:  # a concurrent writer won between validation and update
        raise ChangesRejected([Problem(index, "revision", f"exception {change.exception_id} "
                                       "was changed by someone else meanwhile; edit again")])
    reason = (change.reason or "").strip() or None
    for field, old, new in moves:
        con.execute(f"""
            INSERT INTO {AUDIT} (exception_id, changed_at, actor, action, field, old_value,
                                 new_value, reason, run_id, revision)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?)""",
                    [change.exception_id, now, actor, _ACTIONS[field], field, old, new,
                     reason, new_revision]).fetchall()
    return [Applied(change.exception_id, f, old, new, new_revision) for f, old, new in moves]


_ACTIONS = {"status": "status", "owner": "assign", "note": "note"}


def _current(con: duckdb.DuckDBPyConnection,
             ids: Sequence[str]) -> dict[str, tuple[int, str, str | None, str | None, str,
                                                    dt.datetime]]:
    if not ids:
        return {}
    rows = con.execute(f"""
        SELECT exception_id, revision, status, owner, note, updated_by, updated_at
        FROM {REVIEW} WHERE exception_id IN (SELECT unnest(?))""", [list(ids)]).fetchall()
    return {row[0]: row[1:] for row in rows}
