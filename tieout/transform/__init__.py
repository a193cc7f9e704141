"""Everything between the raw schemas and the marts: dbt invocation settings."""
