# Two commands for students:  make lab   (install + start JupyterLab)
#                             make test  (install test extras + run every test)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8888

.PHONY: lab test present notebooks clean-cache

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-install whenever pyproject.toml changes.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $(VENV)/.installed $@

# JupyterLab refuses to run as root unless told; containers and CI machines often are root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(VENV)/.installed
	$(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) --ServerApp.root_dir=notebooks $(ALLOW_ROOT)

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

# Projector settings: JupyterLab's own settings overrides (presenter/overrides.json: Simple Interface,
# no status bar, no pop-ups; F8 toggles presentation mode), large fonts (theme overrides,
# which JupyterLab reads from user settings only: presenter/user-settings/, copied) and the
# larger figure style (COURSE_PRESENTER=1 makes course_utils.style.apply() use presenter()).
# Settings and workspaces live in build/presenter/, so the user's own JupyterLab config is untouched.
PRESENTER_STATE := build/presenter
present: $(VENV)/.installed
	mkdir -p $(PRESENTER_STATE)/user-settings $(PRESENTER_STATE)/workspaces
	cp -R presenter/user-settings/. $(PRESENTER_STATE)/user-settings/
	COURSE_PRESENTER=1 \
	JUPYTERLAB_SETTINGS_DIR=$(CURDIR)/$(PRESENTER_STATE)/user-settings \
	JUPYTERLAB_WORKSPACES_DIR=$(CURDIR)/$(PRESENTER_STATE)/workspaces \
	$(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) --ServerApp.root_dir=notebooks $(ALLOW_ROOT) \
		--LabApp.app_settings_dir=$(CURDIR)/presenter

# Retrain every committed run from scratch and re-execute every notebook in place (slow: ~minutes per
# notebook on 2 CPU cores; notebook 02 makes baseline_standard). COURSE_RETRAIN=1 switches each notebook's
# "Train live" toggle on (and makes train(..., retrain=False) train anyway); COURSE_RESULTS=committed stores
# the runs in data/results/ instead of the git-ignored data/local-results/ that live retrains use.
notebooks: $(VENV)/.installed-test
	for nb in notebooks/*.ipynb; do \
		COURSE_RETRAIN=1 COURSE_RESULTS=committed COURSE_COMMAND="make notebooks ($$nb)" $(BIN)/jupyter nbconvert --to notebook --execute \
			--inplace --ExecutePreprocessor.timeout=1200 "$$nb" || exit 1; \
	done
