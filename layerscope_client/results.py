"""What an inspection returns: the report as the `schemas` response model, and the tensors."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Generic, TypeVar

from pydantic import BaseModel

from layerscope_client.arrays import Array, json_bits, to_array
from schemas.tensors import TensorOut

ReportT = TypeVar("ReportT", bound=BaseModel)


@dataclass(frozen=True)
class Result(Generic[ReportT]):
    """A response with tensors: `report` (the `schemas` model: shapes, stats, grad_fn, ...) and
    the values, as numpy arrays or torch tensors (see `layerscope_client.arrays`).

    `tensors` holds a binary response's entries by their dotted names (`output`,
    `parameters.weight.grad`, `layers.fc.output`, `tensors.b.grad`, ...); `array(t)` gives the
    values of a tensor object of the report, through its `key` (or, in a JSON response, from
    its own `data` or `data_b64`).
    """

    report: ReportT
    tensors: Mapping[str, Array] = field(default_factory=dict)
    torch: ModuleType | None = field(default=None, repr=False)

    def array(self, tensor: TensorOut | None) -> Array:
        """The values of one tensor object of the report, e.g.
        `result.array(result.report.output.grad)`."""
        if tensor is None:
            raise ValueError("no tensor here: the report has null (e.g. no backward pass)")
        if tensor.key is not None:
            return self.tensors[tensor.key]
        return to_array(json_bits(tensor), self.torch)

    def __getitem__(self, key: str) -> Array:
        """A binary response's entry by its name, e.g. `result["output.grad"]`."""
        return self.tensors[key]
