"""The DuckDB warehouse: raw, quarantine and ops schemas, and idempotent landing."""
