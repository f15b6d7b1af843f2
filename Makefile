PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast install bench bench-mcmc sbc figures clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m credo.demo

# Two workers: the suite is dominated by JAX compilation, which is single-threaded.
test: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q -n 2 --durations=15

# Daily work: the suite without the tests marked slow (under 5 minutes on 2 cores).
test-fast: $(STAMP)
	$(BIN)/lint-imports --no-cache
	$(BIN)/python -m pytest -q -n 2 -m "not slow" --durations=10

bench: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/discrete.py
	$(BIN)/python bench/mcmc.py

bench-mcmc: $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python bench/mcmc.py

# Simulation-based calibration of NUTS, full size (1000 simulations; tens of minutes).
sbc: $(STAMP)
	$(BIN)/python -m credo.mcmc.sbc --simulations 1000

figures: $(STAMP)
	$(BIN)/python docs/scripts/make_figures.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache
