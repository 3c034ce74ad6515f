"""A batch of digits as one picture, as the seed draws it: a grid of the samples, each titled
with its label.

Each digit is drawn with its own pixels (uint8, white on black), upscaled `scale` times
(nearest), under a white title band where Pillow's ImageDraw writes `title(label, index)`
("7 (#1234)": the label, then the position in the split) in black, in Pillow's built-in
default font (`ImageFont.load_default`, shipped inside Pillow: no font file, nothing
downloaded) at `font_size(scale)` pixels, centred. Cells run left to right, top to bottom,
`columns` to a row, with GAP white pixels between and around them; a cell is as wide as the
wider of its digit and the widest title (plus TITLE_PAD on each side), the digit centred in it.
`GridLayout` gives every box.
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from service.images.pixel_limit import check_pixels
from service.images.rendering import png_bytes

GAP = 4
"""White pixels between cells and around the grid."""
TITLE_PAD = 2
"""White pixels above and below a title's line, and on each side of the widest title."""
BACKGROUND = 255
INK = 0


def font_size(scale: int) -> int:
    """The titles' font size in pixels: 5 per unit of scale, at least 10, at most 64."""
    return min(64, max(10, 5 * scale))


def title_font(scale: int) -> ImageFont.FreeTypeFont:
    """Pillow's built-in default font at `font_size(scale)` (Aileron, embedded in Pillow; its
    wheels always carry FreeType, which sizes it)."""
    font = ImageFont.load_default(size=font_size(scale))
    if not isinstance(font, ImageFont.FreeTypeFont):
        raise RuntimeError("Pillow is built without FreeType: the batch titles need it")
    return font


def title(label: int, index: int) -> str:
    """A sample's title: its label, then its position in the split."""
    return f"{label} (#{index})"


@dataclass(frozen=True)
class GridLayout:
    """Where everything goes in a grid of `count` cells, `columns` to a row."""

    count: int
    columns: int
    digit_height: int
    digit_width: int
    cell_width: int
    band_height: int

    @property
    def rows(self) -> int:
        """Rows of cells."""
        return math.ceil(self.count / self.columns)

    @property
    def cell_height(self) -> int:
        """A title band and a digit."""
        return self.band_height + self.digit_height

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the picture."""
        return (
            self.columns * (self.cell_width + GAP) + GAP,
            self.rows * (self.cell_height + GAP) + GAP,
        )

    def cell_origin(self, i: int) -> tuple[int, int]:
        """(left, top) of cell i."""
        row, column = divmod(i, self.columns)
        return GAP + column * (self.cell_width + GAP), GAP + row * (self.cell_height + GAP)

    def band_box(self, i: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of cell i's title band, right and bottom exclusive."""
        left, top = self.cell_origin(i)
        return left, top, left + self.cell_width, top + self.band_height

    def digit_box(self, i: int) -> tuple[int, int, int, int]:
        """(left, top, right, bottom) of cell i's digit, right and bottom exclusive."""
        left, top = self.cell_origin(i)
        left += (self.cell_width - self.digit_width) // 2
        top += self.band_height
        return left, top, left + self.digit_width, top + self.digit_height


def grid_layout(
    count: int, columns: int, scale: int, digit_shape: tuple[int, int], titles: list[str]
) -> GridLayout:
    """The layout of `count` digits of `digit_shape` (height, width) titled `titles`."""
    font = title_font(scale)
    ascent, descent = font.getmetrics()
    widest = max((math.ceil(font.getlength(text)) for text in titles), default=0)
    digit_h, digit_w = digit_shape[0] * scale, digit_shape[1] * scale
    return GridLayout(
        count=count,
        columns=max(1, min(columns, count)),
        digit_height=digit_h,
        digit_width=digit_w,
        cell_width=max(digit_w, widest + 2 * TITLE_PAD),
        band_height=ascent + descent + 2 * TITLE_PAD,
    )


def draw_batch(
    digits: torch.Tensor,
    labels: list[int],
    indices: list[int],
    *,
    columns: int,
    scale: int,
    max_pixels: int,
    field: str = "query.scale",
) -> bytes:
    """Draw uint8 digits [N, H, W] titled with their labels and positions as an 8-bit gray PNG;
    413 when the picture would have more than `max_pixels` pixels (checked before drawing)."""
    titles = [title(label, index) for label, index in zip(labels, indices, strict=True)]
    shape = (int(digits.shape[-2]), int(digits.shape[-1]))
    layout = grid_layout(len(titles), columns, scale, shape, titles)
    width, height = layout.size
    check_pixels(width, height, max_pixels, field, fix="lower `scale` or `batch_size`")
    canvas = np.full((height, width), BACKGROUND, dtype=np.uint8)
    big = digits.repeat_interleave(scale, dim=-2).repeat_interleave(scale, dim=-1).numpy()
    for i in range(layout.count):
        left, top, right, bottom = layout.digit_box(i)
        canvas[top:bottom, left:right] = big[i]
    image = Image.fromarray(canvas)
    draw = ImageDraw.Draw(image)
    font = title_font(scale)
    for i, text in enumerate(titles):
        left, top, right, _ = layout.band_box(i)
        draw.text(((left + right) // 2, top + TITLE_PAD), text, fill=INK, font=font, anchor="ma")
    return png_bytes(image)
