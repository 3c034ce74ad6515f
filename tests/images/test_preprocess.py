"""service/preprocess.py: each step equals the torchvision transform applied directly."""

import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from schemas.images import MIN_STD, PreprocessOptions
from service.images.preprocess import border_mean, preprocess, target_size
from tests.image_files import seed_transform


def finish(x: torch.Tensor, mean: float = 0.5, std: float = 1.0) -> torch.Tensor:
    """The seed's ToTensor then Normalize, as torchvision does them, as [1, 1, H, W]."""
    return seed_transform(x.as_subclass(torch.Tensor), mean, std).unsqueeze(0)


def image(*shape: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, generator=g, dtype=torch.uint8)


def dark_frame(x: torch.Tensor) -> torch.Tensor:
    x = x.clone()
    x[..., 0, :] = x[..., -1, :] = x[..., :, 0] = x[..., :, -1] = 0
    return x


def test_target_size() -> None:
    assert target_size(PreprocessOptions()) == (28, 28)
    assert target_size(PreprocessOptions(size=16)) == (16, 16)
    assert target_size(PreprocessOptions(size=[10, 20])) == (10, 20)


def test_border_mean_exact() -> None:
    x = torch.zeros(1, 4, 5, dtype=torch.uint8)
    x[0, 0, :] = 255  # top row: 5 of the 14 frame pixels
    assert border_mean(x) == pytest.approx(5 / 14, abs=1e-12)
    x[0, 1:3, 1:4] = 255  # the inside does not count
    assert border_mean(x) == pytest.approx(5 / 14, abs=1e-12)
    small = torch.tensor([[[0, 255], [255, 255]]], dtype=torch.uint8)
    assert border_mean(small) == pytest.approx(0.75, abs=1e-12)


def test_gray_square_image_is_only_scaled_and_normalized() -> None:
    x = dark_frame(image(1, 28, 28))
    out, steps = preprocess(x, PreprocessOptions(mean=0.1307, std=0.3081))
    torch.testing.assert_close(out, finish(x, 0.1307, 0.3081), rtol=0, atol=0)
    assert out.shape == (1, 1, 28, 28) and out.dtype == torch.float32
    assert [s["transform"] for s in steps] == [None, None, None, None, "ToTensor", "Normalize"]
    assert steps[0]["params"] == {"num_output_channels": 1, "input_channels": 1}
    assert steps[1]["params"] == {"mode": "auto", "applied": False, "border_mean": 0.0}
    assert steps[2]["params"] == {"from": [28, 28], "to": [28, 28], "antialias": True}
    assert steps[3]["params"] == {
        "padding_left_top_right_bottom": [0, 0, 0, 0],
        "fill": 0,
        "size": [28, 28],
    }
    assert steps[4]["params"] == {"dtype": "float32", "divide_by": 255}
    assert steps[5]["params"] == {"mean": 0.1307, "std": 0.3081}


def test_colour_image_goes_through_grayscale() -> None:
    x = dark_frame(image(3, 28, 28, seed=1))
    out, steps = preprocess(x, PreprocessOptions())
    gray = v2.Grayscale(num_output_channels=1)(tv_tensors.Image(x))
    torch.testing.assert_close(out, finish(gray), rtol=0, atol=0)
    assert steps[0]["transform"] == "Grayscale"
    assert steps[0]["params"] == {"num_output_channels": 1, "input_channels": 3}


def test_colour_image_with_equal_channels_keeps_its_values() -> None:
    one = dark_frame(image(1, 28, 28, seed=2))
    out, steps = preprocess(one.expand(3, 28, 28).clone(), PreprocessOptions())
    torch.testing.assert_close(out, finish(one), rtol=0, atol=0)
    assert steps[0]["transform"] is None


@pytest.mark.parametrize(
    ("fill", "invert", "applied"),
    [(255, "auto", True), (0, "auto", False), (0, True, True), (255, False, False)],
)
def test_invert(fill: int, invert: bool | str, applied: bool) -> None:
    x = image(1, 28, 28, seed=3)
    x[0, 0, :] = x[0, -1, :] = x[0, :, 0] = x[0, :, -1] = fill
    out, steps = preprocess(x, PreprocessOptions(invert=invert))  # type: ignore[arg-type]
    expected = v2.RandomInvert(p=1.0)(tv_tensors.Image(x)) if applied else x
    torch.testing.assert_close(out, finish(expected), rtol=0, atol=0)
    assert steps[1]["transform"] == ("RandomInvert(p=1.0)" if applied else None)
    assert steps[1]["params"]["applied"] is applied
    assert steps[1]["params"]["mode"] == invert
    assert steps[1]["params"]["border_mean"] == pytest.approx(border_mean(x), abs=1e-6)


def test_resize_keeps_aspect_ratio_and_centres_with_zero_padding() -> None:
    x = dark_frame(image(1, 20, 40, seed=4))
    out, steps = preprocess(x, PreprocessOptions())
    # factor min(28/20, 28/40) = 0.7: 14 x 28, then 7 rows of zeros above and below.
    resized = v2.Resize([14, 28], antialias=True)(tv_tensors.Image(x))
    padded = v2.Pad([0, 7, 0, 7], fill=0)(resized)
    torch.testing.assert_close(out, finish(padded), rtol=0, atol=0)
    assert steps[2] == {
        "name": "resize",
        "transform": "Resize",
        "params": {"from": [20, 40], "to": [14, 28], "antialias": True},
    }
    assert steps[3]["transform"] == "Pad"
    assert steps[3]["params"]["padding_left_top_right_bottom"] == [0, 7, 0, 7]


def test_rectangular_target_and_odd_padding() -> None:
    x = dark_frame(image(1, 10, 10, seed=5))
    out, steps = preprocess(x, PreprocessOptions(size=[10, 15]))
    # Fits as is (factor 1); 5 columns of padding: 2 left, 3 right.
    padded = v2.Pad([2, 0, 3, 0], fill=0)(tv_tensors.Image(x))
    torch.testing.assert_close(out, finish(padded), rtol=0, atol=0)
    assert out.shape == (1, 1, 10, 15)
    assert steps[2]["transform"] is None
    assert steps[3]["params"]["padding_left_top_right_bottom"] == [2, 0, 3, 0]
    assert steps[3]["params"]["size"] == [10, 15]


def test_upscaling_small_image() -> None:
    x = dark_frame(image(1, 7, 7, seed=6))
    out, _ = preprocess(x, PreprocessOptions(size=28))
    resized = v2.Resize([28, 28], antialias=True)(tv_tensors.Image(x))
    torch.testing.assert_close(out, finish(resized), rtol=0, atol=0)


def test_the_smallest_std_still_divides_as_the_seed_does() -> None:
    x = dark_frame(image(1, 28, 28, seed=4))
    out, _ = preprocess(x, PreprocessOptions(std=MIN_STD))
    torch.testing.assert_close(out, finish(x, 0.5, MIN_STD), rtol=0, atol=0)
    assert bool(torch.isfinite(out).all())
