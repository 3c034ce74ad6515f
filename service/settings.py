"""Service settings, read from the environment with the prefix `LAYERSCOPE_` (as MLServer does)."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from schemas.requests import DEVICE_PATTERN


class Settings(BaseSettings):
    """Every knob of the service; each is `LAYERSCOPE_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="LAYERSCOPE_", extra="ignore")

    device: Annotated[str, Field(pattern=r"^auto$|" + DEVICE_PATTERN)] = Field(
        default="auto",
        description="`auto` (CUDA when available, else CPU), `cpu`, `cuda`, `cuda:N`.",
    )
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8000
    workers: Annotated[int, Field(ge=1, le=64)] = 1
    torch_threads: Annotated[int, Field(ge=0, le=256)] = Field(
        default=0, description="torch.set_num_threads; 0 leaves PyTorch's default."
    )
    log_level: str = "info"
    max_tensor_elements: Annotated[int, Field(ge=1)] = Field(
        default=16_000_000, description="Most elements in any one tensor of a request."
    )
    max_total_elements: Annotated[int, Field(ge=1)] = Field(
        default=64_000_000,
        description="Most elements in all tensors of a request together (input, outputs, "
        "parameters, gradients).",
    )

    mnist_dir: Path | None = Field(
        default=None,
        description="Folder with MNIST IDX files (`t10k-*`, `train-*`, gzipped or not); "
        "unset: the embedded slice of 100 test digits.",
    )
    max_upload_bytes: Annotated[int, Field(ge=1)] = Field(
        default=10 * 1024 * 1024, description="Most bytes in an uploaded image file."
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
