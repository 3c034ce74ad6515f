"""Normalization: batch, layer, group, instance and local response norms, with PyTorch's arguments.

In `train` mode batch norms normalize with the batch's statistics and update their running
statistics (`running_mean`, `running_var`, `num_batches_tracked`: buffers, returned and accepted
like parameters); in `eval` mode they use the running statistics.
"""

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from schemas.base import INTEGRAL, MAX_DIM_SIZE, MAX_RANK
from schemas.layer_specs.base import Channels, LayerSpecBase, Positive, Probability, Window

Eps = Annotated[float, Field(gt=0.0, le=1.0, description="Added to the variance for stability.")]
Momentum = Annotated[
    Probability | None,
    Field(description="Weight of the new batch in the running statistics; null: a plain average."),
]


class _BatchNorm(LayerSpecBase):
    """Fields every batch norm has, in PyTorch's order."""

    num_features: Channels
    eps: Eps = 1e-5
    momentum: Momentum = 0.1
    affine: bool = True
    track_running_stats: bool = True
    bias: bool = Field(default=True, description="With `affine`: learn a bias (shift).")


class BatchNorm1dSpec(_BatchNorm):
    """torch.nn.BatchNorm1d: input [N, C] or [N, C, L]."""

    TORCH_CLASS: ClassVar[str] = "BatchNorm1d"
    SPATIAL_DIMS: ClassVar[int | None] = 1
    type: Literal["batchnorm1d"]


class BatchNorm2dSpec(_BatchNorm):
    """torch.nn.BatchNorm2d: input [N, C, H, W]."""

    TORCH_CLASS: ClassVar[str] = "BatchNorm2d"
    SPATIAL_DIMS: ClassVar[int | None] = 2
    type: Literal["batchnorm2d"]


class BatchNorm3dSpec(_BatchNorm):
    """torch.nn.BatchNorm3d: input [N, C, D, H, W]."""

    TORCH_CLASS: ClassVar[str] = "BatchNorm3d"
    SPATIAL_DIMS: ClassVar[int | None] = 3
    type: Literal["batchnorm3d"]


class _InstanceNorm(LayerSpecBase):
    """Fields every instance norm has (PyTorch's defaults: no affine, no running stats)."""

    num_features: Channels
    eps: Eps = 1e-5
    momentum: Momentum = 0.1
    affine: bool = False
    track_running_stats: bool = False
    bias: bool = Field(default=True, description="With `affine`: learn a bias (shift).")


class InstanceNorm1dSpec(_InstanceNorm):
    """torch.nn.InstanceNorm1d: input [N, C, L] or [C, L]."""

    TORCH_CLASS: ClassVar[str] = "InstanceNorm1d"
    SPATIAL_DIMS: ClassVar[int | None] = 1
    type: Literal["instancenorm1d"]


class InstanceNorm2dSpec(_InstanceNorm):
    """torch.nn.InstanceNorm2d: input [N, C, H, W] or [C, H, W]."""

    TORCH_CLASS: ClassVar[str] = "InstanceNorm2d"
    SPATIAL_DIMS: ClassVar[int | None] = 2
    type: Literal["instancenorm2d"]


class InstanceNorm3dSpec(_InstanceNorm):
    """torch.nn.InstanceNorm3d: input [N, C, D, H, W] or [C, D, H, W]."""

    TORCH_CLASS: ClassVar[str] = "InstanceNorm3d"
    SPATIAL_DIMS: ClassVar[int | None] = 3
    type: Literal["instancenorm3d"]


NormalizedSide = Annotated[int, Field(ge=1, le=MAX_DIM_SIZE), INTEGRAL]


class LayerNormSpec(LayerSpecBase):
    """torch.nn.LayerNorm: normalizes over the last dimensions, which must equal
    `normalized_shape`."""

    TORCH_CLASS: ClassVar[str] = "LayerNorm"
    type: Literal["layernorm"]
    normalized_shape: (
        NormalizedSide | Annotated[list[NormalizedSide], Field(min_length=1, max_length=MAX_RANK)]
    )
    eps: Eps = 1e-5
    elementwise_affine: bool = True
    bias: bool = True


class GroupNormSpec(LayerSpecBase):
    """torch.nn.GroupNorm: `num_channels` (dimension 1) split into `num_groups` groups."""

    TORCH_CLASS: ClassVar[str] = "GroupNorm"
    type: Literal["groupnorm"]
    num_groups: Channels
    num_channels: Channels
    eps: Eps = 1e-5
    affine: bool = True
    bias: bool = Field(default=True, description="With `affine`: learn a bias (shift).")

    @model_validator(mode="after")
    def _check_groups(self) -> "GroupNormSpec":
        if self.num_channels % self.num_groups:
            raise ValueError(
                f"num_channels ({self.num_channels}) must be divisible by num_groups "
                f"({self.num_groups}), as PyTorch requires: pick num_groups that divides it"
            )
        return self


class LocalResponseNormSpec(LayerSpecBase):
    """torch.nn.LocalResponseNorm: normalizes over `size` neighbouring channels."""

    TORCH_CLASS: ClassVar[str] = "LocalResponseNorm"
    type: Literal["localresponsenorm"]
    size: Window
    alpha: Positive = 1e-4
    beta: Positive = 0.75
    k: Positive = 1.0


NORMALIZATIONS = (
    BatchNorm1dSpec,
    BatchNorm2dSpec,
    BatchNorm3dSpec,
    InstanceNorm1dSpec,
    InstanceNorm2dSpec,
    InstanceNorm3dSpec,
    LayerNormSpec,
    GroupNormSpec,
    LocalResponseNormSpec,
)
