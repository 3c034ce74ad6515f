"""schemas/explain_examples.py: every worked example validates as its route's request, and runs
(tests/explain/test_examples.py answers each one)."""

from typing import Any

import pytest
from pydantic import BaseModel

from schemas.explain import AttributeRequest, LayerSweepRequest, ReceptiveFieldRequest
from schemas.explain_examples import ATTRIBUTE_EXAMPLES, RECEPTIVE_FIELD_EXAMPLES, SWEEP_EXAMPLES

ALL = (
    [(ReceptiveFieldRequest, name, example) for name, example in RECEPTIVE_FIELD_EXAMPLES.items()]
    + [(AttributeRequest, name, example) for name, example in ATTRIBUTE_EXAMPLES.items()]
    + [(LayerSweepRequest, name, example) for name, example in SWEEP_EXAMPLES.items()]
)


@pytest.mark.parametrize(("model", "name", "example"), ALL, ids=[name for _, name, _ in ALL])
def test_example_validates_as_written(
    model: type[BaseModel], name: str, example: dict[str, Any]
) -> None:
    assert example["summary"]
    request = model.model_validate(example["value"])
    assert request.model_dump(mode="json", exclude_unset=True) == example["value"]
