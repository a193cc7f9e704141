"""Data quality gate between extraction and landing: pandera models of the raw contract
tables (``checks.schemas``), strict loose-value parsers (``checks.parse``) and the gate that
splits a batch into clean rows and quarantined rows (``checks.gate``)."""
