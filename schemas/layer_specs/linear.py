"""Linear layers and lookups: torch.nn.Linear, and torch.nn.Embedding (integer input)."""

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from schemas.base import INTEGRAL
from schemas.layer_specs.base import Features, LayerSpecBase, Positive


class LinearSpec(LayerSpecBase):
    """torch.nn.Linear: y = x A^T + b over the last dimension."""

    TORCH_CLASS: ClassVar[str] = "Linear"
    type: Literal["linear"]
    in_features: Features
    out_features: Features
    bias: bool = True


class EmbeddingSpec(LayerSpecBase):
    """torch.nn.Embedding: int64 indices in [0, num_embeddings) -> rows of the weight.

    Its input is integers: an int64 tensor, or a random input with `"dtype": "int64"` and
    `high` (values drawn in [0, high)).
    """

    TORCH_CLASS: ClassVar[str] = "Embedding"
    type: Literal["embedding"]
    num_embeddings: Features
    embedding_dim: Features
    padding_idx: Annotated[int, Field(ge=-(1 << 24), le=(1 << 24) - 1), INTEGRAL] | None = Field(
        default=None, description="This row's gradient is always zero (it stays a pad)."
    )
    max_norm: Positive | None = Field(
        default=None,
        description="Rows looked up are renormalized in place to at most this norm, as PyTorch "
        "does (the returned weight shows it).",
    )
    norm_type: Positive = 2.0
    scale_grad_by_freq: bool = False
    sparse: bool = Field(
        default=False,
        description="A sparse gradient for the weight, as PyTorch makes it; returned dense.",
    )

    @model_validator(mode="after")
    def _check_padding_idx(self) -> "EmbeddingSpec":
        n = self.num_embeddings
        if self.padding_idx is not None and not -n <= self.padding_idx < n:
            raise ValueError(
                f"padding_idx ({self.padding_idx}) must be within num_embeddings "
                f"({n}), as PyTorch requires: use -{n} to {n - 1}"
            )
        return self


LINEARS = (LinearSpec, EmbeddingSpec)
