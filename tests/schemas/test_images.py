"""schemas/images.py: preprocessing and rendering options, their defaults and bounds."""

from typing import Any

import pytest
from pydantic import ValidationError

from schemas.images import (
    MAX_IMAGE_SIDE,
    MAX_RENDER_SCALE,
    ImageInputOptions,
    PreprocessOptions,
    RenderOptions,
)


def kinds(cls: Any, raw: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as info:
        cls.model_validate(raw)
    return [(tuple(e["loc"]), e["type"]) for e in info.value.errors()]


def test_defaults() -> None:
    p = PreprocessOptions()
    assert (p.invert, p.size, p.mean, p.std) == ("auto", 28, 0.5, 1.0)
    i = ImageInputOptions()
    assert i.requires_grad is True and i.preprocess == PreprocessOptions()
    r = RenderOptions()
    assert (r.view, r.colormap, r.normalize, r.scale, r.columns) == (
        "output",
        None,
        "global",
        1,
        None,
    )


def test_preprocess_bounds() -> None:
    assert PreprocessOptions(size=MAX_IMAGE_SIDE).size == 512
    assert PreprocessOptions(size=[1, 512]).size == [1, 512]
    assert kinds(PreprocessOptions, {"std": 0})[0] == (("std",), "greater_than")
    assert kinds(PreprocessOptions, {"mean": 2e6})[0] == (("mean",), "less_than_equal")
    found = kinds(PreprocessOptions, {"size": 513})
    assert (("size", "constrained-int"), "less_than_equal") in found
    found = kinds(PreprocessOptions, {"size": [28, 28, 28]})
    assert (("size", "list[constrained-int]"), "too_long") in found
    found = kinds(PreprocessOptions, {"invert": "sometimes"})
    assert {loc[0] for loc, _ in found} == {"invert"}


def test_render_bounds() -> None:
    assert RenderOptions(scale=MAX_RENDER_SCALE).scale == 32
    assert kinds(RenderOptions, {"scale": 33}) == [(("scale",), "less_than_equal")]
    assert kinds(RenderOptions, {"columns": 0}) == [(("columns",), "greater_than_equal")]
    assert kinds(RenderOptions, {"view": "bias"}) == [(("view",), "literal_error")]
    assert kinds(RenderOptions, {"colormap": "hot"}) == [(("colormap",), "literal_error")]
    assert kinds(ImageInputOptions, {"preprocess": {"foo": 1}}) == [
        (("preprocess", "foo"), "extra_forbidden")
    ]
