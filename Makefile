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
	$(PY) -m ruff check agent memory consolidation envs tests benchmarks
	$(PY) -m pytest -q

demo: $(STAMP)
	$(VENV)/bin/peam run --config configs/run/demo.yaml --out runs/demo --overwrite --video

lint: $(STAMP)
	$(PY) -m ruff check agent memory consolidation envs tests benchmarks
	$(PY) -m ruff format --check agent memory consolidation envs tests benchmarks

bench: $(STAMP)
	$(PY) benchmarks/runtime_overhead.py
