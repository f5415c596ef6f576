# Two commands for a new user: `make demo` and `make test`. Both create or refresh .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: demo test test-fast bench screenshots pyz lint clean

# Re-installs only when pyproject.toml changed since the last install (idempotent).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

# The demo keeps its state in $XDG_CACHE_HOME/dtle-tui/demo, never in $XDG_STATE_HOME (config/settings.py).
demo: $(STAMP)
	$(BIN)/dtle-tui --demo

# Four workers even on two cores: the Pilot tests mostly wait on their simulators (TEST_WORKERS=0: one
# process, in order). loadgroup keeps the tests on the frozen scenario's fixed ports on one worker (tests/conftest.py).
TEST_WORKERS ?= 4
PYTEST := $(BIN)/python -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadgroup

test: $(STAMP)
	$(PYTEST)

# The fast part alone (no terminal, no subprocess): the core and the simulator.
test-fast: $(STAMP)
	$(PYTEST) -m "unit or sim or core"

bench: $(STAMP)
	$(BIN)/python -m bench

screenshots: $(STAMP)
	$(BIN)/python -m tests.make_screenshots

# Reproducible: the same commit gives the same bytes; prints the sha256 (and writes dist/dtle-tui.pyz.sha256).
pyz: $(STAMP)
	$(BIN)/python tools/build_pyz.py

lint: $(STAMP)
	$(BIN)/ruff check dtle_tui tests bench

clean:
	rm -rf $(VENV) dist build *.egg-info
