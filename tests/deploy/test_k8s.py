"""deploy/k8s: every manifest valid under the Kubernetes OpenAPI schemas (strict: no unknown
fields), shipped offline by PyPI's kubernetes-validate; probes on the app's real routes and
port; labels, selectors and targets that agree; and a GPU variant that asks for a GPU."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from fastapi import FastAPI

from tests.deploy.files import ROOT

K8S = ROOT / "deploy" / "k8s"
# The oldest Kubernetes release still commonly run, and the newest the package knows.
VERSIONS = ("1.30.0", kubernetes_validate.utils.latest_version())


def manifests(directory: Path) -> list[dict[str, Any]]:
    """The objects of a kustomization directory's resources, in order."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text())
    assert kustomization["kind"] == "Kustomization"
    out: list[dict[str, Any]] = []
    for resource in kustomization["resources"]:
        out.extend(d for d in yaml.safe_load_all((directory / resource).read_text()) if d)
    return out


def all_manifest_files() -> Iterator[Path]:
    """Every YAML file under deploy/k8s except the kustomizations."""
    for path in sorted(K8S.rglob("*.yaml")):
        if path.name != "kustomization.yaml":
            yield path


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The one object of `kind`."""
    (found,) = [o for o in objects if o["kind"] == kind]
    return found


CPU = manifests(K8S)
GPU = manifests(K8S / "gpu")


def test_kustomizations_cover_every_manifest() -> None:
    listed = {
        (directory / resource).resolve()
        for directory in (K8S, K8S / "gpu")
        for resource in yaml.safe_load((directory / "kustomization.yaml").read_text())["resources"]
    }
    assert listed == {p.resolve() for p in all_manifest_files()}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("path", list(all_manifest_files()), ids=lambda p: str(p.relative_to(K8S)))
def test_valid_under_the_kubernetes_schemas(path: Path, version: str) -> None:
    for document in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(document, version, strict=True)


def test_the_schemas_reject_a_misspelt_field() -> None:
    deployment = yaml.safe_load((K8S / "deployment.yaml").read_text())
    deployment["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[0], strict=True)


def test_kinds_and_api_versions() -> None:
    assert sorted((o["kind"], o["apiVersion"]) for o in CPU) == [
        ("Deployment", "apps/v1"),
        ("HorizontalPodAutoscaler", "autoscaling/v2"),
        ("PodDisruptionBudget", "policy/v1"),
        ("Service", "v1"),
    ]
    assert sorted((o["kind"], o["apiVersion"]) for o in GPU) == [
        ("Deployment", "apps/v1"),
        ("Service", "v1"),
    ]


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    """The Deployment's one container."""
    (only,) = deployment["spec"]["template"]["spec"]["containers"]
    return only


@pytest.mark.parametrize("objects", [CPU, GPU], ids=["cpu", "gpu"])
def test_probes_ask_the_apps_routes_on_the_container_port(
    objects: list[dict[str, Any]], app: FastAPI
) -> None:
    routes = {path for path, ops in app.openapi()["paths"].items() if "get" in ops}
    assert {"/healthz", "/readyz", "/v1/info"} <= routes
    c = container(by_kind(objects, "Deployment"))
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http": 8000}
    env = {e["name"]: e["value"] for e in c["env"]}
    assert env["LAYERSCOPE_PORT"] == "8000" and env["LAYERSCOPE_HOST"] == "0.0.0.0"
    expected = {
        "livenessProbe": "/healthz",
        "readinessProbe": "/readyz",
        "startupProbe": "/healthz",
    }
    for probe, path in expected.items():
        get = c[probe]["httpGet"]
        assert get["path"] == path and path in routes
        assert ports.get(get["port"], get["port"]) == 8000


@pytest.mark.parametrize("objects", [CPU, GPU], ids=["cpu", "gpu"])
def test_labels_and_selectors_agree(objects: list[dict[str, Any]]) -> None:
    deployment = by_kind(objects, "Deployment")
    selector = deployment["spec"]["selector"]["matchLabels"]
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= pod_labels.items()
    service = by_kind(objects, "Service")
    assert service["spec"]["selector"] == selector
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] in {p["name"] for p in container(deployment)["ports"]}
    for other in objects:
        if other["kind"] == "PodDisruptionBudget":
            assert other["spec"]["selector"]["matchLabels"] == selector
    spread = deployment["spec"]["template"]["spec"].get("topologySpreadConstraints", [])
    for constraint in spread:
        assert constraint["labelSelector"]["matchLabels"] == selector


def test_hpa_targets_the_cpu_deployment() -> None:
    hpa = by_kind(CPU, "HorizontalPodAutoscaler")
    deployment = by_kind(CPU, "Deployment")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": deployment["metadata"]["name"],
    }
    assert 1 < hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    (metric,) = hpa["spec"]["metrics"]
    assert metric["resource"]["name"] == "cpu"
    # Utilization is a share of the request: without a CPU request the HPA cannot act.
    assert "cpu" in container(deployment)["resources"]["requests"]


@pytest.mark.parametrize("objects", [CPU, GPU], ids=["cpu", "gpu"])
def test_non_root_read_only_with_resources(objects: list[dict[str, Any]]) -> None:
    pod = by_kind(objects, "Deployment")["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001, "the Dockerfile's USER"
    c = container(by_kind(objects, "Deployment"))
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]], "a writable /tmp"
    resources = c["resources"]
    for key in ("cpu", "memory"):
        assert key in resources["requests"] and key in resources["limits"]
    env = {e["name"]: e["value"] for e in c["env"]}
    assert int(env["LAYERSCOPE_TORCH_THREADS"]) == int(resources["limits"]["cpu"])


def test_gpu_variant_asks_for_a_gpu_and_runs_on_cuda() -> None:
    deployment = by_kind(GPU, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    c = container(deployment)
    assert c["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert c["resources"]["requests"]["nvidia.com/gpu"] == 1
    assert {e["name"]: e["value"] for e in c["env"]}["LAYERSCOPE_DEVICE"] == "cuda"
    assert pod["nodeSelector"] == {"nvidia.com/gpu.present": "true"}
    assert {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"} in pod[
        "tolerations"
    ]
    cpu = by_kind(CPU, "Deployment")
    assert "nvidia.com/gpu" not in container(cpu)["resources"]["limits"]
    assert {e["name"]: e["value"] for e in container(cpu)["env"]}["LAYERSCOPE_DEVICE"] == "cpu"
    assert deployment["spec"]["selector"] != cpu["spec"]["selector"], "separate pods per Service"
