"""Journal fixtures: the generated ERP the sandbox serves, and usage worlds per window size."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from seeds.generator import CompanySummary, generate_company

from . import world


@pytest.fixture(scope="session")
def erp_company(tmp_path_factory: pytest.TempPathFactory) -> CompanySummary:
    """A small generated company: its ERP (periods <= 2025-12 closed) and reference data."""
    return generate_company(tmp_path_factory.mktemp("journal-erp"), seed=5, invoices=100)


@pytest.fixture(scope="session")
def built_worlds(tmp_path_factory: pytest.TempPathFactory,
                 erp_company: CompanySummary) -> Callable[[int], Path]:
    """The world's warehouse with dbt views, built once per window size (a folder)."""
    cache: dict[int, Path] = {}

    def get(window_minutes: int) -> Path:
        if window_minutes not in cache:
            root = tmp_path_factory.mktemp(f"world-{window_minutes}")
            world.build(root, erp_company.out_dir / "reference", window_minutes)
            cache[window_minutes] = root
        return cache[window_minutes]

    return get


@pytest.fixture
def new_world(built_worlds: Callable[[int], Path],
              tmp_path: Path) -> Callable[..., Path]:
    """A private copy of a built world; returns its tieout.toml (``world.write_config``)."""
    counter = iter(range(1_000_000))

    def make(window_minutes: int = 60, **config: object) -> Path:
        root = tmp_path / f"w{next(counter)}"
        root.mkdir()
        shutil.copy(built_worlds(window_minutes) / world.WAREHOUSE_NAME,
                    root / world.WAREHOUSE_NAME)
        return world.write_config(root, window_minutes=window_minutes, **config)  # type: ignore[arg-type]

    return make
