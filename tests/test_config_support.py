"""The support rules' settings: read from [reconciliation], checked, and handed to dbt."""

from __future__ import annotations

from pathlib import Path

import pytest

from tieout.config import load_config
from tieout.errors import InputError
from tieout.transform.dbt_vars import dbt_vars

BASE = """[company]
accounting_timezone = "America/Los_Angeles"
reporting_currency = "USD"
[reconciliation]
grace_hours = 24
{extra}
[reconciliation.absolute_tolerance]
[sources]
"""


def _config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "tieout.toml"
    path.write_text(BASE.format(extra=extra))
    return path


def test_support_days_default_and_reach_dbt(tmp_path: Path) -> None:
    defaults = dbt_vars(load_config(_config(tmp_path, "")))
    assert (defaults["support_past_due_days"], defaults["service_credit_grace_days"]) == (60, 14)
    chosen = dbt_vars(load_config(_config(
        tmp_path, "support_past_due_days = 45\nservice_credit_grace_days = 0")))
    assert (chosen["support_past_due_days"], chosen["service_credit_grace_days"]) == (45, 0)


@pytest.mark.parametrize(("extra", "needle"), [
    ("support_past_due_days = -1", "reconciliation.support_past_due_days: must be 0 or more"),
    ("service_credit_grace_days = \"14\"", "reconciliation.service_credit_grace_days: must be "
                                            "an integer"),
    ("support_past_due_days = 1.5", "reconciliation.support_past_due_days: must be an integer"),
])
def test_bad_support_days_name_the_field(tmp_path: Path, extra: str, needle: str) -> None:
    with pytest.raises(InputError, match=needle.replace(".", r"\.")):
        load_config(_config(tmp_path, extra))
