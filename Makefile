# perfnb: two commands for a newcomer.
#   make demo   creates .venv, installs perfnb, runs every notebook on data/samples, writes HTML reports
#   make test   installs perfnb with the dev extras, then lint, type checks and the whole test suite
# Other targets: make lab (JupyterLab on notebooks/), make check (lint + types), make fmt, make bench,
# make samples (regenerate data/samples with the real tools), make clean.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
PY      = $(BIN)/python
REPORTS ?= reports/demo
export JUPYTER_PLATFORM_DIRS = 1
export MPLBACKEND = Agg

.PHONY: demo test check fmt lab bench samples clean venv dev

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# The stamp files record what was installed; they are rebuilt when pyproject.toml changes.
$(VENV)/.installed: $(BIN)/activate pyproject.toml
	$(PY) -m pip install --quiet -e .
	@touch $@

$(VENV)/.installed-dev: $(BIN)/activate pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev,dask]'
	@touch $@ $(VENV)/.installed

venv: $(VENV)/.installed
dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed
	$(BIN)/perfnb demo -o $(REPORTS)

check: $(VENV)/.installed-dev
	$(BIN)/ruff check perfnb tests benchmarks notebooks data
	# notebooks are linted, not reformatted: the formatter would wrap the parameters cell's help comments
	$(BIN)/ruff format --check perfnb tests benchmarks data
	$(BIN)/mypy

# IPython tests touch global IPython state, so they run in a pytest process of their own.
test: check
	$(BIN)/pytest -m ipython $(PYTEST_ARGS)
	$(BIN)/pytest -m "not ipython" $(PYTEST_ARGS)

fmt: $(VENV)/.installed-dev
	$(BIN)/ruff format perfnb tests benchmarks data
	$(BIN)/ruff check --fix perfnb tests benchmarks notebooks data
	$(BIN)/nbstripout notebooks/*.ipynb

# jupyter lab refuses to start as root (containers, CI images) without --allow-root
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

lab: $(VENV)/.installed
	$(BIN)/jupyter lab --notebook-dir=notebooks $(ALLOW_ROOT)

bench: $(VENV)/.installed-dev
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

samples: $(VENV)/.installed-dev
	$(PY) data/generate/all.py

clean:
	rm -rf $(VENV) reports build dist .mypy_cache .ruff_cache .pytest_cache .hypothesis
