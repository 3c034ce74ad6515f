"""docker-compose.yml: valid under the Compose Specification's JSON schema (the copy that PyPI's
check-jsonschema ships), and holding what the service needs: port, settings, health check,
restart policy, read-only root, and a `gpu` profile that reserves an NVIDIA device."""

import copy
import json
from importlib.resources import files
from typing import Any

import jsonschema
import pytest
import yaml

from service.settings import Settings
from tests.deploy.files import ROOT

COMPOSE = ROOT / "docker-compose.yml"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """The compose file, parsed (YAML merge keys resolved)."""
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    """A validator for the Compose Specification schema, read from the installed package."""
    text = files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema = json.loads(text.read_text())
    assert schema["title"] == "Compose Specification"
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def test_valid_under_the_compose_specification(
    compose: dict[str, Any], validator: jsonschema.protocols.Validator
) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("services", "layerscope", "restart"), {"policy": "always"}),
        (("services", "layerscope", "healthcheck", "retries"), {"n": 3}),
        (("services", "layerscope", "readonly"), True),
        (("services", "layerscope-gpu", "deploy", "resources", "reservations", "gpus"), 1),
    ],
)
def test_the_schema_rejects_broken_variants(
    compose: dict[str, Any],
    validator: jsonschema.protocols.Validator,
    path: tuple[str, ...],
    value: object,
) -> None:
    broken = copy.deepcopy(compose)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert not validator.is_valid(broken)


def test_cpu_service(compose: dict[str, Any]) -> None:
    service = compose["services"]["layerscope"]
    assert "profiles" not in service, "`docker compose up` starts it"
    assert service["build"] == {"context": ".", "args": {"TORCH_VARIANT": "cpu"}}
    assert service["ports"] == ["127.0.0.1:8000:8000"]
    assert service["environment"]["LAYERSCOPE_DEVICE"] == "cpu"


def test_gpu_profile_reserves_an_nvidia_device(compose: dict[str, Any]) -> None:
    gpu = compose["services"]["layerscope-gpu"]
    assert gpu["profiles"] == ["gpu"]
    assert gpu["environment"]["LAYERSCOPE_DEVICE"] == "cuda"
    assert gpu["build"]["args"]["TORCH_VARIANT"].startswith("cu")
    (device,) = gpu["deploy"]["resources"]["reservations"]["devices"]
    assert device["driver"] == "nvidia"
    assert device["capabilities"] == ["gpu"]
    assert device["count"] == 1
    cpu_ports = {p.rsplit(":", 2)[-2] for p in compose["services"]["layerscope"]["ports"]}
    gpu_ports = {p.rsplit(":", 2)[-2] for p in gpu["ports"]}
    assert not cpu_ports & gpu_ports, "both run at once under --profile gpu"


@pytest.mark.parametrize("name", ["layerscope", "layerscope-gpu"])
def test_hardening_restart_and_healthcheck(compose: dict[str, Any], name: str) -> None:
    service = compose["services"][name]
    assert service["read_only"] is True
    assert service["tmpfs"] == ["/tmp"]
    assert service["restart"] == "unless-stopped"
    assert service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
    test = service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    assert "http://127.0.0.1:8000/healthz" in test[3]
    compile(test[3], "<healthcheck>", "exec")
    assert {"interval", "timeout", "retries", "start_period"} <= set(service["healthcheck"])
    assert all(port.endswith(":8000") for port in service["ports"]), "the container's port"


@pytest.mark.parametrize("name", ["layerscope", "layerscope-gpu"])
def test_environment_names_real_settings_with_valid_values(
    compose: dict[str, Any], name: str
) -> None:
    environment: dict[str, object] = compose["services"][name]["environment"]
    values = {}
    for key, value in environment.items():
        assert key.startswith("LAYERSCOPE_"), key
        field = key.removeprefix("LAYERSCOPE_").lower()
        assert field in Settings.model_fields, f"{key} is no setting"
        values[field] = value
    settings = Settings(**values)  # type: ignore[arg-type]
    assert settings.host == "0.0.0.0"
    assert settings.port == 8000
