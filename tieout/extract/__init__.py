"""Extraction: connectors and file readers yield loose batches; the gate types them; landing
upserts them into the raw schemas.  See ``batch.Batch`` for the contract between the parts."""
