"""Reconciliation rule codes: the one vocabulary the generator and the pipeline share.

The generator writes these codes into ``ground_truth.csv`` and the pipeline writes them into
``fct_exceptions.rule``; the end-to-end proof compares the two sets, so a rule is defined here
once and imported by both sides.  ``key`` documents the shape of ``natural_key`` for the rule,
which is the other half of the comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How loud a rule is by default; Dagster asset checks map ERROR to a failed check."""

    ERROR = "error"
    WARN = "warn"


@dataclass(frozen=True)
class Rule:
    """A reconciliation rule as DESIGN §5 lists it."""

    code: str
    description: str
    severity: Severity
    key: str  # natural_key pattern, e.g. "invoice:<billing invoice id>"
    pair: str  # which systems it ties out


_RULES: tuple[Rule, ...] = (
    # Billing <-> ERP
    Rule("INVOICE_MISSING_IN_ERP", "Finalized billing invoice not posted to the ERP after the "
         "grace period", Severity.ERROR, "invoice:<in_id>", "billing-erp"),
    Rule("ERP_INVOICE_NOT_IN_BILLING", "ERP invoice with no billing invoice behind it",
         Severity.ERROR, "erp_transaction:<erp internal id>", "billing-erp"),
    Rule("DUPLICATE_ERP_POSTING", "One billing invoice posted more than once to the ERP",
         Severity.ERROR, "invoice:<in_id>", "billing-erp"),
    Rule("AMOUNT_MISMATCH", "Invoice total differs between billing and ERP beyond tolerance",
         Severity.ERROR, "invoice:<in_id>", "billing-erp"),
    Rule("CURRENCY_MISMATCH", "Invoice posted to the ERP in another currency",
         Severity.ERROR, "invoice:<in_id>", "billing-erp"),
    Rule("CUSTOMER_MISMATCH", "Invoice posted to another ERP customer",
         Severity.ERROR, "invoice:<in_id>", "billing-erp"),
    Rule("ENTITY_MISMATCH", "Invoice posted to another legal entity (subsidiary)",
         Severity.ERROR, "invoice:<in_id>", "billing-erp"),
    Rule("STATUS_MISMATCH", "Status disagrees (void in billing but open in ERP, or paid in "
         "billing but open in ERP)", Severity.ERROR, "invoice:<in_id>", "billing-erp"),
    Rule("AR_INVOICE_MISMATCH", "Open balance of one invoice differs between billing and ERP",
         Severity.WARN, "invoice:<in_id>", "billing-erp"),
    Rule("AR_CUSTOMER_MISMATCH", "Open receivable of a customer differs between billing and "
         "ERP", Severity.WARN, "customer:<cus_id>|<CUR>", "billing-erp"),
    Rule("CREDIT_NOTE_MISSING_IN_ERP", "Billing credit note not posted to the ERP after the "
         "grace period", Severity.ERROR, "credit_note:<cn_id>", "billing-erp"),
    Rule("PERIOD_MISMATCH", "Invoice posted to another accounting period than its finalization "
         "date falls in (accounting time zone)", Severity.ERROR, "invoice:<in_id>",
         "billing-erp"),
    Rule("CLOSED_PERIOD_POSTING", "Invoice posted into an accounting period after that period "
         "was closed", Severity.ERROR, "invoice:<in_id>", "billing-erp"),
    # Billing <-> revrec
    Rule("SCHEDULE_MISSING", "Recognisable invoice line with no revenue schedule after the "
         "grace period", Severity.ERROR, "invoice_line:<il_id>", "billing-revrec"),
    Rule("SCHEDULE_TOTAL_MISMATCH", "Revenue schedule total differs from the invoice line "
         "amount net of credits", Severity.ERROR, "invoice_line:<il_id>", "billing-revrec"),
    Rule("SCHEDULE_PERIOD_MISMATCH", "Revenue schedule service dates differ from the invoice "
         "line's service period", Severity.WARN, "invoice_line:<il_id>", "billing-revrec"),
    Rule("ORPHAN_SCHEDULE", "Revenue schedule whose invoice line does not exist in billing",
         Severity.ERROR, "schedule:<rs_id>", "billing-revrec"),
    Rule("CREDIT_NOT_REFLECTED", "Credit note not reflected in the revenue schedule of the "
         "credited line", Severity.ERROR, "credit_note:<cn_id>", "billing-revrec"),
    # Revrec <-> expected <-> ERP GL
    Rule("REVENUE_VS_EXPECTED", "Revenue recognised in a closed period differs from the "
         "independently expected amount", Severity.ERROR, "invoice_line:<il_id>|<YYYY-MM>",
         "revrec-expected"),
    Rule("ROLLFORWARD_BREAK", "Deferred-revenue movement in revrec differs from the ERP "
         "deferred-revenue GL movement for a closed period", Severity.ERROR,
         "rollforward:<ENTITY>|<CUR>|<YYYY-MM>", "revrec-erp"),
    # Subscriptions and usage
    Rule("BILLING_LEAKAGE", "Active subscription with no invoice for a billed period",
         Severity.ERROR, "subscription:<sub_id>|<YYYY-MM-DD cycle start>", "billing"),
    Rule("CANCELLED_STILL_INVOICED", "Invoice for a service period after the subscription "
         "ended", Severity.ERROR, "invoice:<in_id>", "billing"),
    Rule("USAGE_NOT_INVOICED", "Rated usage of a closed billing cycle not on its invoice",
         Severity.ERROR, "subscription_item:<si_id>|<YYYY-MM-DD cycle start>", "usage-billing"),
    Rule("USAGE_JOURNAL_MISMATCH", "Usage journal totals differ from ERP GL usage revenue",
         Severity.ERROR, "usage_revenue:<ENTITY>|<CUR>|<YYYY-MM>", "usage-erp"),
    # Support <-> billing (the support platform's entitlements and service credits)
    Rule("SUPPORT_OVER_SERVICING", "Active support entitlement with no active paid "
         "subscription of that tier, past its contract end, or for no billing customer",
         Severity.WARN, "organization:<support organization id>", "support-billing"),
    Rule("SUPPORT_UNDER_SERVICING", "Customer pays for premium support but has no active paid "
         "entitlement", Severity.ERROR, "customer:<cus_id>", "support-billing"),
    Rule("SUPPORT_ENTITLEMENT_MISMATCH", "Entitlement tier or covered products differ from "
         "what the customer's subscription pays for", Severity.WARN,
         "organization:<support organization id>", "support-billing"),
    Rule("SUPPORT_PAST_DUE_ENTITLEMENT", "Paid entitlement kept while the customer's invoices "
         "are past due beyond the configured days", Severity.WARN,
         "organization:<support organization id>", "support-billing"),
    Rule("SERVICE_CREDIT_NOT_BILLED", "Service credit promised in support with no billing "
         "credit note, or a credit note of another amount, after the grace period",
         Severity.ERROR, "service_credit:<support credit id>", "support-billing"),
    # Tax
    Rule("TAX_MISMATCH", "Invoice tax differs from the ERP tax GL lines of that invoice",
         Severity.ERROR, "invoice:<in_id>", "billing-erp"),
    # Restatements
    Rule("RESTATEMENT", "Record in a closed accounting period changed after the period was "
         "closed", Severity.ERROR, "erp_transaction:<erp internal id>", "erp"),
)

RULES: dict[str, Rule] = {rule.code: rule for rule in _RULES}

# Negative cases the generator plants to prove the pipeline stays quiet: they are written to
# ground_truth.csv with expected_reported = false and must never appear in fct_exceptions.
QUIET_CASES: dict[str, str] = {
    "INVOICE_IN_TRANSIT": "invoice finalized inside the grace period, not yet in the ERP",
    "SCHEDULE_IN_TRANSIT": "invoice line inside the grace period, no schedule yet",
    "AMOUNT_WITHIN_TOLERANCE": "ERP total differs by one minor unit, inside the tolerance",
    "SERVICE_CREDIT_IN_TRANSIT": "service credit promised inside its grace period, no credit "
    "note yet",
}


def rule(code: str) -> Rule:
    """Look a rule up by code, failing loudly on a typo rather than returning None."""
    try:
        return RULES[code]
    except KeyError:
        raise KeyError(f"unknown rule code {code!r}; known: {', '.join(sorted(RULES))}") from None
