"""The dbt project and tieout.rules speak the same vocabulary: codes and severities."""

from __future__ import annotations

from pathlib import Path

import yaml

from tieout.rules import RULES
from tieout.transform.dbt_vars import PROJECT_DIR

RULE_MODELS = PROJECT_DIR / "models" / "intermediate" / "rules"


def test_severity_var_matches_the_rules_module() -> None:
    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    declared = project["vars"]["rule_severity"]
    assert declared == {code: rule.severity.value for code, rule in RULES.items()}


def test_every_rule_code_is_emitted_by_exactly_one_rule_model() -> None:
    sources = {path.name: path.read_text() for path in sorted(RULE_MODELS.glob("*.sql"))}
    for code in RULES:
        owners = [name for name, sql in sources.items() if f"'{code}'" in sql]
        assert len(owners) == 1, (code, owners)


def test_accepted_rule_values_on_the_mart_list_every_rule() -> None:
    spec = yaml.safe_load(Path(PROJECT_DIR / "models/marts/_marts__reconciliation.yml")
                          .read_text())
    [mart] = [m for m in spec["models"] if m["name"] == "fct_exceptions"]
    [rule] = [c for c in mart["columns"] if c["name"] == "rule"]
    [accepted] = [t["accepted_values"] for t in rule["data_tests"] if isinstance(t, dict)]
    assert sorted(accepted["arguments"]["values"]) == sorted(RULES)
