#!/usr/bin/env bash
# One prepared device run (about 9 minutes on an H200): GPU correctness checks, a profile of the
# model at 224x192x32, then the benchmarks with the speed options; everything to
# $OUT/gpu_notes.txt. Needs the wheels of monai 1.6.1 and nibabel in .whl/ (bench/README.md):
#   run(command="bash bench/gpu_run.sh", carry=[".whl"], timeout_s=600)
set -o pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
notes=${OUT:-.}/gpu_notes.txt
{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  timeout 60 python3 bench/gpu_check.py
  timeout 60 python3 bench/profile_model.py --device cuda --shape 224x192x32
  timeout 200 python3 bench/bench_model.py --device cuda --shapes 224x192x32 --repeats 10 \
    --impls monai ours ours-cl ours-compile ours-cl-compile
  timeout 140 python3 bench/bench_train.py --device cuda --sizes paper --steps 20 \
    --options none channels_last compile
  timeout 60 python3 bench/bench_predict.py --device cuda
} 2>&1 | tee "$notes"
