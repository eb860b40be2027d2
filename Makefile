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

# every benchmark in one run; the output (with date, commit, machine and each one's wall time) is also
# written to $(BENCH_OUT), the run the README's Speed table quotes
BENCH_OUT ?= benchmarks/results.txt
bench: SHELL := /bin/bash
bench: .SHELLFLAGS := -o pipefail -c
bench: $(VENV)/.installed-dev
	@{ echo "# make bench, $$(date -u '+%Y-%m-%d %H:%M UTC'), commit $$(git rev-parse --short HEAD 2>/dev/null || echo '?')$$(git diff --quiet HEAD -- . ':!$(BENCH_OUT)' 2>/dev/null || echo ' (modified)'), $$(nproc) cores, $$(free -g | awk '/^Mem/ {print $$2}') GiB, Python $$($(PY) -c 'import platform; print(platform.python_version())'), load $$(cut -d' ' -f1-3 /proc/loadavg)"; \
	  for b in benchmarks/bench_*.py; do echo "== $$b"; s=$$SECONDS; $(PY) $$b || exit 1; echo "   ($$((SECONDS - s)) s)"; done; } 2>&1 | tee $(BENCH_OUT)

samples: $(VENV)/.installed-dev
	$(PY) data/generate/all.py

clean:
	rm -rf $(VENV) reports build dist .mypy_cache .ruff_cache .pytest_cache .hypothesis
