"""How dbt nodes become Dagster asset keys and groups, so lineage reads raw -> staging -> marts.

A dbt source is the raw table the extraction assets land, so it takes that asset's key
(``raw/<source>/<entity>``), matched on the physical relation (``raw_billing.invoices``) rather
than on the source's name in YAML.  A source outside the raw schemas (an ``ops`` table) keeps a
``<schema>/<table>`` key.  Models are keyed ``<schema>/<model>`` (``marts/fct_exceptions``),
the relation an analyst queries, and grouped by their top folder (staging, intermediate,
marts), as the schema macro does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator

from seeds.tables import SCHEMAS
from tieout.warehouse.schema import raw_table

from .raw_sources import asset_key

RAW_KEYS: dict[str, dg.AssetKey] = {raw_table(t): asset_key(t) for t in SCHEMAS}


def model_key(schema: str, name: str) -> dg.AssetKey:
    """Key of a dbt model: its relation, e.g. ``marts/fct_exceptions``."""
    return dg.AssetKey([schema, name])


class TieoutTranslator(DagsterDbtTranslator):
    """Raw asset keys for dbt sources, relation keys and folder groups for models."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        schema = str(dbt_resource_props["schema"])
        if dbt_resource_props["resource_type"] == "source":
            table = str(dbt_resource_props.get("identifier") or dbt_resource_props["name"])
            return RAW_KEYS.get(f"{schema}.{table}", dg.AssetKey([schema, table]))
        return model_key(schema, str(dbt_resource_props["name"]))

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn") or []
        return str(fqn[1]) if len(fqn) > 2 else "dbt"
