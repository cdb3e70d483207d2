# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv and install.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
SAMPLE := out/sample

.PHONY: demo test bench lint serve install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/schoolplan demo --out $(SAMPLE)

test: $(STAMP)
	$(PY) -m pytest -q -n 2 -p no:cacheprovider

bench: $(STAMP)
	@# the API load test prefers the compiled load generator `hey` (Debian package hey)
	@command -v hey >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 \
	  && (apt-get install -y -qq hey >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq hey >/dev/null)); } \
	  || echo "bench: 'hey' is not installed; the API load test falls back to a Python client (slower, sharing the cores)"
	$(PY) -m pytest -q -m slow -p no:cacheprovider
	$(PY) -m benchmarks.run_all

lint: $(STAMP)
	$(VENV)/bin/ruff check planner solvers geo api scenarios tests benchmarks
	$(VENV)/bin/ruff format --check planner solvers geo api scenarios tests benchmarks
	$(VENV)/bin/mypy

serve: $(STAMP)
	$(VENV)/bin/schoolplan serve --data-dir out/serve --load-sample

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
