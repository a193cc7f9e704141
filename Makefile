# Two commands on a fresh machine: `make demo` and `make test`.  Both create .venv from
# constraints.txt when it is missing or older than the project's requirements.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint bench-generator ui clean-venv

$(STAMP): pyproject.toml constraints.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tieout needs Python >= 3.11 (set PYTHON=...)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable '.[dev]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/tieout demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy tieout seeds

# Dagster UI on the demo company (run `make demo` first); local storage under demo/.tieout.
ui: $(STAMP)
	mkdir -p demo/.tieout/dagster
	TIEOUT_CONFIG=$(CURDIR)/demo/tieout.toml DAGSTER_HOME=$(CURDIR)/demo/.tieout/dagster \
		$(BIN)/dagster dev -w workspace.yaml

bench-generator: $(STAMP)
	$(BIN)/python benchmarks/bench_generator.py --invoices 1000000

clean-venv:
	rm -rf $(VENV)
