"""Usage journal postings (DESIGN §7): plan ledger versions from rated usage, post each once."""
