"""Layer specs: one model per torch.nn layer type, with PyTorch's own argument names and defaults.

Naming rule: `type` is the PyTorch class name lowercased (`nn.BatchNorm2d` -> `batchnorm2d`,
`nn.ConvTranspose2d` -> `convtranspose2d`); activations are `{"type": "activation", "name":
...}` with PyTorch's functional name in snake_case (`relu6`, `log_softmax`). `LayerSpec` is a
union discriminated on `type` (and, for activations, on `name`), so each layer accepts exactly
its own arguments. Each spec names its `torch.nn` class (`TORCH_CLASS`); the service builds it
with `getattr(torch.nn, TORCH_CLASS)(**spec.arguments())`.
"""

from typing import TYPE_CHECKING, Annotated, Any, TypeAlias, Union

from pydantic import Discriminator

from schemas.base import VARIANT_MARK, variant
from schemas.layer_specs.activations import (
    ACTIVATIONS,
    ActivationSpecBase,
    ELUSpec,
    GELUSpec,
    LeakyReLUSpec,
    LogSoftmaxSpec,
    ReLUSpec,
    SigmoidSpec,
    SiLUSpec,
    SoftmaxSpec,
    TanhSpec,
)
from schemas.layer_specs.base import LayerSpecBase, ntuple
from schemas.layer_specs.convolution import (
    CONVOLUTIONS,
    Conv1dSpec,
    Conv2dSpec,
    Conv3dSpec,
    ConvTranspose1dSpec,
    ConvTranspose2dSpec,
    ConvTranspose3dSpec,
)
from schemas.layer_specs.dropout import DROPOUTS
from schemas.layer_specs.linear import LINEARS, EmbeddingSpec, LinearSpec
from schemas.layer_specs.normalization import NORMALIZATIONS, BatchNorm2dSpec
from schemas.layer_specs.pooling import POOLS, MaxPool2dSpec
from schemas.layer_specs.shape import SHAPES, FlattenSpec, UpsampleSpec

LAYER_TYPES: tuple[type[LayerSpecBase], ...] = (
    *CONVOLUTIONS,
    *POOLS,
    *NORMALIZATIONS,
    *DROPOUTS,
    *SHAPES,
    *LINEARS,
)
"""Every layer type but the activations, in the order the docs list them."""

ACTIVATION_TYPES: tuple[type[ActivationSpecBase], ...] = ACTIVATIONS
ALL_SPECS: tuple[type[LayerSpecBase], ...] = (*LAYER_TYPES, *ACTIVATION_TYPES)


def type_name(spec: type[LayerSpecBase]) -> str:
    """The `type` a spec class answers to (`conv2d`), or `activation:<name>`."""
    fields = spec.model_fields
    tag = fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
    if issubclass(spec, ActivationSpecBase):
        return f"{tag}:{fields['name'].annotation.__args__[0]}"  # type: ignore[union-attr]
    return str(tag)


TYPE_NAMES = [type_name(spec) for spec in LAYER_TYPES]
ACTIVATION_NAMES = [type_name(spec).split(":", 1)[1] for spec in ACTIVATION_TYPES]
BY_TAG: dict[str, type[LayerSpecBase]] = {type_name(spec): spec for spec in ALL_SPECS}


def _layer_tag(value: Any) -> str | None:
    """Pick a union member by `type`, and for activations by `name` too."""

    def get(key: str) -> Any:
        return value.get(key) if isinstance(value, dict) else getattr(value, key, None)

    kind = get("type")
    if kind == "activation":
        return f"{VARIANT_MARK}activation:{get('name')}"
    return VARIANT_MARK + kind if isinstance(kind, str) else None


_UNION: Any = Union[tuple(Annotated[spec, variant(type_name(spec))] for spec in ALL_SPECS)]  # noqa: UP007

if TYPE_CHECKING:
    LayerSpec: TypeAlias = LayerSpecBase
else:
    LayerSpec = Annotated[
        _UNION,
        Discriminator(
            _layer_tag,
            custom_error_type="missing_layer_type",
            custom_error_message=(
                "a layer needs `type`, one of: "
                + ", ".join([*TYPE_NAMES, "activation"])
                + "; an activation needs `name`, one of: "
                + ", ".join(ACTIVATION_NAMES)
            ),
        ),
    ]
"""One layer, chosen by `type` (and, for activations, by `name`)."""

__all__ = [
    "ACTIVATION_NAMES",
    "ACTIVATION_TYPES",
    "ALL_SPECS",
    "BY_TAG",
    "LAYER_TYPES",
    "TYPE_NAMES",
    "ActivationSpecBase",
    "BatchNorm2dSpec",
    "Conv1dSpec",
    "Conv2dSpec",
    "Conv3dSpec",
    "ConvTranspose1dSpec",
    "ConvTranspose2dSpec",
    "ConvTranspose3dSpec",
    "ELUSpec",
    "EmbeddingSpec",
    "FlattenSpec",
    "GELUSpec",
    "LayerSpec",
    "LayerSpecBase",
    "LeakyReLUSpec",
    "LinearSpec",
    "LogSoftmaxSpec",
    "MaxPool2dSpec",
    "ReLUSpec",
    "SiLUSpec",
    "SigmoidSpec",
    "SoftmaxSpec",
    "TanhSpec",
    "UpsampleSpec",
    "ntuple",
    "type_name",
]
