"""Tensors as pictures: one tile per channel or kernel, coloured, in a torchvision make_grid grid.

Tiles: the last two dimensions are a tile's height and width and every leading dimension is
flattened into tiles ([N, C, H, W] -> N*C tiles of H x W; a conv weight [out, in, kh, kw] ->
out*in kernels); a 2-d tensor is one tile (the matrix, as `plt.imshow` shows it), a 1-d one a
1-pixel-high strip. Layers with one spatial dimension (conv1d: [N, C, L], its kernels
[out, in, k]) are drawn as strips, one per leading index, stacked one to a row; layers with
three ([N, C, D, H, W]) as one tile per depth slice, each volume's slices in a row. Tiles run
left to right, top to bottom, `columns` to a row (default ceil(sqrt(tiles)), or as just said),
with PADDING white pixels between and around them (no padding around a single tile, as
make_grid does). An empty tensor (a zero-size dimension) has nothing to draw. The whole grid is
then upscaled by `scale` (nearest), so a grid of r x c tiles of h x w is (r*(h+1)+1)*scale
high and (c*(w+1)+1)*scale wide.

Colours: sequential maps scale min..max to 0..1 (a constant tile is 0); diverging maps are
centred on zero: t = 0.5 + v / (2 max|v|). `global` uses the whole tensor's range, `per_tile` each
tile's own. NaN and infinities are drawn as t = 0 (0.5 on a diverging map). A value t is then
coloured as matplotlib colours it (`colormaps.apply`: entry floor(t * 256) of the map's exact
256-entry table, t = 1 on the last), so a zero on a diverging map is matplotlib's colour at 0.5.
"""

import base64
import io
import math

import numpy as np
import torch
from PIL import Image
from torchvision.utils import make_grid

from schemas.images import Colormap, View
from service.errors import unprocessable
from service.images import colormaps
from service.images.pixel_limit import check_pixels

PADDING = 1
PAD_VALUE = 255


def tile_shape(
    shape: list[int] | torch.Size, spatial_dims: int | None = None
) -> tuple[int, int, int]:
    """(tiles, height, width) of the tiles a tensor of `shape` is drawn as (module docstring);
    `spatial_dims` is the layer's (1 draws strips)."""
    dims = list(shape)
    if len(dims) == 0:
        return 1, 1, 1
    if len(dims) == 1:
        return 1, 1, dims[0]
    if spatial_dims == 1:
        return math.prod(dims[:-1]), 1, dims[-1]
    return math.prod(dims[:-2]), dims[-2], dims[-1]


def default_columns(shape: list[int] | torch.Size, spatial_dims: int | None) -> int | None:
    """Tiles to a row when the request gives no `columns`: strips one to a row, a volume's
    depth slices in one row, else None (ceil(sqrt(tiles)))."""
    if spatial_dims == 1 and len(shape) >= 2:
        return 1
    if spatial_dims == 3 and len(shape) >= 3:
        return max(1, list(shape)[-3])
    return None


def tiles_of(tensor: torch.Tensor, spatial_dims: int | None = None) -> torch.Tensor:
    """Return a tensor as float64 tiles [T, h, w] on the CPU (see the module docstring)."""
    t = tensor.detach().to("cpu", torch.float64)
    return t.reshape(tile_shape(t.shape, spatial_dims))


def grid_size(
    tiles: int, height: int, width: int, columns: int | None, scale: int
) -> tuple[int, int, int]:
    """(columns, pixel height, pixel width) of the grid of `tiles` tiles of height x width."""
    cols = min(tiles, columns or math.ceil(math.sqrt(tiles)))
    rows = math.ceil(tiles / cols)
    if tiles == 1:
        return 1, height * scale, width * scale
    return (
        cols,
        (rows * (height + PADDING) + PADDING) * scale,
        (cols * (width + PADDING) + PADDING) * scale,
    )


def unit_values(tiles: torch.Tensor, colormap: Colormap, normalize: str) -> np.ndarray:
    """Scale tiles [T, h, w] to [0, 1] for the colormap, globally or per tile."""
    x = tiles.numpy()
    finite = np.isfinite(x)
    axes = (1, 2) if normalize == "per_tile" else (0, 1, 2)
    diverging = colormaps.is_diverging(colormap)
    with np.errstate(invalid="ignore", divide="ignore"):
        if diverging:
            mag = np.max(np.where(finite, np.abs(x), 0.0), axis=axes, keepdims=True)
            t = np.where(mag > 0, 0.5 + x / (2 * np.where(mag > 0, mag, 1.0)), 0.5)
        else:
            lo = np.min(np.where(finite, x, np.inf), axis=axes, keepdims=True)
            hi = np.max(np.where(finite, x, -np.inf), axis=axes, keepdims=True)
            span = hi - lo
            ok = np.isfinite(span) & (span > 0)
            t = np.where(ok, (x - lo) / np.where(ok, span, 1.0), 0.0)
    result: np.ndarray = np.where(finite, t, 0.5 if diverging else 0.0)
    return result


def render_png(
    tensor: torch.Tensor,
    *,
    colormap: Colormap,
    normalize: str,
    scale: int,
    columns: int | None,
    max_pixels: int,
    field: str = "body.view",
    spatial_dims: int | None = None,
) -> bytes:
    """Draw a tensor as a PNG grid (mode L for gray, RGB otherwise); 413 when too many pixels,
    422 when the tensor is empty."""
    if tensor.numel() == 0:
        raise unprocessable(
            "empty-tensor",
            field,
            f"the tensor to draw has shape {list(tensor.shape)}: no elements, nothing to draw",
            "draw a view of a run whose shapes have no zero-size dimension",
        )
    tiles = tiles_of(tensor, spatial_dims)
    count, height, width = tiles.shape
    columns = columns or default_columns(tensor.shape, spatial_dims)
    cols, grid_h, grid_w = grid_size(count, height, width, columns, scale)
    check_pixels(
        grid_w,
        grid_h,
        max_pixels,
        field,
        how=f" ({count} tiles of {height} x {width}, scale {scale})",
        fix="lower `scale` or render a smaller tensor",
    )
    rgb = colormaps.apply(colormap, unit_values(tiles, colormap, normalize))
    coloured = torch.from_numpy(np.ascontiguousarray(rgb)).permute(0, 3, 1, 2)
    grid = make_grid(coloured, nrow=cols, padding=PADDING, pad_value=PAD_VALUE)
    if scale > 1:
        grid = grid.repeat_interleave(scale, dim=1).repeat_interleave(scale, dim=2)
    pixels = grid.permute(1, 2, 0).contiguous().numpy()
    image = Image.fromarray(pixels[:, :, 0]) if colormap == "gray" else Image.fromarray(pixels)
    return png_bytes(image)


def png_bytes(image: Image.Image) -> bytes:
    """Encode a Pillow image as PNG."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def data_uri(png: bytes) -> str:
    """A PNG as a `data:image/png;base64,...` URI."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def default_colormap(view: View) -> Colormap:
    """Gray for values, coolwarm (diverging, centred on zero) for gradients."""
    return "coolwarm" if view.endswith("_grad") else "gray"


def view_tensor(
    view: View,
    *,
    input: torch.Tensor,
    output: torch.Tensor,
    weight: torch.Tensor | None,
    backward: bool,
    input_grad: torch.Tensor | None,
    field: str = "body.view",
) -> torch.Tensor:
    """Pick the tensor a view draws; 422 naming the fix when it does not exist in this run."""
    if view == "input":
        return input
    if view == "output":
        return output
    if view in ("weights", "weight_grad") and weight is None:
        raise unprocessable(
            "no-weights",
            field,
            f"view {view!r}: this layer has no `weight` parameter",
            "use view input, output or input_grad, or a layer with weights",
        )
    if view.endswith("_grad") and not backward:
        raise unprocessable(
            "no-gradients",
            field,
            f"view {view!r} needs a backward pass",
            'add "backward": {"target": "sum"}',
        )
    if view == "weights":
        assert weight is not None
        return weight
    grad = input_grad if view == "input_grad" else (weight.grad if weight is not None else None)
    if grad is None:
        raise unprocessable(
            "no-gradients",
            field,
            f"view {view!r}: there is no gradient here (the input does not require grad)",
            'set "requires_grad": true on the input',
        )
    return grad


def default_images(
    *,
    input: torch.Tensor,
    output: torch.Tensor,
    weight: torch.Tensor | None,
    backward: bool,
    input_grad: torch.Tensor | None,
    max_pixels: int,
    spatial_dims: int | None = None,
) -> dict[str, str | None]:
    """Every view there is, as PNG data URIs with the default options (scale 1, global); null
    where the view does not exist in this run or its tensor is empty."""
    images: dict[str, str | None] = {}
    views: tuple[View, ...] = ("input", "output", "weights", "input_grad", "weight_grad")
    for view in views:
        tensor: torch.Tensor | None
        if view == "input":
            tensor = input
        elif view == "output":
            tensor = output
        elif view == "weights":
            tensor = weight
        elif not backward:
            tensor = None
        elif view == "input_grad":
            tensor = input_grad
        else:
            tensor = weight.grad if weight is not None else None
        if tensor is None or tensor.numel() == 0:
            images[view] = None
            continue
        png = render_png(
            tensor,
            colormap=default_colormap(view),
            normalize="global",
            scale=1,
            columns=None,
            max_pixels=max_pixels,
            field="body.include",
            spatial_dims=spatial_dims,
        )
        images[view] = data_uri(png)
    return images
