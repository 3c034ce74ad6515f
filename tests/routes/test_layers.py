"""service/routes/layers.py: the routes' OpenAPI contract and their wiring to the pipeline."""

import json

import torch
from fastapi.testclient import TestClient
from torchvision import tv_tensors
from torchvision.transforms import v2

from schemas.examples import LAYER_EXAMPLES
from service.errors import PROBLEM_MEDIA_TYPE
from tests.helpers import tensor_from
from tests.image_files import digit, encode, seed_transform


def test_inspect_documents_every_worked_example(client: TestClient) -> None:
    op = client.get("/openapi.json").json()["paths"]["/v1/layers/inspect"]["post"]
    examples = op["requestBody"]["content"]["application/json"]["examples"]
    assert examples == LAYER_EXAMPLES
    ok = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok == {"$ref": "#/components/schemas/LayerInspectResponse"}


def test_upload_is_a_multipart_form_with_its_refusals_documented(client: TestClient) -> None:
    op = client.get("/openapi.json").json()["paths"]["/v1/layers/inspect/upload"]["post"]
    assert list(op["requestBody"]["content"]) == ["multipart/form-data"]
    assert "`spec`" in op["description"] and "`image`" in op["description"]
    for status in ("413", "415", "422"):
        assert list(op["responses"][status]["content"]) == [PROBLEM_MEDIA_TYPE]
    expected = "Not an image this service reads (problem details)"
    assert op["responses"]["415"]["description"] == expected


def test_render_is_documented_as_png(client: TestClient) -> None:
    op = client.get("/openapi.json").json()["paths"]["/v1/layers/render"]["post"]
    assert "image/png" in op["responses"]["200"]["content"]


def test_inspect_route_equals_pytorch(client: TestClient) -> None:
    body = {
        "layer": {"type": "activation", "name": "elu", "alpha": 0.5},
        "input": {"shape": [2, 3], "seed": 4},
        "backward": {"target": "mean"},
    }
    r = client.post("/v1/layers/inspect", json=body)
    assert r.headers["content-type"] == "application/json"
    torch.manual_seed(4)
    x = torch.randn(2, 3, requires_grad=True)
    y = torch.nn.ELU(0.5)(x)
    y.mean().backward()
    out = r.json()
    torch.testing.assert_close(tensor_from(out["output"]), y.detach())
    torch.testing.assert_close(tensor_from(out["input"]["grad"]), x.grad)
    assert out["layer"]["repr"] == "ELU(alpha=0.5)"


def test_upload_route_wires_spec_and_input_fields(client: TestClient) -> None:
    pixels, _ = digit(0)
    r = client.post(
        "/v1/layers/inspect/upload",
        files={"image": ("d.png", encode(pixels, "PNG"), "image/png")},
        data={
            "spec": json.dumps({"layer": {"type": "flatten"}, "include": ["output"]}),
            "input": json.dumps({"preprocess": {"size": 14}, "requires_grad": False}),
        },
    )
    assert r.status_code == 200, r.text
    out = r.json()
    # the digit through torchvision directly: resized to 14 x 14, scaled, normalized, flattened
    small = v2.Resize([14, 14], antialias=True)(tv_tensors.Image(torch.from_numpy(pixels)[None]))
    x = seed_transform(small.as_subclass(torch.Tensor))
    torch.testing.assert_close(tensor_from(out["output"]), x.reshape(1, 196))
    assert "data" not in out["input"]  # include: ["output"] came through the spec field
    assert out["input"]["shape"] == [1, 1, 14, 14]
    assert out["preprocessing"]["source"]["kind"] == "upload"
    # requires_grad=false came through the input field: a backward pass has nothing to follow
    r = client.post(
        "/v1/layers/inspect/upload",
        files={"image": ("d.png", encode(pixels, "PNG"), "image/png")},
        data={
            "spec": json.dumps({"layer": {"type": "flatten"}, "backward": {"target": "sum"}}),
            "input": json.dumps({"requires_grad": False}),
        },
    )
    assert r.status_code == 422 and r.json()["type"] == "/problems/nothing-to-differentiate"


def test_upload_without_image_names_the_field(client: TestClient) -> None:
    r = client.post("/v1/layers/inspect/upload", data={"spec": "{}"})
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["body.image"]
