"""schemas/base.py: strict models, the Shape and Seed bounds, variant tags."""

import importlib
from typing import Annotated, Any, get_args, get_origin

import pytest
from pydantic import Field, TypeAdapter, ValidationError

from schemas.base import (
    INTEGRAL,
    MAX_DIM_SIZE,
    MAX_RANK,
    MAX_SEED,
    VARIANT_MARK,
    JsonInt,
    ResponseModel,
    Seed,
    Shape,
    StrictModel,
    variant,
)

SHAPE: TypeAdapter[Any] = TypeAdapter(Shape)
SEED: TypeAdapter[Any] = TypeAdapter(Seed)


def test_constants() -> None:
    assert (MAX_DIM_SIZE, MAX_RANK, VARIANT_MARK) == (1 << 24, 8, "~")
    assert variant("x").tag == "~x"


def test_strict_and_response_models_forbid_extras() -> None:
    class Req(StrictModel):
        a: int

    class Resp(ResponseModel):
        a: int

    for cls in (Req, Resp):
        with pytest.raises(ValidationError) as info:
            cls.model_validate({"a": 1, "b": 2})
        assert [(e["loc"], e["type"]) for e in info.value.errors()] == [(("b",), "extra_forbidden")]


class _Typed(StrictModel):
    flag: bool = False
    count: JsonInt = 0
    scale: float = 0.0
    sizes: list[int] = Field(default_factory=list)


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("flag", "yes", "bool_type"),
        ("flag", 1, "bool_type"),
        ("flag", "true", "bool_type"),
        ("count", False, "int_type"),
        ("count", "2", "int_type"),
        ("count", 2.5, "int_type"),
        ("scale", "1.5", "float_type"),
        ("scale", True, "float_type"),
        ("sizes", [1, "2"], "int_type"),
        ("sizes", "12", "list_type"),
    ],
)
def test_strict_models_take_only_the_json_type_the_schema_names(
    field: str, value: Any, kind: str
) -> None:
    with pytest.raises(ValidationError) as info:
        _Typed.model_validate({field: value})
    assert [e["type"] for e in info.value.errors()] == [kind]
    assert info.value.errors()[0]["loc"][0] == field


def test_strict_models_still_take_a_json_integer_as_a_number() -> None:
    typed = _Typed.model_validate({"flag": True, "count": 2, "scale": 1, "sizes": [3]})
    assert (typed.flag, typed.count, typed.scale, typed.sizes) == (True, 2, 1.0, [3])
    assert isinstance(typed.scale, float)


@pytest.mark.parametrize("spelled", [2, 2.0])
def test_json_int_takes_an_integer_however_json_spells_it(spelled: float) -> None:
    """JSON Schema's `integer` is any number with no fraction: `2.0` is 2, as the schema says."""
    count = _Typed.model_validate({"count": spelled}).count
    assert count == 2 and type(count) is int
    assert SEED.validate_python(7.0) == 7 and type(SEED.validate_python(7.0)) is int
    assert SHAPE.validate_python([1.0, 28]) == [1, 28]


def _bare_ints(annotation: Any, metadata: list[Any]) -> int:
    """How many `int`s in a field's type are neither INTEGRAL nor strict on purpose."""
    if annotation is int:
        marked = INTEGRAL in metadata or any(getattr(m, "strict", None) for m in metadata)
        return 0 if marked else 1
    if get_origin(annotation) is Annotated:
        inner, *extra = get_args(annotation)
        flat = [m for e in extra for m in [e, *getattr(e, "metadata", [])]]
        return _bare_ints(inner, flat)
    return sum(_bare_ints(arg, []) for arg in get_args(annotation))


def _request_models() -> list[type[StrictModel]]:
    for module in ("autograd", "images", "inputs", "layer_specs", "models", "requests"):
        importlib.import_module(f"schemas.{module}")
    found: list[type[StrictModel]] = []
    todo = [StrictModel]
    while todo:
        found += (subs := todo.pop().__subclasses__())
        todo += subs
    return [model for model in found if model.__module__.startswith("schemas.")]


def test_every_integer_a_request_takes_is_a_json_integer() -> None:
    """Each `int` of a request model takes `2.0` as 2, as the schema's `integer` says (or is
    strict on purpose, as autograd's scalar arguments, where 2 and 2.0 differ)."""
    models = _request_models()
    assert len(models) > 80
    bare = {
        f"{model.__name__}.{name}"
        for model in models
        for name, field in model.model_fields.items()
        if _bare_ints(field.annotation, field.metadata)
    }
    assert not bare, f"int fields without INTEGRAL (schemas/base.py): {sorted(bare)}"


@pytest.mark.parametrize("shape", [[], [0], [2, 0], [1], [MAX_DIM_SIZE], [1] * MAX_RANK])
def test_shape_accepted(shape: list[int]) -> None:
    assert SHAPE.validate_python(shape) == shape


@pytest.mark.parametrize(
    ("shape", "loc", "kind"),
    [
        ([1] * (MAX_RANK + 1), (), "too_long"),
        ([2, -1], (1,), "greater_than_equal"),
        ([MAX_DIM_SIZE + 1], (0,), "less_than_equal"),
        ([1.5], (0,), "int_from_float"),
    ],
)
def test_shape_refused(shape: list[Any], loc: tuple[int, ...], kind: str) -> None:
    with pytest.raises(ValidationError) as info:
        SHAPE.validate_python(shape)
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [(loc, kind)]


def test_seed_bounds_are_manual_seeds() -> None:
    assert SEED.validate_python(0) == 0
    assert SEED.validate_python(2**53 - 1) == MAX_SEED == 2**53 - 1
    assert float(MAX_SEED) == MAX_SEED  # a float64, as FastAPI writes the schema's bound
    for bad in (-1, 2**53, 2**63):
        with pytest.raises(ValidationError):
            SEED.validate_python(bad)
