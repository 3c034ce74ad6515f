"""service/planning/inputs.py and limits.py: input plans and the element limits."""

import pytest
import torch
from pydantic import TypeAdapter

from schemas.images import PreprocessOptions
from schemas.inputs import InputSpec, MnistInput, MnistRef
from schemas.requests import GradOutputBackward, TargetBackward
from schemas.tensors import TensorData
from service.errors import ProblemError
from service.images import mnist
from service.planning.inputs import plan_grad_output, plan_image, plan_input, plan_mnist
from service.planning.limits import check_elements, check_totals
from tests.conftest import make_settings
from tests.image_files import reference, seed_transform

INPUT = TypeAdapter(InputSpec)


def test_a_tensor_over_the_limit_names_the_setting_that_sets_it() -> None:
    check_elements("body.input", [10, 10], 100)
    with pytest.raises(ProblemError) as info:
        check_elements("body.input", [10, 10, 2], 100)
    err = info.value
    assert (err.status, err.slug, err.limit) == (413, "too-many-elements", "elements")
    assert err.context == {
        "tensor": "body.input",
        "shape": [10, 10, 2],
        "elements": 200,
        "limit": 100,
        "setting": "LAYERSCOPE_MAX_TENSOR_ELEMENTS",
    }
    assert "(LAYERSCOPE_MAX_TENSOR_ELEMENTS)" in err.detail


def test_check_totals_counts_gradients_twice() -> None:
    shapes = {"body.input": [10, 10], "output": [10, 5]}  # 150 elements
    check_totals(shapes, backward=False, settings=make_settings(max_total_elements=150))
    check_totals(shapes, backward=True, settings=make_settings(max_total_elements=300))
    with pytest.raises(ProblemError) as info:
        check_totals(shapes, backward=True, settings=make_settings(max_total_elements=299))
    err = info.value
    assert (err.status, err.slug, err.limit) == (413, "too-many-elements", "elements")
    assert err.context == {
        "elements": 300,
        "parameters": 0,
        "limit": 299,
        "setting": "LAYERSCOPE_MAX_TOTAL_ELEMENTS",
    }
    assert "LAYERSCOPE_MAX_TOTAL_ELEMENTS" in err.detail
    assert "and their gradients" in err.detail
    with pytest.raises(ProblemError) as info:
        check_totals(shapes, backward=False, settings=make_settings(max_total_elements=149))
    assert info.value.context["elements"] == 150 and info.value.context["limit"] == 149
    assert "gradients" not in info.value.detail


def test_check_totals_checks_each_tensor_first() -> None:
    settings = make_settings(max_tensor_elements=99, max_total_elements=10**9)
    with pytest.raises(ProblemError) as info:
        check_totals({"a": [10, 9], "output": [10, 10]}, backward=False, settings=settings)
    assert info.value.status == 413
    context = {
        "tensor": "output",
        "shape": [10, 10],
        "elements": 100,
        "limit": 99,
        "setting": "LAYERSCOPE_MAX_TENSOR_ELEMENTS",
    }
    assert info.value.context == context


def test_random_input_plan_is_lazy_and_equals_manual_seed() -> None:
    spec = INPUT.validate_python({"shape": [2, 3], "seed": 7, "requires_grad": False})
    state = torch.random.get_rng_state()
    plan = plan_input(spec, make_settings())
    assert torch.equal(torch.random.get_rng_state(), state)  # nothing drawn yet
    assert (plan.shape, plan.seed, plan.requires_grad, plan.preprocessing) == (
        [2, 3],
        7,
        False,
        None,
    )
    torch.manual_seed(7)
    torch.testing.assert_close(plan.make(), torch.randn(2, 3), rtol=0, atol=0)


def test_random_input_over_the_limit_is_413_before_anything() -> None:
    spec = INPUT.validate_python({"shape": [10, 11]})
    with pytest.raises(ProblemError) as info:
        plan_input(spec, make_settings(max_tensor_elements=109))
    assert info.value.status == 413
    assert info.value.errors[0]["field"] == "body.input"


def test_tensor_input_plan() -> None:
    spec = INPUT.validate_python({"tensor": {"data": [[1.0, 2.0], [3.0, None]]}})
    plan = plan_input(spec, make_settings())
    assert (plan.shape, plan.seed, plan.requires_grad) == ([2, 2], None, True)
    torch.testing.assert_close(
        plan.make(), torch.tensor([[1.0, 2.0], [3.0, float("nan")]]), equal_nan=True
    )


def test_mnist_plan_equals_the_digit_normalized() -> None:
    spec = MnistInput(mnist=MnistRef(split="test", index=3))
    plan = plan_mnist(spec, make_settings())
    pixels, label = mnist.sample(None, "test", 3, "x")
    assert plan.shape == [1, 1, 28, 28]
    torch.testing.assert_close(plan.make(), seed_transform(pixels)[None], rtol=0, atol=0)
    torch.testing.assert_close(plan.make(), reference(pixels.numpy()))
    assert plan.preprocessing is not None
    assert plan.preprocessing["source"] == {
        "kind": "mnist",
        "split": "test",
        "index": 3,
        "label": label,
    }
    names = [step["name"] for step in plan.preprocessing["steps"]]
    assert names == ["grayscale", "invert", "resize", "center", "to_float", "normalize"]


def test_image_plan_checks_the_target_size_before_preprocessing() -> None:
    pixels = torch.zeros(1, 4, 4, dtype=torch.uint8)
    options = PreprocessOptions(size=[20, 30])
    with pytest.raises(ProblemError) as info:
        plan_image(pixels, options, True, {}, make_settings(max_tensor_elements=599), field="image")
    assert info.value.status == 413
    assert info.value.context == {
        "tensor": "image",
        "shape": [1, 1, 20, 30],
        "elements": 600,
        "limit": 599,
        "setting": "LAYERSCOPE_MAX_TENSOR_ELEMENTS",
    }
    plan = plan_image(pixels, options, False, {"kind": "x"}, make_settings(max_tensor_elements=600))
    assert plan.shape == [1, 1, 20, 30] and plan.requires_grad is False
    # black, resized and padded with black, normalized by mean 0.5: -0.5 everywhere
    torch.testing.assert_close(plan.make(), torch.full((1, 1, 20, 30), -0.5), rtol=0, atol=0)


def test_grad_output_plan() -> None:
    settings = make_settings()
    assert plan_grad_output(None, [2], settings) is None
    assert plan_grad_output(TargetBackward(target="sum"), [2], settings) is None
    backward = GradOutputBackward(grad_output=TensorData(shape=[1, 2], data=[3.0, 4.0]))
    torch.testing.assert_close(
        plan_grad_output(backward, [1, 2], settings), torch.tensor([[3.0, 4.0]])
    )
    with pytest.raises(ProblemError) as info:
        plan_grad_output(backward, [2, 1], settings)
    err = info.value
    assert (err.status, err.slug) == (422, "grad-output-shape")
    assert err.context == {"expected": [2, 1], "received": [1, 2]}
    assert err.errors[0]["field"] == "body.backward.grad_output"
    assert err.errors[0]["fix"] == "use shape [2, 1]"
