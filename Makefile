# wag: two commands on a fresh clone —  `make reproduce`  and  `make test`  (each sets up what it needs).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.wag-installed
PROFILE ?= default

# The paper's released files and the NeglectedTails estimates: a sibling ../shared folder when present
# (else the profile's path, $WAG_PAPER_ARTIFACTS / $WAG_NEGLECTED_TAILS, the user cache or a pinned download).
ifneq ($(wildcard ../shared/paper-artifacts),)
export WAG_PAPER_ARTIFACTS ?= $(abspath ../shared/paper-artifacts)
endif
ifneq ($(wildcard ../shared/neglected-tails-counts),)
export WAG_NEGLECTED_TAILS ?= $(abspath ../shared/neglected-tails-counts)
endif
export OMP_WAIT_POLICY ?= PASSIVE
APT := $(if $(filter 0,$(shell id -u)),,sudo) env DEBIAN_FRONTEND=noninteractive apt-get

.PHONY: setup git-filter reproduce test lint format lab browser bench clean-cache

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -r requirements-dev.txt
	$(PY) -m pip install --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name wag --display-name "Python (wag)"
	touch $(STAMP)

setup: $(STAMP)  ## create .venv with the pinned packages and the "wag" Jupyter kernel; install the notebook git filter
	@$(MAKE) --no-print-directory git-filter

# nbstripout as a git filter (.gitattributes names it): outputs, execution counts and run metadata are
# stripped from notebooks when they are staged; cell ids (--keep-id) and tags are kept. Only in a git checkout.
NBSTRIP_EXTRA := metadata.papermill cell.metadata.papermill metadata.widgets metadata.language_info.version \
	metadata.language_info.codemirror_mode metadata.language_info.file_extension metadata.language_info.mimetype \
	metadata.language_info.nbconvert_exporter metadata.language_info.pygments_lexer
git-filter:  ## install the nbstripout git filter into .git/config (keeps cell ids and tags)
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  $(VENV)/bin/nbstripout --install --attributes .gitattributes && \
	  git config filter.nbstripout.clean '"$(abspath $(PY))" -m nbstripout --keep-id' && \
	  git config diff.ipynb.textconv '"$(abspath $(PY))" -m nbstripout --keep-id -t' && \
	  git config filter.nbstripout.extrakeys '$(NBSTRIP_EXTRA)' && \
	  echo "nbstripout git filter installed: notebooks are staged without outputs (cell ids and tags kept)"; \
	else echo "not a git checkout: nbstripout git filter not installed"; fi

reproduce: setup  ## run every notebook on params/$(PROFILE).yaml → figures/, runs/$(PROFILE)/ (one per core at once)
	$(VENV)/bin/wag reproduce --profile $(PROFILE)

# The unit tests run on TEST_JOBS pytest-xdist workers (auto: one per core; --dist loadgroup keeps each test file on
# one worker, tests/conftest.py: xdist_groups); the notebooks then run in one process (nbval), each in its own kernel
# in cell order: spread over xdist workers their cells lost their kernel between batches. TEST_JOBS=0: one process.
TEST_JOBS ?= auto
test: setup lint  ## ruff, then the unit tests (TEST_JOBS at once) + every notebook on its fast `ci` defaults (nbval)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest tests -q -n $(TEST_JOBS) --dist loadgroup
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 $(PY) -m pytest --nbval-lax notebooks -q -p no:xdist

lint: setup  ## ruff lint + format check (settings in pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup  ## ruff: apply the formatter and the safe lint fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

lab: setup  ## JupyterLab on the project kernel
	$(VENV)/bin/jupyter lab notebooks

browser:  ## Debian's headless Chromium + chromedriver for tests/test_browser.py (JupyterLab and figures, offline)
	$(APT) update -q
	$(APT) install -y -q chromium chromium-driver

bench: setup  ## print the benchmarks (numbers beside their baselines; installs their baselines first)
	$(PY) -m pip install -q -r requirements-bench.txt
	for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean-cache:
	rm -rf .cache/wag runs
