"""Response bodies of the inspection and service endpoints."""

from typing import Literal

from pydantic import Field

from schemas.base import ResponseModel
from schemas.images import Images, Labels, Preprocessing
from schemas.tensors import GradTensorOut, OutputTensorOut, TensorOut


class LayerInfo(ResponseModel):
    """What was built."""

    type: str
    repr: str = Field(description="PyTorch's own repr of the module.")
    parameter_count: int
    trainable_parameter_count: int


class Seeds(ResponseModel):
    """Seeds used; null where explicit values were given."""

    input: int | None
    weights: int | None
    forward: int = Field(description="`torch.manual_seed(forward)` before the forward pass.")


class Cast(ResponseModel):
    """A tensor given in another dtype than the computation's, converted as `cast` allowed."""

    field: str = Field(description="The request field, e.g. `body.input.tensor`.")
    from_dtype: str
    to_dtype: str


class RunFacts(ResponseModel):
    """How a run ran: mode, dtype, and the casts made."""

    mode: str = Field(description="`train` or `eval`.")
    dtype: str = Field(description="The computation's dtype.")
    casts: list[Cast] = Field(description="Tensors converted to `dtype` (`cast: true`).")


class Timing(ResponseModel):
    """Milliseconds of torch work (CUDA-synchronized); backward is null in forward-only runs."""

    forward_ms: float
    backward_ms: float | None


class LayerInspectResponse(RunFacts):
    """Everything a person at a notebook would print about one layer run."""

    layer: LayerInfo = Field(
        description="The layer as built: its type, PyTorch's repr, its parameter counts."
    )
    device: str
    seeds: Seeds
    timing_ms: Timing
    input: GradTensorOut
    output: OutputTensorOut
    parameters: dict[str, GradTensorOut]
    buffers: dict[str, TensorOut] = Field(
        description="Buffers by state_dict name (batch norms' running_mean, running_var, "
        "num_batches_tracked), as they are after the forward pass (train mode updates them)."
    )
    preprocessing: Preprocessing | None = Field(
        default=None, description="For image inputs (MNIST, uploads): source and steps."
    )
    labels: Labels | None = Field(
        default=None,
        description="For MNIST inputs: each sample's label (`targets`) and, when the final "
        "output is [N, 10], its argmax per sample (`predicted`) and how many match (`correct`).",
    )
    images: Images | None = Field(
        default=None, description="PNG data URIs, when `include` has `images`."
    )


class Health(ResponseModel):
    """Liveness or readiness."""

    status: Literal["ok", "ready"]


class Limits(ResponseModel):
    """The limits in force."""

    max_tensor_elements: int
    max_total_elements: int
    max_body_bytes: int
    max_response_bytes: int
    max_json_depth: int
    max_layers: int
    max_concurrent_jobs: int = Field(description="Resolved: jobs that run at once.")
    max_queued_jobs: int
    request_timeout_s: float
    max_upload_bytes: int
    max_weights_bytes: int
    max_safetensors_header_bytes: int
    max_batch_size: int
    max_image_pixels: int
    max_render_pixels: int


class Info(ResponseModel):
    """Versions, devices and limits of this service."""

    version: str
    torch: str
    torchvision: str
    cuda: str | None = Field(description="CUDA version torch was built with, null for CPU builds.")
    cuda_available: bool
    devices: list[str]
    default_device: str
    limits: Limits
