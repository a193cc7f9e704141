# Two commands on a fresh machine: `make demo` and `make test`.  Both create .venv from
# constraints.txt when it is missing or older than the project's requirements.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint bench-generator ui clean-venv dbt-manifest

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tieout needs Python >= 3.11 (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable '.[dev]'
	@touch $(STAMP)

# The dbt manifest Dagster builds the dbt assets from (.tieout/dbt/manifest, gitignored):
# `dbt parse` only when the dbt project changed since the last parse, else a quick check.
dbt-manifest: $(STAMP)
	@$(BIN)/python -m tieout.transform.manifest

demo: $(STAMP) dbt-manifest
	$(BIN)/tieout demo

test: $(STAMP) dbt-manifest
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy tieout seeds

# Dagster UI on the demo company (run `make demo` first); local storage under demo/.tieout.
ui: $(STAMP) dbt-manifest
	mkdir -p demo/.tieout/dagster
	TIEOUT_CONFIG=$(CURDIR)/demo/tieout.toml DAGSTER_HOME=$(CURDIR)/demo/.tieout/dagster \
		$(BIN)/dagster dev -w workspace.yaml

bench-generator: $(STAMP)
	$(BIN)/python benchmarks/bench_generator.py --invoices 1000000

clean-venv:
	rm -rf $(VENV)
