"""An image (uint8 [C, H, W]) to a [1, 1, H, W] input, with torchvision transforms.

Steps, each echoed as `{name, transform, params}`: grayscale; invert (`auto` inverts when the
mean of the 1-pixel border is over 0.5, i.e. a light background); resize to fit the requested
size keeping the aspect ratio, then pad with zeros to centre it (v2 transforms on the uint8
image); then the seed's own `transforms.ToTensor()` (uint8 to float32, divided by 255) and
`transforms.Normalize((mean,), (std,))`. Nothing changes a 28x28 white-on-black digit before
ToTensor, so an MNIST digit, or a PNG of one, gives exactly what
`Compose([ToTensor(), Normalize((0.5,), (1.0,))])` gives for the seed's `datasets.MNIST`.
"""

from typing import Any

import torch
from torchvision import transforms, tv_tensors
from torchvision.transforms import v2

from schemas.images import PreprocessOptions

Step = dict[str, Any]


def target_size(options: PreprocessOptions) -> tuple[int, int]:
    """The (height, width) the options ask for."""
    if isinstance(options.size, int):
        return options.size, options.size
    return options.size[0], options.size[1]


def border_mean(image: torch.Tensor) -> float:
    """Mean brightness in [0, 1] of the 1-pixel frame of a [1, H, W] uint8 image."""
    x = image[0].to(torch.float64) / 255.0
    h, w = x.shape
    if h <= 2 or w <= 2:
        return float(x.mean())
    frame = torch.cat([x[0], x[-1], x[1:-1, 0], x[1:-1, -1]])
    return float(frame.mean())


def preprocess(image: torch.Tensor, options: PreprocessOptions) -> tuple[torch.Tensor, list[Step]]:
    """Run the steps on a uint8 [C, H, W] image (C = 1 or 3); return [1, 1, H, W] and the echo."""
    steps: list[Step] = []
    x = tv_tensors.Image(image)
    # A colour image whose channels are all equal is gray already: keep its values exactly
    # (Grayscale's weighted sum 0.2989 r + 0.587 g + 0.114 b would round some of them down).
    gray_already = image.shape[0] == 1 or bool((image == image[:1]).all())
    x = tv_tensors.Image(image[:1]) if gray_already else v2.Grayscale(num_output_channels=1)(x)
    steps.append(
        {
            "name": "grayscale",
            "transform": None if gray_already else "Grayscale",
            "params": {"num_output_channels": 1, "input_channels": int(image.shape[0])},
        }
    )

    brightness = border_mean(x)
    invert = brightness > 0.5 if options.invert == "auto" else options.invert
    if invert:
        x = v2.RandomInvert(p=1.0)(x)
    steps.append(
        {
            "name": "invert",
            "transform": "RandomInvert(p=1.0)" if invert else None,
            "params": {
                "mode": options.invert,
                "applied": bool(invert),
                "border_mean": round(brightness, 6),
            },
        }
    )

    height, width = target_size(options)
    in_h, in_w = int(x.shape[-2]), int(x.shape[-1])
    factor = min(height / in_h, width / in_w)
    new_h = min(height, max(1, round(in_h * factor)))
    new_w = min(width, max(1, round(in_w * factor)))
    if (new_h, new_w) != (in_h, in_w):
        x = v2.Resize([new_h, new_w], antialias=True)(x)
    steps.append(
        {
            "name": "resize",
            "transform": "Resize" if (new_h, new_w) != (in_h, in_w) else None,
            "params": {"from": [in_h, in_w], "to": [new_h, new_w], "antialias": True},
        }
    )
    left, top = (width - new_w) // 2, (height - new_h) // 2
    padding = [left, top, width - new_w - left, height - new_h - top]
    if any(padding):
        x = v2.Pad(padding, fill=0)(x)
    steps.append(
        {
            "name": "center",
            "transform": "Pad" if any(padding) else None,
            "params": {
                "padding_left_top_right_bottom": padding,
                "fill": 0,
                "size": [height, width],
            },
        }
    )

    # ToTensor takes an H x W x C array (as it takes the PIL image datasets.MNIST gives):
    # uint8 to float32 divided by 255, bit for bit what the seed's transform does.
    array = x.as_subclass(torch.Tensor).permute(1, 2, 0).numpy()
    y: torch.Tensor = transforms.ToTensor()(array)
    steps.append(
        {
            "name": "to_float",
            "transform": "ToTensor",
            "params": {"dtype": "float32", "divide_by": 255},
        }
    )
    y = transforms.Normalize(mean=(options.mean,), std=(options.std,))(y)
    steps.append(
        {
            "name": "normalize",
            "transform": "Normalize",
            "params": {"mean": options.mean, "std": options.std},
        }
    )
    return y.unsqueeze(0).contiguous(), steps
