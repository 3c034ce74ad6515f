#!/usr/bin/env bash
# One prepared run on a lent GPU machine (the device tool): the CUDA tests, then the HTTP
# benchmark on CUDA and on that machine's CPU. Its python3 has torch; the other packages travel
# as Python 3.12 wheels in .whl/ (see README, "GPU figures"). Results land in $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/layerscope-gpu}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:. PYTHONUNBUFFERED=1
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import torch, torchvision; print(torch.__version__, torchvision.__version__, torch.cuda.get_device_name(0))"
} > "$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"
timeout 170 python3 -m pytest -q -p no:cacheprovider -m cuda tests > "$OUT/cuda-tests.txt" 2>&1
tail -5 "$OUT/cuda-tests.txt"
timeout 150 python3 -m bench.http_bench --quick --device cuda --out "$OUT/bench-cuda.md" \
    > "$OUT/bench-cuda.log" 2>&1
tail -14 "$OUT/bench-cuda.log"
timeout 150 python3 -m bench.http_bench --quick --out "$OUT/bench-cpu.md" > "$OUT/bench-cpu.log" 2>&1
tail -14 "$OUT/bench-cpu.log"
