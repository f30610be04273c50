# il2sim: two commands do all the set-up.
#   make run   -> create .venv if missing, install, run the main job (il2sim reproduce)
#   make test  -> create .venv if missing, install, run ruff, mypy and pytest
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.il2sim-installed

.PHONY: run test install lint typecheck pytest bench clean services fuzz

# Services the serve tests need (issue 15): a private PostgreSQL server on loopback and Debian's
# Chromium.  Installed with apt-get when missing and we are root (CI); otherwise those tests
# skip with a printed reason (they must run in CI: the tests fail there if a service is absent).
PG_PORT ?= 55432
PG_DIR ?= /tmp/il2sim-pgtest-$(PG_PORT)
IL2SIM_TEST_PG ?= postgresql://postgres@127.0.0.1:$(PG_PORT)/postgres
export IL2SIM_TEST_PG

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/il2sim reproduce

test: $(STAMP) lint typecheck services pytest

services:
	@bash tests/serve/services.sh "$(PG_PORT)" "$(PG_DIR)"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -q -n 2

# The fuzzed CLI for a long run (issue 16): every command, FUZZ_MINUTES minutes, FUZZ_SEED.
FUZZ_MINUTES ?= 30
FUZZ_SEED ?= 20261201
fuzz: $(STAMP)
	nice -n 10 $(BIN)/python tests/fuzz_cli.py --minutes $(FUZZ_MINUTES) --seed $(FUZZ_SEED)

bench: $(STAMP)
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
