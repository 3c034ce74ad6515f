"""The explain features' pictures: a box drawn on an input, attribution heat maps laid over
inputs, and a strip of pictures side by side. Colours are matplotlib's (service.images.colormaps),
grids torchvision's make_grid, as everywhere in service.images.rendering."""

import io
import math
from collections.abc import Sequence

import numpy as np
import torch
from PIL import Image, ImageDraw
from torchvision.utils import make_grid

from schemas.images import Colormap
from service.images import colormaps
from service.images.pixel_limit import check_pixels
from service.images.rendering import PAD_VALUE, PADDING, grid_size, png_bytes, unit_values

BOX_COLOUR = (255, 0, 0)
PLACEHOLDER = 224
"""The gray of a sweep value that has no picture."""
STRIP_GAP = 4
MIN_SIDE = 224
"""The default upscaling makes a picture at least this many pixels on its longer side."""


def default_scale(height: int, width: int) -> int:
    """The smallest upscaling that makes a picture MIN_SIDE pixels on its longer side (<= 32)."""
    return max(1, min(32, math.ceil(MIN_SIDE / max(height, width, 1))))


def input_rgb(x: torch.Tensor | None, shape: Sequence[int]) -> np.ndarray:
    """The first sample of an input of `shape` ([N, C, H, W], [C, H, W] or [H, W]) as uint8
    RGB [H, W, 3]: three channels as colours, else the first in gray, each scaled from its
    min..max (a constant one is mid-gray); mid-gray without an input."""
    height, width = shape[-2], shape[-1]
    if x is None:
        return np.full((height, width, 3), 128, dtype=np.uint8)
    sample = x.detach().to("cpu", torch.float64)
    while sample.dim() > 3:
        sample = sample[0]
    if sample.dim() == 2:
        sample = sample.unsqueeze(0)
    channels = sample if sample.shape[0] == 3 else sample[:1].expand(3, -1, -1)
    lo, hi = float(channels.min()), float(channels.max())
    scaled = (channels - lo) / (hi - lo) if hi > lo else torch.full_like(channels, 0.5)
    pixels = (scaled * 255).round().clamp(0, 255).to(torch.uint8)
    return pixels.permute(1, 2, 0).contiguous().numpy()


def box_png(
    rgb: np.ndarray,
    box: tuple[Sequence[int], Sequence[int]] | None,
    scale: int,
    max_pixels: int,
    field: str = "body.png",
) -> bytes:
    """The picture upscaled by `scale` (nearest), with the box (first, last): rows
    first[0]..last[0] and columns first[1]..last[1], input positions, inclusive) outlined in
    red on its edge pixels, max(1, scale // 4) pixels wide; no box where it is None."""
    height, width = rgb.shape[0] * scale, rgb.shape[1] * scale
    check_pixels(width, height, max_pixels, field, fix="lower `scale` or use a smaller input")
    image = Image.fromarray(rgb).resize((width, height), Image.Resampling.NEAREST)
    if box is not None:
        first, last = box
        top, left = first[0] * scale, first[1] * scale
        bottom, right = (last[0] + 1) * scale - 1, (last[1] + 1) * scale - 1
        ImageDraw.Draw(image).rectangle(
            (left, top, right, bottom), outline=BOX_COLOUR, width=max(1, scale // 4)
        )
    return png_bytes(image)


def heatmap_size(samples: int, height: int, width: int, scale: int) -> tuple[int, int]:
    """(width, height) in pixels of the heat map of `samples` maps of height x width."""
    _, grid_h, grid_w = grid_size(samples, height, width, None, scale)
    return grid_w, grid_h


def heatmap_png(
    attribution: torch.Tensor,
    base: torch.Tensor,
    colormap: Colormap,
    alpha: float,
    scale: int,
    max_pixels: int,
) -> bytes:
    """Heat maps [N, H, W] coloured on a diverging map centred on zero, each sample scaled by
    its own largest magnitude (t = 0.5 + v / (2 max|v|), as rendering's `per_tile`), laid over
    `base` [N, H, W] (values in [0, 1], drawn gray) as alpha * colour + (1 - alpha) * gray,
    one tile per sample in a make_grid grid, upscaled by `scale`."""
    count, height, width = attribution.shape
    grid_w, grid_h = heatmap_size(count, height, width, scale)
    check_pixels(
        grid_w, grid_h, max_pixels, "body.scale", fix="lower `scale` or use a smaller input"
    )
    t = unit_values(attribution.detach().to("cpu", torch.float64), colormap, "per_tile")
    colours = colormaps.apply(colormap, t).astype(np.float64)
    gray = base.detach().to("cpu", torch.float64).clamp(0, 1).numpy()[..., None] * 255.0
    blended = np.rint(alpha * colours + (1.0 - alpha) * gray).clip(0, 255).astype(np.uint8)
    tiles = torch.from_numpy(np.ascontiguousarray(blended)).permute(0, 3, 1, 2)
    cols = grid_size(count, height, width, None, 1)[0]
    grid = make_grid(tiles, nrow=cols, padding=PADDING, pad_value=PAD_VALUE)
    if scale > 1:
        grid = grid.repeat_interleave(scale, dim=1).repeat_interleave(scale, dim=2)
    return png_bytes(Image.fromarray(grid.permute(1, 2, 0).contiguous().numpy()))


def strip_png(pictures: Sequence[bytes | None], max_pixels: int) -> bytes:
    """PNG pictures left to right, top-aligned, STRIP_GAP white pixels apart; None is a light
    gray placeholder as high as the tallest picture and 8 pixels wide."""
    images = [
        Image.open(io.BytesIO(png)).convert("RGB") if png is not None else None for png in pictures
    ]
    height = max((image.height for image in images if image is not None), default=8)
    widths = [image.width if image is not None else 8 for image in images]
    width = sum(widths) + STRIP_GAP * (len(images) - 1)
    check_pixels(
        width, height, max_pixels, "body.values", fix="lower `scale` or use a smaller input"
    )
    strip = Image.new("RGB", (width, height), (PAD_VALUE,) * 3)
    left = 0
    for image, tile_width in zip(images, widths, strict=True):
        if image is None:
            strip.paste((PLACEHOLDER,) * 3, (left, 0, left + tile_width, height))
        else:
            strip.paste(image, (left, 0))
        left += tile_width + STRIP_GAP
    return png_bytes(strip)
