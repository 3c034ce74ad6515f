#!/usr/bin/env bash
# One prepared run on a lent GPU machine (the device tool), sized for its 15 minutes: the CUDA
# tests, then the HTTP benchmark (issue 16's floors, resnet18 and TorchLens included) on CUDA
# and on that machine's CPU (16 cores: the 1/2/4-worker throughput with cores to spare).
#
# The machine's python3 has torch; everything else travels as Python 3.12 wheels in .whl/
# (git-ignored; pass `carry: [".whl"]`). Make them here first:
#   pip download -d .whl --only-binary=:all: --python-version 3.12 \
#       --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --no-deps \
#       fastapi starlette pydantic pydantic-core pydantic-settings python-dotenv uvicorn \
#       httpx httpcore h11 anyio sniffio idna certifi orjson pybase64 pillow \
#       python-multipart prometheus-client safetensors typing-extensions \
#       typing-inspection annotated-types annotated-doc numpy pytest pluggy iniconfig packaging \
#       torchlens==2.36.1 graphviz tqdm torchvision
# (torchvision's wheel must match the machine's torch: check `python3 -c "import torch;
# print(torch.__version__)"` in a first short run.) Results land in $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/layerscope-gpu}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:. PYTHONUNBUFFERED=1 PATH=/tmp/site/bin:$PATH
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  nproc
  python3 -c "import torch, torchvision; print(torch.__version__, torchvision.__version__, torch.cuda.get_device_name(0))"
} > "$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"
timeout 150 python3 -m pytest -q -p no:cacheprovider -m cuda tests > "$OUT/cuda-tests.txt" 2>&1
tail -5 "$OUT/cuda-tests.txt"
timeout 240 python3 -m bench.http_bench --quick --no-peer --device cuda --workers 1,2,4 \
    --client-procs 4 --out "$OUT/bench-cuda.md" > "$OUT/bench-cuda.log" 2>&1
tail -40 "$OUT/bench-cuda.log"
timeout 240 python3 -m bench.http_bench --quick --no-peer --torch-threads 4 --workers 1,2,4 \
    --client-procs 4 --out "$OUT/bench-cpu.md" > "$OUT/bench-cpu.log" 2>&1
tail -40 "$OUT/bench-cpu.log"
