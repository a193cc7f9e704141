"""Generated companies for the gate tests (500 invoices: every table, small and quick)."""

from __future__ import annotations

import pytest

from seeds.generator import CompanySummary, generate_company


@pytest.fixture(scope="session")
def company500(tmp_path_factory: pytest.TempPathFactory) -> CompanySummary:
    """A default-rates company (injected discrepancies are not malformed records)."""
    return generate_company(tmp_path_factory.mktemp("gate_company"), seed=7, invoices=500)


@pytest.fixture(scope="session")
def clean500(tmp_path_factory: pytest.TempPathFactory) -> CompanySummary:
    """A clean company."""
    return generate_company(tmp_path_factory.mktemp("gate_clean"), seed=11, invoices=500,
                            clean=True)
