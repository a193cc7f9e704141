"""Shared fixtures: generated companies are session-scoped because generation is the slow part."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from seeds.generator import CompanySummary, generate_company
from tieout.config import TieoutConfig, load_config


@pytest.fixture(scope="session")
def company(tmp_path_factory: pytest.TempPathFactory) -> CompanySummary:
    """A default-rates company: every rule planted at least once."""
    return generate_company(tmp_path_factory.mktemp("company"), seed=7, invoices=3000)


@pytest.fixture(scope="session")
def clean_company(tmp_path_factory: pytest.TempPathFactory) -> CompanySummary:
    """A clean company: the three systems agree."""
    return generate_company(tmp_path_factory.mktemp("clean"), seed=11, invoices=3000, clean=True)


def parquet(root: Path, name: str) -> str:
    """SQL literal for one generated table."""
    return f"read_parquet('{root / name}.parquet')"


@pytest.fixture(scope="session")
def small_company(tmp_path_factory: pytest.TempPathFactory) -> CompanySummary:
    """A small default-rates company for extraction tests."""
    return generate_company(tmp_path_factory.mktemp("small"), seed=21, invoices=600)


@pytest.fixture
def files_config(small_company: CompanySummary, tmp_path: Path) -> TieoutConfig:
    """A private copy of the company (tests may add or break files) with its tieout.toml."""
    root = tmp_path / "company"
    shutil.copytree(small_company.out_dir, root)
    return load_config(root / "tieout.toml")
