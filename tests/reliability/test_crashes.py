"""SIGKILL at every named point, then a rerun, ends where an uncrashed run ends (``crashes.py``).

Every failpoint is crashed at least once - extraction after staging and just before COMMIT,
posting before the POST and between the ERP's commit and the ledger's - plus ``dbt build``
killed after a random number of finished models and tests, and the analyst snapshot killed
before its swap.  Hits are drawn from a fixed seed among those a clean run really passes (a
crash in the middle of the usage units, say, not only in the first unit), so each crash must
happen; after the rerun the raw tables (or the whole warehouse) equal the fault-free run's,
the ERP holds exactly one entry per journal version and agrees with the ledger, and the
previous snapshot stayed readable.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from .crashes import DBT_POINT, hits_of, run_crash_point
from .faults import shared_company

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

SEED = 10

CASES = [
    ("extract.unit.staged", "first"),
    ("extract.unit.before_commit", "random"),
    ("extract.unit.before_commit", "last"),
    ("journal.post.before_request", "first"),
    ("journal.post.before_request", "random"),
    ("journal.post.after_erp_commit", "first"),
    ("journal.post.after_erp_commit", "random"),
    (DBT_POINT, "random"),
    ("analyst.publish.before_swap", "first"),
]


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_company(tmp_path_factory.getbasetemp())


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("crashes-work")


@pytest.mark.parametrize(("point", "which"), CASES, ids=[f"{p}-{w}" for p, w in CASES])
def test_a_crash_then_a_rerun_ends_with_the_fault_free_state(company: Path, work: Path,
                                                            point: str, which: str) -> None:
    passes = hits_of(company, work, point)
    rng = random.Random(f"{SEED}-{point}-{which}")
    if point == DBT_POINT:  # a late kill costs a whole build on top: the campaign covers it
        passes //= 2
    hit = {"first": 1, "last": passes}.get(which) or rng.randint(1, passes)
    result = run_crash_point(company, point, hit, work)
    assert result.crashed, f"{result.describe()} was not reached ({passes} passes in a clean run)"
    assert result.mismatches == [], f"{result.describe()}:\n" + "\n".join(result.mismatches)
    assert result.duplicates_posted == 0
