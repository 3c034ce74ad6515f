"""GET /v1/info (service/routes/info.py): versions, devices and every limit in force."""

import os

import torch
import torchvision
from fastapi.testclient import TestClient

from service import __version__
from service.app import create_app
from tests.conftest import make_settings


def test_info_reports_versions_devices_limits(client: TestClient) -> None:
    info = client.get("/v1/info").json()
    assert info["torch"] == torch.__version__
    assert info["torchvision"] == torchvision.__version__
    assert info["cuda"] == torch.version.cuda
    assert info["devices"] == ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    assert info["default_device"] == "cpu"
    assert info["limits"]["max_tensor_elements"] == make_settings().max_tensor_elements


def test_info_echoes_every_configured_limit() -> None:
    settings = make_settings(
        max_tensor_elements=1234,
        max_total_elements=5678,
        max_body_bytes=4096,
        max_response_bytes=8192,
        max_json_depth=9,
        max_layers=7,
        max_concurrent_jobs=3,
        max_queued_jobs=5,
        request_timeout_s=2.5,
        max_upload_bytes=111,
        max_weights_bytes=555,
        max_safetensors_header_bytes=66,
        max_batch_size=44,
        max_image_pixels=222,
        max_render_pixels=333,
    )
    with TestClient(create_app(settings)) as c:
        info = c.get("/v1/info").json()
    assert info["version"] == __version__
    assert info["cuda_available"] is torch.cuda.is_available()
    assert info["limits"] == {
        "max_tensor_elements": 1234,
        "max_total_elements": 5678,
        "max_body_bytes": 4096,
        "max_response_bytes": 8192,
        "max_json_depth": 9,
        "max_layers": 7,
        "max_concurrent_jobs": 3,
        "max_queued_jobs": 5,
        "request_timeout_s": 2.5,
        "max_upload_bytes": 111,
        "max_weights_bytes": 555,
        "max_safetensors_header_bytes": 66,
        "max_batch_size": 44,
        "max_image_pixels": 222,
        "max_render_pixels": 333,
    }


def test_info_reports_resolved_job_slots_when_auto(client: TestClient) -> None:
    # max_concurrent_jobs=0 (auto) on the CPU resolves to the CPU core count.
    info = client.get("/v1/info").json()
    assert info["limits"]["max_concurrent_jobs"] == max(1, os.cpu_count() or 1)
