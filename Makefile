# Two commands on a fresh machine (only python3 and pip needed):
#   make run    -- the main job
#   make test   -- the test suite
# Both create .venv and install simglass with its test extras on first use.

VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: run test install clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(VENV)/bin/simglass validate --quick

test: $(STAMP)
	$(PY) -m pytest -q

clean:
	rm -rf $(VENV) results
