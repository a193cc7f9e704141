"""Raw billing assets (Stripe-shaped): customers, subscriptions, invoices, credit notes."""

from .raw_sources import raw_source_assets

extract_billing = raw_source_assets(
    "billing", "Billing platform records (customers, subscriptions, invoices with lines, credit "
               "notes, catalogue), landed as integer minor units through the pandera gate.")
