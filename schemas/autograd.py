"""POST /v1/autograd: a small computation graph of named tensors, and what autograd makes of it.

A request names its leaf tensors, lists the steps (ops) that make new named tensors from earlier
ones, and may ask for a backward pass. The response reports, for every named tensor in the order
it was defined: shape, dtype, `requires_grad`, `is_leaf`, `grad_fn`, `next_functions`, its value
and its `.grad`.
"""

from typing import Annotated, Literal

from pydantic import Field

from schemas.base import (
    INTEGRAL,
    MAX_DIM_SIZE,
    MAX_RANK,
    JsonInt,
    ResponseModel,
    Seed,
    Shape,
    StrictModel,
    keys_by_pattern,
    variant,
)
from schemas.inputs import key_discriminator
from schemas.requests import DeviceOption, EncodingOption
from schemas.tensors import TensorData, TensorOut

MAX_GRAPH_TENSORS = 64
"""Most leaf tensors in one request; also the most ops."""
MAX_REPEAT = 16
"""Most backward passes in one request (`backward.repeat`)."""

NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}$"
Name = Annotated[
    str,
    Field(
        pattern=NAME_PATTERN,
        description="An identifier: a letter or `_`, then letters, digits or `_` (64 at most).",
    ),
]
"""The name of a tensor in the graph."""

MAX_INT_ARG = 2**53
Integer = Annotated[int, Field(strict=True, ge=-MAX_INT_ARG, le=MAX_INT_ARG)]
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Arg = Annotated[
    Name | Integer | Number,
    Field(description="The name of an earlier tensor, or a number (a Python scalar to PyTorch)."),
]
"""One argument of an op."""

OpName = Literal[
    "add",
    "sub",
    "mul",
    "div",
    "pow",
    "neg",
    "exp",
    "log",
    "sqrt",
    "abs",
    "relu",
    "sigmoid",
    "tanh",
    "matmul",
    "sum",
    "mean",
    "view",
    "reshape",
    "detach",
]
"""The ops there are (a fixed table; nothing is ever evaluated)."""

DimIndex = Annotated[int, Field(ge=-MAX_RANK, le=MAX_RANK - 1), INTEGRAL]
ViewDim = Annotated[int, Field(ge=-1, le=MAX_DIM_SIZE), INTEGRAL]

_REQUIRES_GRAD = Field(
    default=True,
    description="Track gradients (`requires_grad=True`). Default true, unlike torch.tensor: "
    "this endpoint exists to show gradients; set false for a constant.",
)


class TensorLeaf(StrictModel):
    """Explicit values: `torch.tensor(data).view(shape)`, as float32."""

    tensor: TensorData
    requires_grad: bool = _REQUIRES_GRAD


class FillLeaf(StrictModel):
    """Every element the same: `torch.full(shape, fill)`, e.g. `torch.ones` with fill 1."""

    fill: Number
    shape: Shape
    requires_grad: bool = _REQUIRES_GRAD


class RandomLeaf(StrictModel):
    """Seeded standard-normal values: `torch.manual_seed(seed); torch.randn(*shape)`."""

    shape: Shape
    seed: Seed = 0
    requires_grad: bool = _REQUIRES_GRAD


LeafSpec = Annotated[
    Annotated[TensorLeaf, variant("tensor")]
    | Annotated[FillLeaf, variant("fill")]
    | Annotated[RandomLeaf, variant("random")],
    key_discriminator({"tensor": "tensor", "fill": "fill", "shape": "random"}),
]
"""A leaf: `{"tensor": {...}}`, `{"fill": 1.0, "shape": [...]}` or `{"shape": [...], "seed": N}`."""


class OpSpec(StrictModel):
    """One step: `name = op(*args, **options)`, e.g. `{"name": "b", "op": "add", "args": ["a", 2]}`.

    Arity: `neg exp log sqrt abs relu sigmoid tanh sum mean view reshape detach` take one tensor;
    `add sub mul div pow` take two arguments, at least one a tensor (`pow` with a number first is
    `2 ** x`); `matmul` takes two tensors. `dim` and `keepdim` are for `sum` and `mean` only;
    `shape` is for `view` and `reshape` only, and required there.
    """

    name: Name = Field(description="The name of the tensor this step makes; defined once.")
    op: OpName
    args: list[Arg] = Field(
        min_length=1, max_length=2, description="Names of earlier tensors, or numbers."
    )
    dim: DimIndex | Annotated[list[DimIndex], Field(min_length=1, max_length=MAX_RANK)] | None = (
        Field(default=None, description="`sum`/`mean` only: the dimension(s) to reduce.")
    )
    keepdim: bool | None = Field(
        default=None, description="`sum`/`mean` only, with `dim`: keep reduced dimensions as 1."
    )
    shape: Annotated[list[ViewDim], Field(max_length=MAX_RANK)] | None = Field(
        default=None, description="`view`/`reshape` only: the new shape; one entry may be -1."
    )
    no_grad: bool = Field(
        default=False,
        description="Run this step under `torch.no_grad()`: its result does not require grad.",
    )


class AutogradBackward(StrictModel):
    """`of.backward(grad_output)`, `repeat` times with `retain_graph=True`."""

    of: Name = Field(description="The tensor to differentiate: `of.backward()`.")
    grad_output: TensorData | None = Field(
        default=None,
        description="The vector of `of.backward(v)`, of `of`'s shape; required unless `of` is a "
        "scalar.",
    )
    retain_grad: list[Name] = Field(
        default_factory=list,
        max_length=MAX_GRAPH_TENSORS * 2,
        description="Non-leaf tensors whose `.grad` to keep (`t.retain_grad()`); without it "
        "PyTorch leaves a non-leaf's `.grad` None.",
    )
    repeat: JsonInt = Field(
        default=1,
        ge=1,
        le=MAX_REPEAT,
        description="How many times to call backward (with retain_graph=True): `.grad` "
        "accumulates, so `repeat: 2` doubles every gradient.",
    )


class AutogradRequest(StrictModel):
    """Named leaves, ordered steps, and an optional backward pass."""

    tensors: dict[Name, LeafSpec] = Field(
        min_length=1,
        max_length=MAX_GRAPH_TENSORS,
        description='The leaf tensors by name, e.g. `{"a": {"fill": 1.0, "shape": [2, 2]}}`.',
        json_schema_extra=keys_by_pattern,
    )
    ops: list[OpSpec] = Field(
        default_factory=list,
        max_length=MAX_GRAPH_TENSORS,
        description="Steps, run in order; each may use the leaves and earlier steps' names.",
    )
    backward: AutogradBackward | None = Field(
        default=None, description="A backward pass; absent = forward only (every grad null)."
    )
    encoding: EncodingOption = "json"
    device: DeviceOption = None


class GraphTensorOut(ResponseModel):
    """One named tensor as autograd sees it."""

    op: str | None = Field(description="The op that made it; null for a leaf.")
    shape: list[int]
    dtype: str
    requires_grad: bool
    is_leaf: bool
    grad_fn: str | None = Field(
        description="Class name of its autograd node, e.g. AddBackward0; null for leaves and "
        "for tensors made under no_grad or by detach."
    )
    next_functions: list[str | None] = Field(
        description="The named tensors grad_fn's inputs come from, in the order of PyTorch's "
        "`grad_fn.next_functions`: a leaf's name for its AccumulateGrad, a step's name for its "
        "grad_fn, null where PyTorch has None (a number, or a tensor that does not require "
        "grad). Nodes PyTorch makes inside one op (e.g. a batched matmul's mm and views) are "
        "followed through to the named tensors. Empty when grad_fn is null."
    )
    value: TensorOut
    grad: TensorOut | None = Field(
        description="`.grad` after the backward pass(es); null where PyTorch leaves it None: "
        "forward only, a non-leaf without retain_grad, a tensor the backward did not reach."
    )


class AutogradTiming(ResponseModel):
    """Milliseconds of torch work (CUDA-synchronized); backward is null without a backward."""

    forward_ms: float
    backward_ms: float | None


class AutogradResponse(ResponseModel):
    """Every named tensor, leaves first (in request order), then each step's result in order."""

    device: str
    timing_ms: AutogradTiming
    tensors: dict[str, GraphTensorOut]
