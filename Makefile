# Two commands on a fresh machine: `make demo` and `make test`.  Both create .venv from
# constraints.txt when it is missing or older than the project's requirements.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test lint campaign bench bench-quick bench-generator ui clean-venv dbt-manifest system-deps

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

# Real programs the tests open the close report and the workbook with: Debian's Chromium and
# LibreOffice Calc.  Installed when missing and apt-get is usable (root); otherwise those two
# tests skip and say why.
system-deps:
	@if ! command -v chromium >/dev/null || ! command -v soffice >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing chromium and libreoffice-calc-nogui (browser and spreadsheet tests)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	      chromium libreoffice-calc-nogui >/dev/null; \
	  else echo "chromium or soffice missing and apt-get unusable: those tests will skip"; fi; \
	fi

# Two workers, one test file each (module fixtures such as a built warehouse are shared
# within a file): the suite's dbt builds and Python-bound tests overlap on two cores.
PYTEST_WORKERS ?= 2
test: $(STAMP) dbt-manifest system-deps
	$(BIN)/ruff check .
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

# The reliability campaign (tests/reliability/campaign.py): 200 fault runs, 50 crash points and
# 500 fuzzed inputs against the sandbox, one figures table; non-zero exit on any mismatch.
campaign: $(STAMP) dbt-manifest
	$(BIN)/python -m tests.reliability.campaign --fault-runs 200 --crash-points 50 --fuzz-examples 500

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy tieout seeds

# Dagster UI on the demo company (run `make demo` first); local storage under demo/.tieout.
ui: $(STAMP) dbt-manifest
	mkdir -p demo/.tieout/dagster
	TIEOUT_CONFIG=$(CURDIR)/demo/tieout.toml DAGSTER_HOME=$(CURDIR)/demo/.tieout/dagster \
		$(BIN)/dagster dev -w workspace.yaml

# The benchmark suite (benchmarks/suite.py): every stage and peer at S/M/L, medians of three,
# into benchmarks/results.md and results.json.  bench-quick: the small scale, one repeat.
bench: $(STAMP) dbt-manifest
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable '.[bench]'
	$(BIN)/python benchmarks/suite.py --scales S M L --repeat 3

bench-quick: $(STAMP) dbt-manifest
	$(BIN)/python -m pip install --quiet --constraint constraints.txt --editable '.[bench]'
	$(BIN)/python benchmarks/suite.py --scales S --repeat 1

bench-generator: $(STAMP)
	$(BIN)/python benchmarks/bench_generator.py --invoices 1000000

clean-venv:
	rm -rf $(VENV)
