"""Hostile and malformed input through the whole extraction path ends in a clean account.

A bounded, seeded run of ``tests.reliability.hostile``'s campaign: the fixed matrix (every API
page fault of every source, every broken-file fault in every format) and then random
corrupted exports of a generated company.  ``run_fuzz_campaign`` with more examples is the
longer campaign; CI runs this one.
"""

from __future__ import annotations

import polars as pl
import pytest

from tests.reliability.hostile import (
    HOSTILE,
    Column,
    FuzzFigures,
    matrix_cases,
    must_reject,
    run_fuzz_campaign,
)
from tieout.extract.batch import loose_text

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

EXAMPLES = 16  # random cases after the matrix; the campaign command raises this
SEED = 20260110


@pytest.fixture(scope="module")
def figures(tmp_path_factory: pytest.TempPathFactory) -> FuzzFigures:
    return run_fuzz_campaign(EXAMPLES, SEED, tmp_path_factory.mktemp("hostile"))


def test_nothing_crashes_and_nothing_is_unaccounted_for(figures: FuzzFigures) -> None:
    assert figures.crashes == 0, "\n".join(figures.details)
    assert figures.mismatches == 0, "\n".join(figures.details)
    assert figures.details == []


def test_the_campaign_ran_and_really_was_hostile(figures: FuzzFigures) -> None:
    assert figures.cases >= len(matrix_cases()) + EXAMPLES // 2
    assert figures.records_fuzzed > EXAMPLES  # records and pages actually corrupted
    assert figures.quarantined > 0  # ... and the gate refused some of them
    assert figures.received == figures.landed + figures.quarantined


def test_the_predictions_the_campaign_checks_against_are_sound() -> None:
    """The oracle itself: values the gate must refuse, and values it may take."""
    amount = Column("amount", pl.Int64, False, frozenset(), frozenset())
    for value in HOSTILE["nan"] + ["9" * 40, 2**63, -(2**63) - 1, 12.5, "1e3", True, [1]]:
        assert must_reject(amount, loose_text(value)) is True, value
    assert must_reject(amount, "-5") is None  # no sign check on this column
    currency = Column("currency", pl.String, False,
                      frozenset({"currency"}), frozenset({"usd", "eur"}))
    assert must_reject(currency, "USD") is True and must_reject(currency, "usd") is None
    identifier = Column("id", pl.String, False, frozenset({"required"}), frozenset())
    assert must_reject(identifier, "cus_ñé漢字🙂\u200b") is None
    assert must_reject(identifier, "   ") is True and must_reject(identifier, None) is True


def test_figures_fold_across_campaign_parts() -> None:
    total = FuzzFigures(cases=2, received=5, landed=4, quarantined=1, details=["a"])
    total.add(FuzzFigures(cases=1, received=3, landed=3, mismatches=1, details=["b"]))
    assert (total.cases, total.received, total.landed, total.quarantined, total.mismatches,
            total.details) == (3, 8, 7, 1, 1, ["a", "b"])
