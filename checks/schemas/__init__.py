"""Pandera (polars) models of every raw contract table, validating the *typed* frame.

``MODELS`` maps each contract table name in ``seeds.tables.SCHEMAS`` to its model.  Each
model's columns and dtypes are exactly the contract's; its checks carry the names the gate
writes to the quarantine (see ``checks.schemas._fields``).
"""

from __future__ import annotations

import pandera.polars as pa

from seeds.tables import SCHEMAS

from . import billing, erp, reference, revrec, support, usage

MODELS: dict[str, type[pa.DataFrameModel]] = {
    **reference.MODELS, **billing.MODELS, **erp.MODELS, **revrec.MODELS, **support.MODELS,
    **usage.MODELS,
}

_missing = set(SCHEMAS) ^ set(MODELS)
if _missing:  # pragma: no cover - a contract change without a model
    raise RuntimeError(f"checks.schemas.MODELS out of step with seeds.tables: {sorted(_missing)}")

__all__ = ["MODELS"]
