"""The review state across runs: what a rerun keeps, auto-resolves and reopens, and the trail."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest

from tieout.review import (
    Change,
    ChangesRejected,
    Status,
    apply_changes,
    get_review,
    history,
)

from .world import ROWS, T0, World, make_world

DAY = dt.timedelta(days=1)


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def _state(world: World, exception_id: str, at: dt.datetime | None = None) -> dict:
    with world.connect() as con:
        row = get_review(con, exception_id, now=at)
    assert row is not None
    return row


def _trail(world: World, exception_id: str) -> list[tuple]:
    with world.connect() as con:
        return [(h["actor"], h["action"], h["field"], h["old_value"], h["new_value"],
                 h["run_id"]) for h in history(con, exception_id)]


def test_first_run_opens_every_exception_with_an_audit_row(world: World) -> None:
    with world.connect() as con:
        rows = con.execute("SELECT exception_id, status, first_seen_run, revision FROM "
                           "ops.exception_review ORDER BY 1").fetchall()
        audit = con.execute("SELECT exception_id, action, new_value FROM ops.exception_audit "
                            "ORDER BY 1").fetchall()
    assert rows == [(r.exception_id, "open", "run-1", 1) for r in ROWS]
    assert audit == [(r.exception_id, "detected", "open") for r in ROWS]


def test_rerun_keeps_owner_note_and_waiver(world: World) -> None:
    with world.connect() as con:
        apply_changes(con, [Change("e1", owner="alice", note="asked AR"),
                            Change("e2", status=Status.WAIVED, reason="FX rounding")], "bob",
                      now=T0 + dt.timedelta(hours=1))
    result = world.run(ROWS, "run-2", T0 + DAY)
    assert (result.new, result.reopened, result.auto_resolved) == (0, 0, 0)
    e1, e2 = _state(world, "e1"), _state(world, "e2")
    assert (e1["owner"], e1["note"], e1["status"]) == ("alice", "asked AR", "open")
    assert e2["status"] == "waived" and e2["last_seen_at"] == T0 + DAY
    assert e1["first_seen_at"] == T0  # age counts from first detection, not the last run


def test_vanished_exception_is_auto_resolved_with_the_run(world: World) -> None:
    result = world.run([r for r in ROWS if r.exception_id != "e3"], "run-2", T0 + DAY)
    assert result.auto_resolved == 1
    e3 = _state(world, "e3")
    assert (e3["status"], e3["resolution"], e3["is_present"]) == ("resolved", "auto", False)
    assert _trail(world, "e3")[-1] == ("tieout", "auto_resolved", "status", "open",
                                       "resolved", "run-2")
    # the snapshot stays readable after it is gone
    assert e3["natural_key"] == "invoice:in_3" and e3["last_seen_at"] == T0


def test_reappearing_after_resolution_reopens_and_keeps_its_age(world: World) -> None:
    world.run([r for r in ROWS if r.exception_id != "e3"], "run-2", T0 + DAY)
    result = world.run(ROWS, "run-3", T0 + 10 * DAY)
    assert result.reopened == 1 and result.new == 0
    e3 = _state(world, "e3", at=T0 + 10 * DAY)
    assert (e3["status"], e3["resolution"], e3["age_days"]) == ("open", None, 10)
    assert [t[1] for t in _trail(world, "e3")] == ["detected", "auto_resolved", "reopened"]


def test_manual_resolution_reopens_when_the_difference_is_still_there(world: World) -> None:
    with world.connect() as con:
        apply_changes(con, [Change("e1", status=Status.RESOLVED, reason="fixed in ERP")],
                      "bob")
    world.run(ROWS, "run-2", T0 + DAY)
    assert _state(world, "e1")["status"] == "open"
    world.run([r for r in ROWS if r.exception_id != "e1"], "run-3", T0 + 2 * DAY)
    world.run([r for r in ROWS if r.exception_id != "e1"], "run-4", T0 + 3 * DAY)
    assert _state(world, "e1")["status"] == "resolved"  # stays resolved while absent
    assert [t[1] for t in _trail(world, "e1")] == ["detected", "status", "reopened",
                                                   "auto_resolved"]


def test_waived_exception_that_disappears_is_resolved(world: World) -> None:
    with world.connect() as con:
        apply_changes(con, [Change("e2", status=Status.WAIVED, reason="accepted")], "bob")
    world.run([r for r in ROWS if r.exception_id != "e2"], "run-2", T0 + DAY)
    assert _state(world, "e2")["status"] == "resolved"


def test_snapshot_follows_the_latest_run(world: World) -> None:
    changed = [dataclasses.replace(r, reason="now differs by tax") if r.exception_id == "e1"
               else r for r in ROWS]
    world.run(changed, "run-2", T0 + DAY)
    assert _state(world, "e1")["reason"] == "now differs by tax"


def test_waive_and_resolve_need_a_reason_and_nothing_changes(world: World) -> None:
    for status in (Status.WAIVED, Status.RESOLVED):
        with world.connect() as con, pytest.raises(ChangesRejected, match="needs a reason"):
            apply_changes(con, [Change("e1", owner="carol"),
                                Change("e2", status=status, reason="  ")], "bob")
    assert _state(world, "e1")["owner"] is None  # all or nothing: e1's owner was not set
    assert len(_trail(world, "e1")) == 1


def test_stale_edit_is_refused_naming_who_changed_it(world: World) -> None:
    with world.connect() as con:
        apply_changes(con, [Change("e1", owner="alice", expected_revision=1)], "bob")
        with pytest.raises(ChangesRejected, match=r"changed by bob .* after revision 1"):
            apply_changes(con, [Change("e1", owner="carol", expected_revision=1)], "carol")
        # a different exception at the revision its author saw is fine
        apply_changes(con, [Change("e2", owner="carol", expected_revision=1)], "carol")
    assert _state(world, "e1")["owner"] == "alice"
    assert _state(world, "e2")["owner"] == "carol"


def test_unknown_and_repeated_ids_are_reported_together(world: World) -> None:
    with world.connect() as con, pytest.raises(ChangesRejected) as refused:
        apply_changes(con, [Change("nope", owner="x"), Change("e1", owner="a"),
                            Change("e1", owner="b")], "bob")
    assert [(p.index, p.field) for p in refused.value.problems] == [(0, "exception_id"),
                                                                    (2, "exception_id")]


def test_every_change_is_appended_never_rewritten(world: World) -> None:
    with world.connect() as con:
        apply_changes(con, [Change("e1", owner="alice")], "bob")
        apply_changes(con, [Change("e1", note="first")], "bob")
        apply_changes(con, [Change("e1", note="second")], "carol")
        apply_changes(con, [Change("e1", note="second")], "carol")  # no-op: not recorded
    assert _trail(world, "e1")[1:] == [("bob", "assign", "owner", None, "alice", None),
                                       ("bob", "note", "note", None, "first", None),
                                       ("carol", "note", "note", "first", "second", None)]
    assert _state(world, "e1")["revision"] == 4


def test_trend_is_recorded_per_run_and_rule(world: World) -> None:
    world.run([r for r in ROWS if r.exception_id != "e3"], "run-2", T0 + DAY)
    with world.connect() as con:
        rows = con.execute("SELECT run_id, open_count, auto_resolved_count, new_count FROM "
                           "ops.exception_runs WHERE rule = 'INVOICE_MISSING_IN_ERP' "
                           "ORDER BY synced_at").fetchall()
        [(rules,)] = con.execute("SELECT count(DISTINCT rule) FROM ops.exception_runs "
                                 "WHERE run_id = 'run-2'").fetchall()
    assert rows == [("run-1", 1, 0, 1), ("run-2", 0, 1, 0)]
    from tieout.rules import RULES
    assert rules == len(RULES)  # zero rows too, so the trend has no gaps


def test_undated_exception_takes_its_as_of_period_in_the_accounting_zone(world: World) -> None:
    # as_of 2026-01-05 06:00 UTC is 2026-01-04 22:00 in Los Angeles
    assert _state(world, "e5")["period"] == "2026-01"
    late = dataclasses.replace(ROWS[4])
    world.run([late], "run-2", dt.datetime(2026, 2, 1, 5, 0, tzinfo=dt.UTC))
    assert _state(world, "e5")["period"] == "2026-01"  # 21:00 on Jan 31 in Los Angeles


@pytest.mark.parametrize(("as_of", "timezone", "period"), [
    (dt.datetime(2026, 1, 20, 18, 0, tzinfo=dt.UTC), "America/New_York", "2025-12"),
    (dt.datetime(2026, 3, 1, 3, 0, tzinfo=dt.UTC), "America/Los_Angeles", "2026-01"),
    (dt.datetime(2026, 3, 1, 3, 0, tzinfo=dt.UTC), "Europe/Berlin", "2026-02"),
])
def test_the_period_being_closed_is_the_month_before_as_of_locally(
        as_of: dt.datetime, timezone: str, period: str) -> None:
    from tieout.review import default_close_period
    assert default_close_period(as_of, timezone) == period
