# Two commands on a fresh machine (only python3 and pip needed):
#   make run    -- the main job
#   make test   -- the test suite
#   make docs   -- the documentation site (docs/_build/html)
# Both create .venv and install simglass with its test extras on first use.

VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test docs install clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/simglass validate --quick

docs: $(STAMP)
	$(VENV)/bin/sphinx-build -W --keep-going -q -b html docs docs/_build/html
	@echo "docs/_build/html/index.html"

test: $(STAMP)
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) results
