#!/usr/bin/env bash
# One prepared device run: GPU correctness checks, then GPU benchmarks; everything to $OUT/gpu_notes.txt.
# Needs the wheels of monai 1.6.1 and nibabel in .whl/ (see bench/README.md).
set -o pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
notes=${OUT:-.}/gpu_notes.txt
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 bench/gpu_check.py
  python3 -m pytest -q -p no:cacheprovider tests/test_table1_params.py -k cuda
  python3 bench/bench_model.py --device cuda --shapes 64x64x32 224x192x32 --repeats 5
  python3 bench/bench_augment.py --device cuda --samples 20
  python3 bench/bench_inference.py --device cuda
  python3 bench/bench_train.py --device cuda --steps 5
} 2>&1 | tee "$notes"
