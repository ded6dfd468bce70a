# `make test` and `make demo` each work on a fresh clone: they create .venv if missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo lint bench

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# Pinned first so the CPU wheel on disk is used; a workstation gets the CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m ruff check agent memory consolidation envs tests benchmarks scripts
	$(PY) -m pytest -q

# Slow-tier episodes -> consolidation (trunk + PEAM's adapters) -> every agent compared.
demo: $(STAMP)
	$(VENV)/bin/peam run --config configs/run/demo.yaml --out runs/demo-slow --overwrite --quiet
	$(VENV)/bin/peam consolidate --run runs/demo-slow --trunk-epochs 4 --updates 60 --alpha 0.01
	$(VENV)/bin/peam compare --config configs/compare/demo.yaml --out runs/demo --overwrite

lint: $(STAMP)
	$(PY) -m ruff check agent memory consolidation envs tests benchmarks scripts
	$(PY) -m ruff format --check agent memory consolidation envs tests benchmarks scripts

bench: $(STAMP)
	$(PY) benchmarks/runtime_overhead.py
