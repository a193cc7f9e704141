"""The registry and the models: one per contract table, types exactly the contract's."""

from __future__ import annotations

import pandera.polars as pa
import pytest

from checks.schemas import MODELS
from checks.schemas.billing import StripeInvoice, StripeInvoiceLine
from checks.schemas.erp import NetSuiteTransaction
from checks.schemas.revrec import RevrecSchedule
from checks.schemas.support import ZendeskOrganization, ZendeskServiceCredit
from checks.schemas.usage import UsageEvent
from seeds.tables import KEYS, SCHEMAS


def test_registry_covers_every_contract_table() -> None:
    assert set(MODELS) == set(SCHEMAS)
    assert all(issubclass(model, pa.DataFrameModel) for model in MODELS.values())


def test_models_are_named_after_the_source_records() -> None:
    assert MODELS["billing/invoices"] is StripeInvoice
    assert MODELS["billing/invoice_lines"] is StripeInvoiceLine
    assert MODELS["erp/transaction"] is NetSuiteTransaction
    assert MODELS["revrec/revenue_schedules"] is RevrecSchedule
    assert MODELS["usage/events"] is UsageEvent
    assert MODELS["support/organizations"] is ZendeskOrganization
    assert MODELS["support/service_credits"] is ZendeskServiceCredit


@pytest.mark.parametrize("table", list(SCHEMAS))
def test_model_columns_and_types_are_the_contract(table: str) -> None:
    schema = MODELS[table].to_schema()
    assert list(schema.columns) == list(SCHEMAS[table])
    for name, column in schema.columns.items():
        assert column.dtype.type == SCHEMAS[table][name], name
    assert schema.strict is True


@pytest.mark.parametrize("table", list(SCHEMAS))
def test_every_model_checks_its_natural_key_and_keys_are_required(table: str) -> None:
    schema = MODELS[table].to_schema()
    key_checks = [check for column in schema.columns.values() for check in column.checks
                  if check.name == "unique_key_in_batch"]
    assert len(key_checks) == 1
    assert key_checks[0].statistics["columns"] == list(KEYS[table])
    assert key_checks[0] in schema.columns[KEYS[table][0]].checks
    for key in KEYS[table]:
        assert schema.columns[key].nullable is False, key


@pytest.mark.parametrize("table", list(SCHEMAS))
def test_every_check_has_a_quarantine_name_and_a_description(table: str) -> None:
    schema = MODELS[table].to_schema()
    checks = [c for col in schema.columns.values() for c in col.checks] + list(schema.checks)
    allowed = {"required", "enum", "currency", "date_range", "date_order", "non_negative",
               "positive", "decimal_amount", "period_format", "exponent", "unique_key_in_batch"}
    for check in checks:
        assert check.name in allowed
        assert check.description and "\n" not in check.description
