"""Service settings, read from the environment with the prefix `LAYERSCOPE_` (as MLServer does)."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from schemas.inputs import MAX_BATCH
from schemas.requests import DEVICE_PATTERN


class Settings(BaseSettings):
    """Every knob of the service; each is `LAYERSCOPE_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="LAYERSCOPE_", extra="ignore")

    device: Annotated[str, Field(pattern=r"^auto$|" + DEVICE_PATTERN)] = Field(
        default="auto",
        description="`auto` (CUDA when available, else CPU), `cpu`, `cuda`, `cuda:N`.",
    )
    host: str = Field(default="127.0.0.1", description="Address to listen on.")
    port: Annotated[int, Field(ge=1, le=65535)] = Field(default=8000, description="TCP port.")
    workers: Annotated[int, Field(ge=1, le=64)] = Field(
        default=1,
        description="uvicorn worker processes (each with its own limiter; /metrics adds up "
        "all workers).",
    )
    torch_threads: Annotated[int, Field(ge=0, le=256)] = Field(
        default=0, description="torch.set_num_threads; 0 leaves PyTorch's default."
    )
    log_level: str = Field(
        default="info",
        description="uvicorn and access-log level (`warning` silences the per-request JSON lines).",
    )
    allow_tf32: bool = Field(
        default=False,
        description="Let CUDA convolutions and matmuls use TF32 (faster, ~1e-3 relative error). "
        "Off by default, so GPU results equal float32 CPU results within rounding.",
    )
    max_tensor_elements: Annotated[int, Field(ge=1)] = Field(
        default=16_000_000, description="Most elements in any one tensor of a request."
    )
    max_total_elements: Annotated[int, Field(ge=1)] = Field(
        default=64_000_000,
        description="Most elements in all tensors of a request together (input, outputs, "
        "parameters, gradients).",
    )
    max_body_bytes: Annotated[int, Field(ge=1024)] = Field(
        default=32 * 1024 * 1024,
        description="Most bytes in a request body, counted as it streams in (413 past it).",
    )
    max_response_bytes: Annotated[int, Field(ge=1024)] = Field(
        default=256 * 1024 * 1024,
        description="Most bytes a response may take, estimated from `include` and `encoding` "
        "before anything runs.",
    )
    max_json_depth: Annotated[int, Field(ge=4, le=1000)] = Field(
        default=32, description="Deepest nesting of brackets in a JSON body."
    )
    max_layers: Annotated[int, Field(ge=1, le=1024)] = Field(
        default=64, description="Most layers in a pipeline."
    )
    max_concurrent_jobs: Annotated[int, Field(ge=0, le=1024)] = Field(
        default=0,
        description="Torch jobs run at once; 0 = auto (1 per GPU on CUDA, the CPU cores on CPU).",
    )
    max_queued_jobs: Annotated[int, Field(ge=0, le=4096)] = Field(
        default=16, description="Jobs that may wait for a slot; past that, 503 with Retry-After."
    )
    request_timeout_s: Annotated[float, Field(gt=0, le=3600)] = Field(
        default=30.0,
        description="Deadline of one request's torch job, waiting for a slot included (503 "
        "past it).",
    )
    api_keys: Annotated[list[SecretStr], NoDecode] = Field(
        default_factory=list,
        description="Comma-separated API keys; when set, /v1 routes need "
        "`Authorization: Bearer <key>`.",
    )
    docs_public: bool = Field(
        default=True, description="Keep /docs and /openapi.json open when API keys are set."
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Comma-separated origins allowed by CORS."
    )

    @field_validator("api_keys", "cors_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    mnist_dir: Path | None = Field(
        default=None,
        description="Folder with MNIST IDX files (`t10k-*`, `train-*`, gzipped or not); "
        "unset: the embedded slice of 100 test digits.",
    )
    max_upload_bytes: Annotated[int, Field(ge=1)] = Field(
        default=10 * 1024 * 1024, description="Most bytes in an uploaded image file."
    )
    max_weights_bytes: Annotated[int, Field(ge=1)] = Field(
        default=512 * 1024 * 1024,
        description="Most bytes in an uploaded safetensors weights file (the model upload "
        "forms' bodies may be this much larger than LAYERSCOPE_MAX_BODY_BYTES).",
    )
    max_safetensors_header_bytes: Annotated[int, Field(ge=8)] = Field(
        default=8 * 1024 * 1024,
        description="Most bytes in a safetensors file's JSON header, checked before it is read.",
    )
    max_batch_size: Annotated[int, Field(ge=1, le=MAX_BATCH)] = Field(
        default=256,
        description="Most samples in one image batch (MNIST `indices` or `batch_size`, uploaded "
        "files), checked before any is read.",
    )
    max_image_pixels: Annotated[int, Field(ge=1)] = Field(
        default=4096 * 4096,
        description="Most pixels (width x height, read from the header) of an uploaded image.",
    )
    max_render_pixels: Annotated[int, Field(ge=1)] = Field(
        default=4096 * 4096, description="Most pixels in a rendered PNG (after scaling)."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once from the environment."""
    return Settings()
