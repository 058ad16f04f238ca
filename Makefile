# Two commands do all the set-up on a fresh Debian machine with Python 3.11:
#   make serve   build .venv and serve the casebook with Voila on 127.0.0.1:$(PORT)
#                (instructors' notebooks apart, on $(PORT)+1; settings in casebook/serve/config/voila.py)
#   make test    build .venv, install system packages, run every test
VENV   := .venv
PY     := $(VENV)/bin/python
PORT   ?= 8866

.PHONY: setup system-deps serve test lint validate notebooks bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed

# Debian's Chromium and PostgreSQL, and axe-core from npm: only what is missing is installed.
system-deps:
	bash .ci/system-deps

validate: setup
	$(PY) -m casebook validate

lint: setup
	$(PY) -m ruff check casebook tests benchmarks conftest.py
	$(VENV)/bin/lint-imports

# Learners on 127.0.0.1:$(PORT), instructors on $(PORT)+1; Ctrl-C stops both.
serve: setup
	$(PY) -m casebook serve --port=$(PORT)

# Voila against a static HTML export in Chromium; prints medians (see benchmarks/serving.py).
# Then a class of $(LEARNERS) arriving at a live session, protocol-level, beside plain Voila
# (see benchmarks/class_simulation.py): several minutes on 2 cores.
LEARNERS ?= 60
bench: setup system-deps
	$(PY) benchmarks/serving.py
	$(PY) benchmarks/class_simulation.py --learners=$(LEARNERS)

# Two workers; a test file (and a notebook's cells) stays in one, with the servers it starts.
# Every run gets a scratch database (conftest.py): data/ is never written.
WORKERS ?= 2
test: setup system-deps lint validate
	$(PY) -m pytest -n $(WORKERS) --dist loadfile --nbval-lax tests notebooks

clean:
	rm -rf $(VENV) tests/browser/node_modules benchmarks/node_modules
