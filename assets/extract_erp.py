"""Raw ERP assets (NetSuite SuiteQL tables): transactions, GL lines, customers, periods."""

from .raw_sources import raw_source_assets

extract_erp = raw_source_assets(
    "erp", "ERP books read with SuiteQL (transaction, transactionline, customer, subsidiary, "
           "accountingperiod, account, currency), paged by key and landed through the gate.")
