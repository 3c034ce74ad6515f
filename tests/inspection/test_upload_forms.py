"""service/inspection/upload_forms.py: the multipart JSON fields, their errors, and the plan."""

import io
import json
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.exceptions import RequestValidationError
from torchvision import tv_tensors
from torchvision.transforms import v2

from schemas.models import ModelInspectRequest
from schemas.requests import LayerInspectRequest
from service.errors import ProblemError
from service.inspection.upload_forms import upload_request
from tests.conftest import make_settings
from tests.image_files import encode, seed_transform

SPEC = {"layer": {"type": "flatten"}, "include": ["input"]}


def pixels() -> np.ndarray:
    g = np.random.default_rng(0)
    x = g.integers(0, 256, (20, 30), dtype=np.uint8)
    x[0, :] = x[-1, :] = x[:, 0] = x[:, -1] = 0
    return x


def torchvision_input(
    size: list[int], padding: list[int], mean: float = 0.5, std: float = 1.0
) -> torch.Tensor:
    """pixels() through torchvision directly: Resize, Pad, then the seed's ToTensor, Normalize."""
    x = v2.Resize(size, antialias=True)(tv_tensors.Image(torch.from_numpy(pixels())[None]))
    x = v2.Pad(padding, fill=0)(x)
    return seed_transform(x.as_subclass(torch.Tensor), mean, std)[None]


def call(spec: Any, options: Any = None, **settings: Any) -> Any:
    text = spec if isinstance(spec, str) else json.dumps(spec)
    opts = options if options is None or isinstance(options, str) else json.dumps(options)
    image = io.BytesIO(encode(pixels(), "PNG"))
    return upload_request(text, opts, [image], LayerInspectRequest, make_settings(**settings))


@pytest.mark.parametrize(
    ("spec", "options", "field", "slug", "words"),
    [
        ("{oops", None, "spec", "invalid-form-json", "is not valid JSON"),
        ("[1, 2]", None, "spec", "invalid-form-json", "must be a JSON object"),
        ('"text"', None, "spec", "invalid-form-json", "must be a JSON object"),
        (SPEC, "{oops", "input", "invalid-form-json", "is not valid JSON"),
        (SPEC, "3", "input", "invalid-form-json", "must be a JSON object"),
        ({**SPEC, "input": {"shape": [1]}}, None, "spec.input", "input-in-spec", "must not hold"),
    ],
)
def test_form_problems_name_the_field(
    spec: Any, options: Any, field: str, slug: str, words: str
) -> None:
    with pytest.raises(ProblemError) as info:
        call(spec, options)
    err = info.value
    assert (err.status, err.slug) == (422, slug)
    assert [e["field"] for e in err.errors] == [field]
    assert words in err.errors[0]["message"]
    assert err.errors[0]["fix"]


def test_spec_validation_errors_are_located_under_body_spec() -> None:
    with pytest.raises(RequestValidationError) as info:
        call({"layer": {"type": "linear", "in_features": 0, "out_features": 2}})
    locs = [tuple(e["loc"]) for e in info.value.errors()]
    assert locs == [("body", "spec", "layer", "~linear", "in_features")]
    with pytest.raises(RequestValidationError) as info:
        call({**SPEC, "bogus": 1})
    errors = info.value.errors()
    assert [(tuple(e["loc"]), e["type"]) for e in errors] == [
        (("body", "spec", "bogus"), "extra_forbidden")
    ]


def test_options_validation_errors_are_located_under_body_input() -> None:
    with pytest.raises(RequestValidationError) as info:
        call(SPEC, {"preprocess": {"std": 0, "invert": "maybe"}})
    locs = {tuple(e["loc"])[:4] for e in info.value.errors()}
    assert ("body", "input", "preprocess", "std") in locs
    assert all(loc[:3] == ("body", "input", "preprocess") for loc in locs)
    with pytest.raises(RequestValidationError) as info:
        call(SPEC, {"requires_grad": True, "extra": 1})
    assert [tuple(e["loc"]) for e in info.value.errors()] == [("body", "input", "extra")]


def test_defaults_give_a_28x28_input_equal_to_preprocess() -> None:
    request, plan = call(SPEC)
    assert isinstance(request, LayerInspectRequest)
    assert request.input.shape == [1, 1, 28, 28]  # type: ignore[union-attr]
    assert plan.shape == [1, 1, 28, 28] and plan.requires_grad is True and plan.seed is None
    # 20 x 30 fits 28 x 28 at 28/30: 18.67 rounds to 19 rows, then 4 rows above and 5 below
    expected = torchvision_input([19, 28], [0, 4, 0, 5])
    torch.testing.assert_close(plan.make(), expected, rtol=0, atol=0)
    assert plan.preprocessing is not None
    steps = {step["name"]: step["params"] for step in plan.preprocessing["steps"]}
    assert list(steps) == ["grayscale", "invert", "resize", "center", "to_float", "normalize"]
    assert steps["invert"]["applied"] is False  # a black frame: not inverted
    assert steps["resize"] == {"from": [20, 30], "to": [19, 28], "antialias": True}
    assert steps["center"]["padding_left_top_right_bottom"] == [0, 4, 0, 5]
    assert steps["normalize"] == {"mean": 0.5, "std": 1.0}
    source = plan.preprocessing["source"]
    assert (source["kind"], source["format"], source["width"], source["height"]) == (
        "upload",
        "PNG",
        30,
        20,
    )


def test_options_set_size_normalize_and_requires_grad() -> None:
    options = {"preprocess": {"size": [10, 12], "mean": 0.0, "std": 2.0}, "requires_grad": False}
    request, plan = call(SPEC, options)
    assert request.input.shape == [1, 1, 10, 12]
    assert plan.shape == [1, 1, 10, 12] and plan.requires_grad is False
    # 20 x 30 fits 10 x 12 at 0.4: 8 x 12, then 1 row above and 1 below
    expected = torchvision_input([8, 12], [0, 1, 0, 1], mean=0.0, std=2.0)
    torch.testing.assert_close(plan.make(), expected, rtol=0, atol=0)


def test_the_model_request_type_is_validated_too() -> None:
    image = io.BytesIO(encode(pixels(), "PNG"))
    spec = json.dumps({"layers": [{"type": "flatten"}]})
    request, _ = upload_request(spec, None, [image], ModelInspectRequest, make_settings())
    assert isinstance(request, ModelInspectRequest)
    assert request.input.shape == [1, 1, 28, 28]  # type: ignore[union-attr]


def test_target_over_the_element_limit_is_413_on_image() -> None:
    with pytest.raises(ProblemError) as info:
        call(SPEC, {"preprocess": {"size": 28}}, max_tensor_elements=783)
    assert info.value.status == 413
    assert info.value.errors[0]["field"] == "image"
    assert info.value.context == {
        "tensor": "image",
        "shape": [1, 1, 28, 28],
        "elements": 784,
        "limit": 783,
        "setting": "LAYERSCOPE_MAX_TENSOR_ELEMENTS",
    }
