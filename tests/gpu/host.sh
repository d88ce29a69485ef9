#!/usr/bin/env bash
# The GPU tier on a host without internet whose Python already has torch, transformers, accelerate and
# peft (tests/gpu/host-packages.txt): install the rest from a lean wheelhouse, then run the tier.
#
# run: make wheelhouse PY=3.12 PLATFORM=manylinux_2_28_x86_64 EXTRAS=gpu,test LEAN=1 \
#          HAVE=tests/gpu/host-packages.txt OUT=wheelhouse-gpu    (here; then, on the GPU host:)
#      bash tests/gpu/host.sh wheelhouse-gpu [REPORT_DIR]
#
# The wheels go to a folder of their own on PYTHONPATH (the host's packages stay as they are); mixft
# imports from this checkout through a link named mixft. The report is REPORT_DIR/gpu-report.json
# (default: $OUT, else /tmp).
set -euo pipefail
wheels=${1:?usage: tests/gpu/host.sh WHEELHOUSE [REPORT_DIR]}
report=${2:-${OUT:-/tmp}}
python=${PYTHON:-python3}
work=$(mktemp -d /tmp/mixft-gpu.XXXXXX)
# every wheel but mixft's own: the code under test is this checkout
mapfile -t deps < <(ls "$wheels"/*.whl | grep -v '/mixft-[0-9]')
"$python" -m pip install -q --no-index --no-deps --target "$work/site" "${deps[@]}"
ln -s "$PWD" "$work/mixft"
export PYTHONPATH="$work:$work/site${PYTHONPATH:+:$PYTHONPATH}"
export PATH="$work/site/bin:$PATH" MIXFT_GPU_REPORT="$report/gpu-report.json"
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 WANDB_MODE=offline
"$python" -m pytest -p no:cacheprovider -m gpu tests/gpu -s -rs -q
