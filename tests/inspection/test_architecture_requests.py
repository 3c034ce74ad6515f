"""torchvision architectures that do not fit: limits (vit_h_14), inputs too small for the model
(inception_v3, checked against what PyTorch itself accepts), unknown names and keywords,
`select` patterns that match nothing, `depth`, drawing a module by its name, and the catalog
of GET /v1/models against torchvision's own models and documented counts."""

import inspect
import warnings
from typing import Any

import numpy as np
import pytest
import torch
import torchvision
from fastapi.testclient import TestClient
from torch import nn
from torchvision.models import get_model, get_model_weights, list_models

from tests.image_files import decode_png
from tests.images.test_rendering import gray_levels, mpl, tile
from tests.torchvision_direct import build, run

RESNET = {"torchvision": "resnet18"}
SMALL = {"shape": [1, 3, 32, 32], "seed": 1}


def problem(client: TestClient, body: dict[str, Any], status: int = 422) -> dict[str, Any]:
    r = client.post("/v1/models/inspect", json=body)
    assert r.status_code == status, r.text
    found: dict[str, Any] = r.json()
    return found


def on_meta(name: str, **kwargs: Any) -> nn.Module:
    """torchvision's architecture with weights=None, on meta, in eval mode."""
    with torch.device("meta"), warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # GoogLeNet's, Inception's init notes
        return get_model(name, weights=None, **kwargs).eval()


def test_vit_h_14_is_over_the_element_limit_and_its_summary_still_works(
    client: TestClient,
) -> None:
    parameters = sum(p.numel() for p in on_meta("vit_h_14").parameters())
    assert parameters == 632_045_800
    body = {"model": {"torchvision": "vit_h_14"}, "input": {"shape": [1, 3, 224, 224]}}
    found = problem(client, body, 413)
    assert found["type"] == "/problems/too-many-elements"
    assert found["context"]["setting"] == "LAYERSCOPE_MAX_TOTAL_ELEMENTS"
    assert found["context"]["limit"] == 64_000_000
    assert found["context"]["parameters"] == parameters
    assert "over the limit of 64,000,000 (LAYERSCOPE_MAX_TOTAL_ELEMENTS)" in found["detail"]
    assert "raise that setting" in found["detail"]
    summary = client.post("/v1/models/summary", json={"model": {"torchvision": "vit_h_14"}})
    assert summary.status_code == 200
    assert summary.json()["summary"]["parameter_count"] == parameters
    assert summary.json()["summary"]["output_shape"] == [1, 1000]


def failing_module(model: nn.Module, side: int) -> str | None:
    """Run `model` on meta at side x side; the innermost module running when PyTorch refuses
    it (None: it runs)."""
    running: list[str] = []
    names = {id(m): n for n, m in model.named_modules()}
    hooks = []
    for module in model.modules():
        hooks.append(module.register_forward_pre_hook(lambda m, a: running.append(names[id(m)])))
        hooks.append(module.register_forward_hook(lambda m, a, o: running.pop() and None))
    try:
        with torch.no_grad():
            model(torch.empty(1, 3, side, side, device="meta"))
    except RuntimeError:
        return running[-1]
    finally:
        for hook in hooks:
            hook.remove()
    return None


def test_an_input_too_small_for_inception_names_the_module_and_the_smallest_size(
    client: TestClient,
) -> None:
    model = on_meta("inception_v3")
    assert failing_module(model, 74) is not None  # PyTorch refuses 74 x 74
    assert failing_module(model, 75) is None  # and takes 75 x 75
    body = {"model": {"torchvision": "inception_v3"}, "input": {"shape": [1, 3, 64, 64]}}
    found = problem(client, body)
    assert found["type"] == "/problems/shape-mismatch"
    module = failing_module(model, 64)
    assert found["context"]["module"] == module == "Mixed_7a.branch3x3_2.conv"
    assert found["context"]["smallest_input"] == [75, 75]
    [error] = found["errors"]
    assert error["field"] == "body.model"
    assert f"module {module} (Conv2d)" in error["message"]
    assert error["fix"] == "use an input of at least 75 x 75 (height x width)"
    at = {"model": {"torchvision": "inception_v3"}, "depth": 1}
    fits = client.post("/v1/models/summary", json=at | {"input_shape": [1, 3, 75, 75]})
    assert fits.status_code == 200 and fits.json()["summary"]["output_shape"] == [1, 1000]
    short = client.post("/v1/models/summary", json=at | {"input_shape": [1, 3, 74, 74]})
    assert short.status_code == 422 and short.json()["context"]["smallest_input"] == [75, 75]


def test_an_unknown_architecture_names_the_close_ones(client: TestClient) -> None:
    found = problem(client, {"model": {"torchvision": "resnet181"}, "input": SMALL})
    assert found["type"] == "/problems/unknown-architecture"
    [error] = found["errors"]
    assert error["field"] == "body.model.torchvision"
    assert error["fix"].startswith("did you mean resnet18, ")
    assert found["context"]["known"] == sorted(list_models(module=torchvision.models))
    assert "GET /v1/models lists the 80 there are" in error["fix"]


@pytest.mark.parametrize(
    ("model", "slug", "field", "words"),
    [
        (
            {"torchvision": "resnet18", "kwargs": {"bogus": 1}},
            "unknown-keyword",
            "body.model.kwargs.bogus",
            "resnet18 (ResNet) takes no keyword 'bogus'",
        ),
        (
            {"torchvision": "resnet18", "kwargs": {"num_classes": "ten"}},
            "invalid-keyword",
            "body.model.kwargs.num_classes",
            'num_classes of resnet18 takes an integer, not "ten"',
        ),
        (
            {"torchvision": "resnet18", "kwargs": {"num_classes": True}},
            "invalid-keyword",
            "body.model.kwargs.num_classes",
            "num_classes of resnet18 takes an integer, not true",
        ),
        (
            {"torchvision": "alexnet", "kwargs": {"dropout": "0.5"}},
            "invalid-keyword",
            "body.model.kwargs.dropout",
            'dropout of alexnet takes a number, not "0.5"',
        ),
        (
            {"torchvision": "vit_b_16", "kwargs": {"patch_size": 8}},
            "invalid-keyword",
            "body.model.kwargs.patch_size",
            "multiple values for keyword argument 'patch_size'",
        ),
    ],
)
def test_keyword_problems_name_the_keyword(
    client: TestClient, model: dict[str, Any], slug: str, field: str, words: str
) -> None:
    found = problem(client, {"model": model, "input": SMALL})
    assert found["type"] == f"/problems/{slug}"
    [error] = found["errors"]
    assert error["field"] == field
    assert words in error["message"]
    assert error["fix"]


def test_the_keywords_offered_are_the_class_constructors(client: TestClient) -> None:
    found = problem(client, {"model": RESNET | {"kwargs": {"bogus": 1}}, "input": SMALL})
    allowed = found["context"]["allowed"]
    signature = inspect.signature(torchvision.models.ResNet.__init__).parameters
    assert allowed == ["groups", "num_classes", "width_per_group", "zero_init_residual"]
    assert set(allowed) <= set(signature)
    with pytest.raises(TypeError, match="multiple values for keyword argument 'patch_size'"):
        on_meta("vit_b_16", patch_size=8)  # the builder sets it: PyTorch refuses it too


def test_a_pattern_that_matches_nothing_lists_the_modules(client: TestClient) -> None:
    found = problem(client, {"model": RESNET, "input": SMALL, "select": ["fc", "layer9.*"]})
    assert found["type"] == "/problems/no-such-module"
    [error] = found["errors"]
    assert error["field"] == "body.select.1"
    assert "'layer9.*'" in error["message"]
    calls = direct_calls(on_meta("resnet18"))
    assert found["context"]["modules"] == list(dict.fromkeys(calls))


def direct_calls(model: nn.Module) -> list[str]:
    """Qualified names of the modules as they are called on a 32 x 32 input, in the order they
    start (a module called twice is there twice)."""
    order: list[str] = []
    for name, module in model.named_modules():
        if name:
            module.register_forward_pre_hook(lambda m, a, name=name: order.append(name))
    with torch.no_grad():
        model(torch.empty(1, 3, 32, 32, device="meta"))
    return order


def test_depth_hides_deeper_rows_but_not_selected_ones(client: TestClient) -> None:
    select = ["layer1.0.conv1", "fc"]
    body = {"model": RESNET, "input": SMALL, "select": select, "include": [], "depth": 1}
    shallow = client.post("/v1/models/inspect", json=body).json()
    deep = client.post("/v1/models/inspect", json=body | {"depth": 3}).json()
    model = on_meta("resnet18")
    calls = direct_calls(model)
    assert [row["name"] for row in shallow["layers"]] == [
        n for n in calls if n.count(".") == 0 or n == "layer1.0.conv1"
    ]
    assert [row["name"] for row in deep["layers"]] == [n for n in calls if n.count(".") <= 2]
    for row in deep["layers"]:
        assert row["depth"] == row["name"].count(".") + 1
        assert row["selected"] == (row["name"] in select)
        module = model.get_submodule(row["name"])
        assert row["parameter_count"] == sum(p.numel() for p in module.parameters())
    assert shallow["summary"] == deep["summary"]


def render(client: TestClient, **body: Any) -> np.ndarray:
    request = {"model": RESNET, "input": SMALL, "weights": {"seed": 2}} | body
    r = client.post("/v1/models/render", json=request)
    assert r.status_code == 200, r.text
    return decode_png(r.content)


def test_render_by_module_name_draws_the_direct_runs_tensors(client: TestClient) -> None:
    direct = run(build("resnet18", {}, 2), [1, 3, 32, 32], 1)
    conv = direct.model.get_submodule("layer1.0.conv1")
    # output: [1, 64, 8, 8], 64 tiles, 8 to a row, gray over the whole tensor's range
    picture = render(client, layer="layer1.0.conv1", view="output")
    v = direct.calls[("layer1.0.conv1", 0)].output.numpy()[0]
    assert picture.shape == (8 * 9 + 1, 8 * 9 + 1)
    for i in range(64):
        np.testing.assert_array_equal(
            tile(picture, i, 8, 8, 8, 1), gray_levels(v[i], v.min(), v.max())
        )
    # weights: [64, 64, 3, 3], 4096 kernels of 3 x 3, 64 to a row
    picture = render(client, layer="layer1.0.conv1", view="weights")
    w = conv.weight.detach().numpy().reshape(4096, 3, 3)
    for k in range(0, 4096, 97):
        np.testing.assert_array_equal(
            tile(picture, k, 64, 3, 3, 1), gray_levels(w[k], w.min(), w.max())
        )
    # input_grad: the gradient with respect to what layer1.0.conv1 received, maxpool's output
    # (used twice in the block: conv1 and the shortcut, so it is the total over both)
    picture = render(client, layer="layer1.0.conv1", view="input_grad", backward={"target": "sum"})
    g = direct.calls[("maxpool", 0)].grad.numpy()[0]  # type: ignore[union-attr]
    t = 0.5 + g / (2 * np.abs(g).max())
    for i in range(0, 64, 9):
        np.testing.assert_array_equal(tile(picture, i, 8, 8, 8, 1), mpl("coolwarm", t[i]))


def test_render_of_an_in_place_modules_input_is_what_it_received(client: TestClient) -> None:
    """The stem's ReLU(inplace=True) overwrites bn1's output: its input view is bn1's output
    as it was (negative values too), its input_grad the gradient with respect to that."""
    direct = run(build("resnet18", {}, 2), [1, 3, 32, 32], 1)
    before = direct.calls[("bn1", 0)]
    assert (before.output < 0).any()
    picture = render(client, layer="relu", view="input")
    v = before.output.numpy()[0]
    for i in range(0, 64, 7):
        np.testing.assert_array_equal(
            tile(picture, i, 8, 16, 16, 1), gray_levels(v[i], v.min(), v.max())
        )
    picture = render(client, layer="relu", view="input_grad", backward={"target": "sum"})
    g = before.grad.numpy()[0]  # type: ignore[union-attr]
    t = 0.5 + g / (2 * np.abs(g).max())
    for i in range(0, 64, 7):
        np.testing.assert_array_equal(tile(picture, i, 8, 16, 16, 1), mpl("coolwarm", t[i]))


BUILT_ELSEWHERE = {
    # torchvision documents the counts of its default weights, whose keywords differ here:
    "googlenet": "weights=None builds the auxiliary classifiers the weights leave out",
    "vit_h_14": "the default weights are for 518 x 518 (a larger position embedding)",
}


def test_the_catalog_lists_every_architecture_as_torchvision_builds_it(
    client: TestClient,
) -> None:
    catalog = client.get("/v1/models").json()["architectures"]
    names = sorted(list_models(module=torchvision.models))
    assert [entry["name"] for entry in catalog] == names and len(names) == 80
    for entry in catalog:
        name = entry["name"]
        weights = get_model_weights(name).DEFAULT
        if name in BUILT_ELSEWHERE:
            count = sum(p.numel() for p in on_meta(name).parameters())
        else:
            count = weights.meta["num_params"]
        assert entry["parameter_count"] == count, name
        crop = weights.transforms().crop_size[0]
        side = 224 if name.startswith("vit_") else crop  # ViT's own image_size
        assert entry["input_size"] == [1, 3, side, side], name
        assert entry["min_size"] == list(weights.meta["min_size"]), name
    for name in ("resnet18", "vit_b_16", "swin_t", "mobilenet_v3_small", "densenet121"):
        entry = next(e for e in catalog if e["name"] == name)
        model = on_meta(name)
        assert entry["class_name"] == type(model).__name__
        assert entry["parameter_count"] == sum(p.numel() for p in model.parameters())
        out = model(torch.empty(entry["input_size"], device="meta"))
        assert list(out.shape) == [1, 1000]


def test_render_of_a_module_that_is_not_there_names_the_layer_field(client: TestClient) -> None:
    body = {"model": RESNET, "input": SMALL, "view": "output"}
    r = client.post("/v1/models/render", json=body | {"layer": "layer1.0.conv9"})
    assert r.status_code == 422
    [error] = r.json()["errors"]
    assert (r.json()["type"], error["field"]) == ("/problems/no-such-module", "body.layer")
    assert error["fix"].startswith("did you mean layer1.0.conv2, layer1.0.conv1")
    # Inception's auxiliary classifier exists but runs only in train mode
    model = on_meta("inception_v3")
    assert failing_module(model, 75) is None
    inception = {"model": {"torchvision": "inception_v3"}, "input": {"shape": [1, 3, 75, 75]}}
    r = client.post("/v1/models/render", json=inception | {"layer": "AuxLogits", "view": "output"})
    assert r.status_code == 422
    [error] = r.json()["errors"]
    assert (r.json()["type"], error["field"]) == ("/problems/module-not-run", "body.layer")
    assert "'AuxLogits' does not run in this forward pass" in error["message"]
    assert "AuxLogits" not in r.json()["context"]["modules"]
