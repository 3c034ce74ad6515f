#!/usr/bin/env bash
# One prepared run on a lent GPU machine (the device tool), sized for its 15 minutes of device
# time, start-up included: the CUDA tests, then the HTTP benchmark (issue 16's floors, resnet18
# and TorchLens included) on CUDA with 1, 2 and 4 workers and the load from 4 client processes
# (16 cores: throughput with cores to spare).
#
# That machine's python3 (3.12) has torch, torchvision, numpy, matplotlib, pillow, pytest,
# safetensors, prometheus-client and httpx; the rest travels as Python 3.12 wheels in .whl/
# (git-ignored; pass `carry: [".whl"]`, about 12 MiB). Make them here first:
#   pip download -d .whl --only-binary=:all: --python-version 3.12 --implementation cp \
#       --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 \
#       --platform manylinux_2_28_x86_64 --no-deps \
#       fastapi starlette pydantic pydantic-core pydantic-settings python-dotenv uvicorn \
#       fastapi-offline orjson pybase64 python-multipart typing-extensions typing-inspection \
#       annotated-types annotated-doc anyio sniffio h11 httpcore httpx httpx2 httpcore2 \
#       truststore idna pytest pluggy iniconfig packaging prometheus-client captum \
#       torchlens==2.36.1 graphviz
# Only the test modules holding CUDA tests are collected: the others import test-only tools
# (playwright, schemathesis, torchinfo) that machine lacks. Results land in $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/layerscope-gpu}
mkdir -p "$OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:. PYTHONUNBUFFERED=1 PATH=/tmp/site/bin:$PATH
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  nproc
  lscpu | grep -m1 'Model name'
  python3 -c "import sys, torch, torchvision; print(sys.version.split()[0], torch.__version__, torchvision.__version__, torch.cuda.get_device_name(0))"
} > "$OUT/gpu.txt" 2>&1
cat "$OUT/gpu.txt"
CUDA_TESTS=$(grep -rlE "mark\.cuda|pytestmark = pytest\.mark\.cuda" tests --include='test_*.py')
timeout 150 python3 -m pytest -q -p no:cacheprovider -m cuda $CUDA_TESTS \
    > "$OUT/cuda-tests.txt" 2>&1
tail -15 "$OUT/cuda-tests.txt"
timeout 280 python3 -m bench.http_bench --quick --no-peer --device cuda --workers 1,2,4 \
    --client-procs 4 --out "$OUT/bench-cuda.md" > "$OUT/bench-cuda.log" 2>&1
echo "bench rc=$?"
tail -60 "$OUT/bench-cuda.log"
