# layerscope: the HTTP service in a slim Python 3.11 image, run as a non-root user.
#
#   docker build -t layerscope:cpu .                                    # CPU torch wheels
#   docker build --build-arg TORCH_VARIANT=cu130 -t layerscope:cuda .   # CUDA torch wheels
#
# TORCH_VARIANT names a wheel index under https://download.pytorch.org/whl/ (cpu, cu126, cu128,
# cu130, ...). The CUDA wheels bring the CUDA user-space libraries with them; the host's NVIDIA
# driver comes in through the NVIDIA Container Toolkit (docker run --gpus all).

# ---- builder: a virtual environment with the dependencies, then the package ----------------
FROM python:3.11-slim-bookworm AS builder

ARG TORCH_VARIANT=cpu
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/${TORCH_VARIANT}

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv
WORKDIR /src

# Dependencies before code: this layer is rebuilt only when a requirement file changes.
# constraints.txt pins every package of the closure (tests/deploy/test_install.py installs the same way).
COPY requirements/ requirements/
RUN pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" \
        --extra-index-url https://pypi.org/simple \
        -r requirements/torch.txt -c requirements/constraints.txt \
    && pip install --no-cache-dir -r requirements/runtime.txt -c requirements/constraints.txt

# The code. Its dependencies are all in the layer above, hence --no-deps.
COPY pyproject.toml README.md ./
COPY schemas/ schemas/
COPY service/ service/
RUN pip install --no-cache-dir --no-deps . \
    && layerscope --help > /dev/null

# ---- runtime: the virtual environment only, no build tools, no source tree -----------------
FROM python:3.11-slim-bookworm AS runtime

ARG TORCH_VARIANT=cpu
LABEL org.opencontainers.image.title="layerscope" \
      org.opencontainers.image.description="Look inside PyTorch layers over HTTP" \
      org.opencontainers.image.licenses="MIT" \
      io.layerscope.torch-variant="${TORCH_VARIANT}"

RUN groupadd --system --gid 10001 layerscope \
    && useradd --system --uid 10001 --gid layerscope --home-dir /home/layerscope \
        --create-home --shell /usr/sbin/nologin layerscope

COPY --from=builder /opt/venv /opt/venv

# Caches go to /tmp, the one writable place when the root filesystem is read-only.
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    XDG_CACHE_HOME=/tmp/.cache \
    TORCH_HOME=/tmp/.cache/torch \
    LAYERSCOPE_HOST=0.0.0.0 \
    LAYERSCOPE_PORT=8000

USER 10001:10001
WORKDIR /home/layerscope
EXPOSE 8000

# Liveness: /healthz answers while the process serves HTTP (slim has no curl: urllib does it).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('LAYERSCOPE_PORT', '8000'), timeout=4)"]

# The README's start command.
CMD ["layerscope", "serve"]
