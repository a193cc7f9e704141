"""Seeded API faults end with the fault-free warehouse (DESIGN §10, ``faults.py``).

Twenty runs, each a different random mix of 429, 500, 503, slow answers, dropped connections
and records repeated or changed between pages, must end with the raw tables of a fault-free
run (after one catch-up run when a record really changed at the source).  Five of them, spread
over the twenty among those whose source does not change, are also built with dbt (in the
background, while the next runs extract), and their intermediate tables, marts and exceptions
must equal the fault-free build too.  dbt on equal raw tables gives equal
marts (those five show it), so the other fifteen are compared on raw tables to keep CI within
its budget; the campaign (``make campaign``) builds every run.

The support platform, added after the three money systems, also gets runs of its own: every
fault aimed at its two endpoints, its small tables read in pages of a few records, and its raw
tables must end identical (content digest) to the fault-free run's.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from .faults import (
    FAILURE_BUDGET,
    FAILURE_KINDS,
    MIX_KINDS,
    fault_free_reference,
    fault_mix,
    run_fault_runs,
    shared_company,
)

pytestmark = [pytest.mark.reliability, pytest.mark.slow]

RUNS = 20
MARTS_RUNS = 5
FIRST_SEED = 1
SUPPORT_RUNS = 12


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shared_company(tmp_path_factory.getbasetemp())


def test_a_fault_mix_is_a_pure_function_of_its_seed() -> None:
    for seed in range(200):
        mix = fault_mix(seed)
        assert mix == fault_mix(seed)
        rates = dict(item.rsplit("=", 1) for item in mix.spec.split(",") if ":" in item)
        failure = sum(float(r) for rule, r in rates.items() if rule.split(":")[1] in FAILURE_KINDS)
        assert 0 < failure <= FAILURE_BUDGET + 0.005, mix.spec
        assert set(mix.kinds) <= set(MIX_KINDS)


@pytest.mark.timeout(900)
def test_seeded_fault_runs_end_with_the_fault_free_warehouse(
        company: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    work = tmp_path_factory.mktemp("faults-work")
    fault_free = fault_free_reference(company, work)
    seeds = range(FIRST_SEED, FIRST_SEED + RUNS)
    steady = [seed for seed in seeds if not fault_mix(seed).mutates]
    with_marts = steady[::max(1, len(steady) // MARTS_RUNS)][:MARTS_RUNS]  # spread out
    injected: Counter[str] = Counter()
    failures, built, caught_up = [], 0, 0
    for run in run_fault_runs(company, seeds, work, build_marts=with_marts.__contains__):
        injected.update(run.faults_by_kind)
        built += run.marts
        caught_up += run.caught_up
        problems = run.mismatches(fault_free)
        if problems:
            failures.append(f"{run.describe()}:\n    " + "\n    ".join(problems[:20]))
    assert not failures, (f"{len(failures)} of {RUNS} fault runs did not end with the fault-free "
                          "warehouse:\n" + "\n".join(failures))
    assert built == MARTS_RUNS
    assert set(injected) >= set(MIX_KINDS), injected  # every kind really happened
    assert caught_up > 0  # and some runs saw the source change under them


def test_support_fault_mixes_aim_only_at_support() -> None:
    for seed in range(50):
        mix = fault_mix(seed, only="support")
        rules = [item for item in mix.spec.split(",") if ":" in item]
        assert rules and all(rule.startswith("support.*:") for rule in rules), mix.spec
        assert mix.page_size <= 5 and mix.only == "support"


@pytest.mark.timeout(600)
def test_seeded_support_faults_end_with_the_fault_free_raw_tables(
        company: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    work = tmp_path_factory.mktemp("support-faults-work")
    fault_free = fault_free_reference(company, work)
    assert any(k.startswith("raw_support.") and not v.startswith("0:")
               for k, v in fault_free.items()), "the company has no support records"
    injected: Counter[str] = Counter()
    failures, caught_up, support_faults = [], 0, 0
    seeds = range(FIRST_SEED, FIRST_SEED + SUPPORT_RUNS)
    for run in run_fault_runs(company, seeds, work, build_marts=lambda seed: False,
                              only="support"):
        injected.update(run.faults_by_kind)
        caught_up += run.caught_up
        support_faults += run.faults_by_system["support"]
        assert set(run.faults_by_system) <= {"support"}
        problems = run.mismatches(fault_free)
        if problems:
            failures.append(f"{run.describe()}:\n    " + "\n    ".join(problems[:20]))
    assert not failures, (f"{len(failures)} of {SUPPORT_RUNS} support fault runs did not end "
                          "with the fault-free raw tables:\n" + "\n".join(failures))
    assert support_faults > 0
    assert set(injected) >= set(MIX_KINDS), injected  # every kind hit the support API
    assert caught_up > 0  # and some runs saw support records change under them
