"""Property tests: for random usage, arrival orders, window sizes and ERP faults, the posted
journals balance, equal the rated usage exactly, and post every version once."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tieout.config import load_config
from tieout.journal import ledger
from tieout.journal.poster import Poster
from tieout.journal.service import all_scope, post_usage_journals, replay_dead_letter
from tieout.warehouse.connection import open_warehouse

from . import world
from .fake_erp import CURRENCIES, FakeErp

UTC = dt.UTC
FIRST = dt.datetime(2025, 12, 1, tzinfo=UTC)
SPAN_MINUTES = 60 * 24 * 50  # into the next cycles, across the closed December period

events_strategy = st.lists(
    st.tuples(
        st.sampled_from(sorted(world.ITEMS)),
        st.integers(min_value=0, max_value=SPAN_MINUTES),  # occurred, minutes after FIRST
        st.integers(min_value=1, max_value=90),  # quantity
        st.one_of(st.integers(min_value=0, max_value=20),  # usual arrival lag (minutes)
                  st.integers(min_value=120, max_value=60 * 48)),  # late arrival
    ),
    min_size=1, max_size=40,
)


def _events(raw: list[tuple[str, int, int, int]]) -> list[world.Event]:
    return [world.Event(event_id=f"ev_{i}", item=item, quantity=quantity,
                        occurred_at=FIRST + dt.timedelta(minutes=at),
                        received_at=FIRST + dt.timedelta(minutes=at + lag))
            for i, (item, at, quantity, lag) in enumerate(raw)]


@pytest.mark.slow
@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=events_strategy, window=st.sampled_from([60, 180]),
       cuts=st.lists(st.integers(min_value=0, max_value=SPAN_MINUTES + 60 * 48),
                     max_size=3, unique=True),
       fault_rate=st.sampled_from([0.0, 0.3]), seed=st.integers(0, 2**16))
def test_posted_journals_equal_rated_usage_once(
        new_world: Callable[..., Path], raw: list[tuple[str, int, int, int]], window: int,
        cuts: list[int], fault_rate: float, seed: int) -> None:
    events = _events(raw)
    cfg = load_config(new_world(window, max_attempts=3))
    erp = FakeErp(seed=seed, fault_rate=fault_rate)
    con = open_warehouse(cfg.warehouse)
    try:
        landed: set[str] = set()
        moments = [FIRST + dt.timedelta(minutes=c) for c in sorted(cuts)]
        for now in [*moments, dt.datetime(2026, 3, 1, tzinfo=UTC)]:
            # a run at `now` sees the events received by then, posts the windows closed by then
            arrived = [e for e in events if e.received_at <= now and e.event_id not in landed]
            world.insert_events(con, arrived)
            landed |= {e.event_id for e in arrived}
            post_usage_journals(con, cfg, erp, all_scope(cfg, now),  # type: ignore[arg-type]
                                sleep=lambda _: None)
        for _ in range(20):  # drain: retry failures, replay dead letters, until all posted
            erp.fault_rate = 0.0
            for batch in ledger.list_batches(con, "dead_letter"):
                replay_dead_letter(con, cfg, erp, batch.batch_id,  # type: ignore[arg-type]
                                   sleep=lambda _: None)
            Poster(con, cfg, erp, "drain", sleep=lambda _: None).post_all()  # type: ignore[arg-type]
            if not ledger.postable(con) and not ledger.list_batches(con, "dead_letter"):
                break

        # every version balances and none is left unposted
        assert ledger.unbalanced(con) == []
        statuses = {b.status for b in ledger.list_batches(con)}
        assert statuses <= {"posted"}
        # each externalId was stored by the ERP exactly once, and every posted version is there
        assert len(erp.creates) == len(set(erp.creates))
        posted = {b.external_id for b in ledger.list_batches(con, "posted")}
        assert posted == set(erp.entries)
        # the ERP's usage revenue equals the independently rated usage, per entity and currency
        expected = world.expected_revenue(events)
        got = erp.revenue_minor()
        for (entity, currency), minor in expected.items():
            assert got.get((CURRENCIES[currency], "4100"), 0) == minor, (entity, currency)
        assert sum(got.values()) == sum(expected.values())
        # no event counted twice or lost on the way to the journal lines
        [(lines_events, lines_quantity)] = con.execute(
            "select coalesce(sum(event_count), 0), coalesce(sum(quantity), 0)"
            " from marts.fct_usage_journal_lines where line_side = 'credit'").fetchall()
        assert lines_events == len(events)
        assert lines_quantity == sum(e.quantity for e in events)
        # the ledger's posted revenue agrees with the ERP's
        [(ledger_minor,)] = con.execute(
            "select coalesce(sum(-amount_minor), 0) from ops.journal_batch_lines l"
            " join ops.journal_batches b using (batch_id, batch_version)"
            " where b.status = 'posted' and l.account_number = '4100'").fetchall()
        assert ledger_minor == sum(got.values())
    finally:
        con.close()
