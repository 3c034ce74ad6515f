"""Dropout: zeroes elements (or whole channels) with probability `p` in `train` mode, scaling the
rest by 1/(1-p); the identity in `eval` mode. The mask comes from the request's `forward_seed`.

`inplace` is not offered: layerscope keeps every layer's input readable for the report.
"""

from typing import ClassVar, Literal

from schemas.layer_specs.base import LayerSpecBase, Probability


class DropoutSpec(LayerSpecBase):
    """torch.nn.Dropout: any input."""

    TORCH_CLASS: ClassVar[str] = "Dropout"
    type: Literal["dropout"]
    p: Probability = 0.5


class Dropout1dSpec(LayerSpecBase):
    """torch.nn.Dropout1d: whole channels of [N, C, L] or [C, L]."""

    TORCH_CLASS: ClassVar[str] = "Dropout1d"
    SPATIAL_DIMS: ClassVar[int | None] = 1
    type: Literal["dropout1d"]
    p: Probability = 0.5


class Dropout2dSpec(LayerSpecBase):
    """torch.nn.Dropout2d: whole channels of [N, C, H, W] or [C, H, W]."""

    TORCH_CLASS: ClassVar[str] = "Dropout2d"
    SPATIAL_DIMS: ClassVar[int | None] = 2
    type: Literal["dropout2d"]
    p: Probability = 0.5


class Dropout3dSpec(LayerSpecBase):
    """torch.nn.Dropout3d: whole channels of [N, C, D, H, W] or [C, D, H, W]."""

    TORCH_CLASS: ClassVar[str] = "Dropout3d"
    SPATIAL_DIMS: ClassVar[int | None] = 3
    type: Literal["dropout3d"]
    p: Probability = 0.5


class AlphaDropoutSpec(LayerSpecBase):
    """torch.nn.AlphaDropout: keeps the mean and variance of SELU activations."""

    TORCH_CLASS: ClassVar[str] = "AlphaDropout"
    type: Literal["alphadropout"]
    p: Probability = 0.5


DROPOUTS = (DropoutSpec, Dropout1dSpec, Dropout2dSpec, Dropout3dSpec, AlphaDropoutSpec)
