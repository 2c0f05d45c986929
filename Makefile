# Two commands for students:  make lab   (install + start JupyterLab)
#                             make test  (install test extras + run every test)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8888

.PHONY: lab update test present notebooks results sweep reference-results sal-controls squeezenet-results \
	decomposition-results

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

# Students work in my-notebooks/ (git-ignored), never in the tracked notebooks/, so `git pull` cannot touch
# their work: each start copies the notebooks they do not have yet and updates the copies they never changed;
# a changed copy whose course version changed is only reported (course_utils/workcopy.py).
STUDENT_COPY ?= my-notebooks
lab: $(VENV)/.installed
	$(BIN)/python -m course_utils.workcopy sync --to $(STUDENT_COPY)
	$(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) --ServerApp.root_dir=$(STUDENT_COPY) $(ALLOW_ROOT)

# Take the course version of one notebook into my-notebooks/ (yours is kept as NN_name-mine-<date>.ipynb).
update: $(VENV)/.installed
	@test -n "$(NB)" || { echo "make update: say which notebook, e.g. make update NB=02"; exit 1; }
	$(BIN)/python -m course_utils.workcopy update "$(NB)" --to $(STUDENT_COPY)

# Then the tests marked `precision` (tests/test_precision.py, test_train.py, test_runs.py, test_sal_controls.py;
# not the slow ones, which pin fp32 or only measure) once more, under the CPU path this machine does not take
# by itself: bf16 where it has no bf16 units (emulated: slower, same checks), fp32 where it has them. So one
# machine checks both paths; COURSE_PRECISION=fp32|bf16 make test chooses the first run's path.
test: $(VENV)/.installed-test
	$(BIN)/python -m pytest
	@other=$$($(BIN)/python -m course_utils.precision other) && \
		echo "make test: the precision tests again, under COURSE_PRECISION=$$other" && \
		COURSE_PRECISION=$$other $(BIN)/python -m pytest -q -m "precision and not slow" tests

# Projector settings: JupyterLab's own settings overrides (presenter/overrides.json: Simple Interface,
# no status bar, no pop-ups), large fonts (theme overrides, which JupyterLab reads from user settings
# only: presenter/user-settings/, copied, with the F8 shortcut for presentation mode), CSS that makes
# presentation mode larger still, makes widget text grow with it and widens the execution counts
# (presenter/custom/custom.css, read from the config folder's custom/ with --LabApp.custom_css=True) and the
# larger figure style (COURSE_PRESENTER=1 makes course_utils.style.apply() use presenter()). Config, settings,
# workspaces and runtime files live in build/presenter/, so the user's own JupyterLab config is neither read
# nor changed. The notebooks are served from a fresh git-ignored copy, build/presenter/notebooks/, made at
# every start (the previous one is kept as notebooks.previous/): autosave, Ctrl+S and live runs never write
# into notebooks/. The workspace is reset at every start to the first notebook alone (no file browser). A
# fresh cookie secret at every start logs out any browser tab left open from an earlier server on the same
# port (a student's `make lab` tab would otherwise reconnect and write into this workspace). A busy port is
# refused, not silently replaced by the next free one. PRESENT_OPTS: more options for jupyter lab.
PRESENTER_STATE ?= build/presenter
PRESENTER_DIR := $(abspath $(PRESENTER_STATE))
PRESENT_OPTS ?=
present: $(VENV)/.installed
	@$(BIN)/python -c "import socket, sys; s = socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', $(PORT))) == 0)" || \
		{ echo "make present: port $(PORT) is busy (a 'make lab' still running?). Stop that server and close its" \
		       "browser tabs, or choose another port: make present PORT=8890"; exit 1; }
	mkdir -p $(PRESENTER_DIR)/user-settings $(PRESENTER_DIR)/workspaces $(PRESENTER_DIR)/config/custom \
		$(PRESENTER_DIR)/runtime
	cp -R presenter/user-settings/. $(PRESENTER_DIR)/user-settings/
	cp presenter/custom/custom.css $(PRESENTER_DIR)/config/custom/custom.css
	rm -f $(PRESENTER_DIR)/runtime/jupyter_cookie_secret
	$(BIN)/python -m course_utils.workcopy present --to $(PRESENTER_DIR)/notebooks \
		--workspace $(PRESENTER_DIR)/first-notebook.jupyterlab-workspace
	JUPYTERLAB_WORKSPACES_DIR=$(PRESENTER_DIR)/workspaces $(BIN)/jupyter lab workspaces import \
		$(PRESENTER_DIR)/first-notebook.jupyterlab-workspace > /dev/null
	COURSE_PRESENTER=1 \
	JUPYTER_CONFIG_DIR=$(PRESENTER_DIR)/config \
	JUPYTER_RUNTIME_DIR=$(PRESENTER_DIR)/runtime \
	JUPYTERLAB_SETTINGS_DIR=$(PRESENTER_DIR)/user-settings \
	JUPYTERLAB_WORKSPACES_DIR=$(PRESENTER_DIR)/workspaces \
	$(BIN)/jupyter lab --ip=127.0.0.1 --port=$(PORT) --ServerApp.port_retries=0 \
		--ServerApp.root_dir=$(PRESENTER_DIR)/notebooks $(ALLOW_ROOT) \
		--LabApp.app_settings_dir=$(CURDIR)/presenter --LabApp.custom_css=True $(PRESENT_OPTS)

# Re-execute every notebook in place. Notebooks only read the committed runs (course_utils.experiments): a
# missing or stale run stops the notebook with the command that makes it. Live retrains from a notebook go to
# the git-ignored data/local-results/.
notebooks: $(VENV)/.installed-test
	for nb in notebooks/*.ipynb; do \
		COURSE_PRECISION=fp32 $(BIN)/jupyter nbconvert --to notebook \
			--execute --inplace --ExecutePreprocessor.timeout=1200 "$$nb" || exit 1; \
	done

# Every committed run, then every notebook: hours on 2 CPU cores (benchmarks/README.md has the times). Each
# target is one family of course_utils.experiments.catalog, made by benchmarks/train_runs.py (float32, one
# thread per run, JOBS runs at a time); runs already stored with the same key are loaded, not retrained. The fifth
# family, reference-results, needs the full CIFAR-10 copy (DATA), which is not shipped: make it on its own.
results: sweep sal-controls squeezenet-results decomposition-results
	$(MAKE) notebooks

JOBS ?= 2
DATA ?= ../shared/data/cifar10-jpeg.npz
# Every lab operator at its three widths, three seeds, on the bundled 5,000 images (notebooks 02-07).
sweep: $(VENV)/.installed
	$(BIN)/python benchmarks/train_runs.py lab --jobs $(JOBS)

# Every lab operator at matched MACs (catalog.REFERENCE_WIDTHS), 2 epochs on all 50,000 training images (the lab's
# number of steps; DATA: the full copy, see data/README.md); three seeds for the standard and depthwise-separable
# nets. Committed; about an hour with JOBS=2, nearly all of it SAL's run (benchmarks/README.md).
reference-results: $(VENV)/.installed
	$(BIN)/python benchmarks/train_runs.py reference --data $(DATA) --jobs $(JOBS)

# Notebook 06's controls for SAL (frozen random attention, shared SAL, low initial temperature), three seeds.
sal-controls: $(VENV)/.installed
	$(BIN)/python benchmarks/train_runs.py sal_controls --jobs $(JOBS)

# Notebook 03's SqueezeNet-CIFAR (BatchNorm after conv1 and every Fire), three seeds.
squeezenet-results: $(VENV)/.installed
	$(BIN)/python benchmarks/train_runs.py squeezenet --jobs $(JOBS)

# Notebook 02's standard network (weights kept) and its conversion to (3,1)+(1,3) pairs, fine-tuned, three seeds.
decomposition-results: $(VENV)/.installed
	$(BIN)/python benchmarks/train_runs.py decomposition --jobs $(JOBS)
