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
            **{name: getattr(s, name) for name in Limits.model_fields if hasattr(s, name)}
            | {"max_concurrent_jobs": runtime.jobs.slots}
        ),
    )
