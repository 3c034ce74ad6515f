"""What this service runs on: versions, devices, limits."""

from typing import Annotated

import torch
import torchvision
from fastapi import APIRouter, Depends

from schemas.responses import Info, Limits
from service import __version__
from service.devices import available_devices
from service.runtime import Runtime, get_runtime

router = APIRouter(prefix="/v1", tags=["service"])


@router.get("/info", summary="Versions, devices and limits", response_model=Info)
def info(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Info:
    """Report torch, torchvision and CUDA versions, the devices there are, the default device,
    and the limits in force."""
    s = runtime.settings
    return Info(
        version=__version__,
        torch=torch.__version__,
        torchvision=torchvision.__version__,
        cuda=torch.version.cuda,
        cuda_available=torch.cuda.is_available(),
        devices=available_devices(),
        default_device=str(runtime.device),
        limits=Limits(
            max_tensor_elements=s.max_tensor_elements,
            max_total_elements=s.max_total_elements,
            max_body_bytes=s.max_body_bytes,
            max_response_bytes=s.max_response_bytes,
            max_json_depth=s.max_json_depth,
            max_layers=s.max_layers,
            max_concurrent_jobs=runtime.jobs.slots,
            max_queued_jobs=s.max_queued_jobs,
            request_timeout_s=s.request_timeout_s,
            max_upload_bytes=s.max_upload_bytes,
            max_batch_size=s.max_batch_size,
            max_image_pixels=s.max_image_pixels,
            max_render_pixels=s.max_render_pixels,
        ),
    )
