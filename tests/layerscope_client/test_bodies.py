"""layerscope_client.bodies: requests as the fields they were given; dicts the schemas refuse go
as they are (for the service's problem details)."""

import pytest

from layerscope_client.bodies import body_of, with_encoding
from schemas.models import ModelInspectRequest
from schemas.requests import LayerInspectRequest

MNIST = {"layer": {"type": "flatten"}, "input": {"mnist": {"index": 3}}}


def test_a_model_is_sent_as_the_fields_it_was_given() -> None:
    request = LayerInspectRequest.model_validate(MNIST)
    assert body_of(LayerInspectRequest, request) == MNIST
    assert body_of(LayerInspectRequest, MNIST) == MNIST
    # A full dump, defaults included, is the same request: the service takes it too.
    full = LayerInspectRequest.model_validate(request.model_dump(mode="json"))
    assert body_of(LayerInspectRequest, full) != MNIST and full == request


def test_a_refused_dict_goes_as_it_is() -> None:
    refused = {"layer": {"type": "flatten", "start_dim": "x"}, "input": {"shape": [1, 2]}}
    assert body_of(LayerInspectRequest, refused) == refused


def test_an_upload_spec_goes_without_input() -> None:
    spec = LayerInspectRequest.model_validate(MNIST | {"dtype": "float64"})
    assert body_of(LayerInspectRequest, spec, uploaded=True) == {
        "layer": {"type": "flatten"},
        "dtype": "float64",
    }
    assert body_of(ModelInspectRequest, {"layers": [{"type": "flatten"}]}, uploaded=True) == {
        "layers": [{"type": "flatten"}]
    }
    # A dict that holds an input keeps it: the service says it must not.
    assert body_of(LayerInspectRequest, MNIST, uploaded=True) == MNIST


def test_a_model_of_another_request_is_refused() -> None:
    with pytest.raises(TypeError, match="LayerInspectRequest"):
        other = ModelInspectRequest.model_validate(
            {"layers": [{"type": "flatten"}], "input": MNIST["input"]}
        )
        body_of(LayerInspectRequest, other)


def test_the_encoding_is_a_default() -> None:
    assert with_encoding({"a": 1}, "safetensors") == {"a": 1, "encoding": "safetensors"}
    assert with_encoding({"encoding": "json"}, "safetensors") == {"encoding": "json"}
