# The README's two commands are `make demo` and `make test`; both create .venv when it is missing.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck pytest format bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@PY=$$(bash scripts/find_python.sh) || exit 1; \
	  echo "Using $$PY"; \
	  [ -x $(BIN)/python ] || $$PY -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23"
	$(BIN)/python -m pip install --quiet -e ".[dev,multitrial,export]"
# nnabla-converter requires TensorFlow and its ONNX tools, which its NNP-to-ONNX exporter
# never imports; what it does import (onnx, ply, PyYAML) comes with the export extra and nnabla.
	$(BIN)/python -m pip install --quiet --no-deps nnabla-converter==1.39.0
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python examples/demo.py

lint: $(STAMP)
	$(BIN)/ruff format --check nnabla_nas tests examples benchmarks
	$(BIN)/ruff check nnabla_nas tests examples benchmarks
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

# Two worker processes: nnabla's CPU kernels are single-threaded, so the second core pays.
pytest: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

test: lint typecheck pytest

format: $(STAMP)
	$(BIN)/ruff format nnabla_nas tests examples benchmarks
	$(BIN)/ruff check --fix nnabla_nas tests examples benchmarks

bench: $(STAMP)
	$(BIN)/python benchmarks/darts_step.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
