# TinyTorch: set up, test and demo the course on a fresh machine.
#   make demo   install if needed, export every module, train the CNN on handwritten digits
#   make test   install if needed, check generated files, test every module (its slow tests too),
#               the package's docstring examples, and tito
SHELL  := /bin/bash
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
TITO   := $(VENV)/bin/tito
STAMP  := $(VENV)/.installed
# Every optional feature is installed so that every test runs: notebooks, cluster grading, the
# website, and PyTorch (the yardstick of the numerics tests; never a requirement of the package).
EXTRAS := dev,jupyter,cluster,book,bench
# Paths are UTF-8 bytes: a checkout under .../Été/... in an ASCII locale (LC_ALL=C, PYTHONUTF8=0)
# could not import its own editable install (`tito doctor` explains this outside make).
export PYTHONUTF8 := 1

.PHONY: FORCE install test demo lint clean

# A .venv moved, renamed or copied here from another folder (its bin/activate's VIRTUAL_ENV names that
# folder; tito doctor's check_venv_folder owns this rule, said here in shell) runs that folder's Python:
# install makes it anew.
VENV_ELSEWHERE := $(shell [ -f $(VENV)/bin/activate ] && (. $(VENV)/bin/activate && [ ! "$$VIRTUAL_ENV" -ef $(VENV) ] \
                  && printf %s "$${VIRTUAL_ENV%/$(VENV)}"))
VENV_MOVED_NOTE := $(VENV) was made for $(VENV_ELSEWHERE), not this folder
VENV_MOVED_NOTE += (moved, renamed or copied since): made anew here.

install: $(STAMP)

# setuptools says "Editable installation ... be careful with folders ... of the same name" on every
# editable install: true of any checkout, and alarming to students, so not said.
QUIET_EDITABLE = PYTHONWARNINGS='ignore:Editable installation'

# Re-installs only when pyproject.toml changes (or .venv is gone, or was made for another folder).
$(STAMP): pyproject.toml $(if $(VENV_ELSEWHERE),FORCE)
	@bash .ci/system-packages
	$(if $(VENV_ELSEWHERE),$(info $(VENV_MOVED_NOTE))rm -rf $(VENV))
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(QUIET_EDITABLE) $(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

# Each test runs once: `tito test --all` leaves the tests marked slow (PyTorch comparisons) to
# the one pytest run after it, which imports torch once; tests/tito run on every core.
test: $(STAMP)
	$(TITO) export --check
	$(TITO) test --all
	$(PY) -m pytest tests -m slow -q
	$(PY) -m pytest tests/test_package_examples.py tests/test_module_readmes.py tests/package tests/tito -q -n auto --maxprocesses 4 --dist loadfile

demo: $(STAMP)
	$(TITO) export --all
	$(TITO) milestone cnn

lint: $(STAMP)
	$(VENV)/bin/ruff check tito tinytorch tests benchmarks modules/source

clean:
	rm -rf build *.egg-info .pytest_cache .hypothesis .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -print0 | xargs -0 rm -rf
