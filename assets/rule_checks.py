"""One asset check per reconciliation rule on ``marts/fct_exceptions``: a break is a finding.

Each check passes when its rule has no exception in the current run and otherwise fails with
the rule's severity (``tieout.rules``) and the count, the absolute amount in reporting
currency and the material count as metadata, so the UI plots each rule over time.  The checks
never block: exceptions are what the pipeline exists to report, not a reason to stop it.
"""

from collections.abc import Iterator

import dagster as dg
from dagster import AssetCheckExecutionContext

from pipelines.resources import TieoutSettings
from tieout.register import open_register, rule_totals
from tieout.rules import RULES, Severity

from .dbt_translator import model_key

FCT_EXCEPTIONS = model_key("marts", "fct_exceptions")

SEVERITY = {Severity.ERROR: dg.AssetCheckSeverity.ERROR,
            Severity.WARN: dg.AssetCheckSeverity.WARN}

RULE_CHECK_SPECS = [
    dg.AssetCheckSpec(rule.code, asset=FCT_EXCEPTIONS, blocking=False,
                      description=f"{rule.description} ({rule.severity.value}; natural key "
                                  f"{rule.key}).",
                      metadata={"severity": rule.severity.value, "natural_key": rule.key,
                                "systems": rule.pair})
    for rule in RULES.values()
]


@dg.multi_asset_check(specs=RULE_CHECK_SPECS, name="reconciliation_rules", can_subset=True,
                      description="Counts marts.fct_exceptions per rule code.")
def reconciliation_rules(context: AssetCheckExecutionContext,
                         tieout: TieoutSettings) -> Iterator[dg.AssetCheckResult]:
    """Read the exception counts once (read-only), then report every selected rule."""
    cfg = tieout.load()
    con = open_register(cfg.warehouse, cfg.path)
    try:
        totals = rule_totals(con)
    finally:
        con.close()
    for check in context.selected_asset_check_keys:
        rule = RULES[check.name]
        total = totals.get(rule.code)
        count = total.count if total else 0
        yield dg.AssetCheckResult(
            asset_key=FCT_EXCEPTIONS, check_name=rule.code, passed=count == 0,
            severity=SEVERITY[rule.severity],
            metadata={"count": count,
                      f"amount ({cfg.reporting_currency})": str(total.amount if total else 0),
                      "material": total.material if total else 0})
