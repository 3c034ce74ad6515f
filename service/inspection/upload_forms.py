"""The multipart form of the inspect endpoints: `image` (the file), `spec` (the JSON request
without `input`) and `input` (optional JSON: `{"preprocess": {...}, "requires_grad": true}`).

The OpenAPI schema documents `spec` and `input` as the objects they hold, each part sent as
`application/json` (the multipart `encoding`), and `image` as the image types the decoder
reads, so that clients and fuzzers generated from the schema send what the service takes.
"""

from typing import Any, BinaryIO, TypeVar

import orjson
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from schemas.images import ImageInputOptions
from schemas.models import ModelUploadSpec
from schemas.requests import LayerUploadSpec
from service.errors import unprocessable
from service.images.decoding import decode_image, read_limited
from service.planning.inputs import InputPlan, plan_image
from service.settings import Settings

RequestT = TypeVar("RequestT", bound=BaseModel)

IMAGE_MEDIA_TYPES = ("image/png", "image/jpeg", "image/bmp", "image/gif", "image/webp")
"""What the `image` part may be (service/images/decoding.py reads these formats)."""
JSON_FORM_MODELS: tuple[type[BaseModel], ...] = (
    LayerUploadSpec,
    ModelUploadSpec,
    ImageInputOptions,
)
"""The models that form parts hold as JSON, added to the schema's components."""


JSON_PART = "x-json-part"
"""Marks, in FastAPI's schema of a form, a field that holds a model as JSON text."""


def json_part(model: type[BaseModel]) -> dict[str, Any]:
    """The `json_schema_extra` of a form field that holds `model` (one of JSON_FORM_MODELS)
    as JSON text: document_upload_forms documents the field as that object."""
    return {JSON_PART: model.__name__}


def document_upload_forms(openapi: dict[str, Any]) -> None:
    """Add the JSON parts' models to `openapi`'s components, and to every multipart request
    body the `encoding` of its parts: JSON for object parts, the image types for `image`."""
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    for model in JSON_FORM_MODELS:
        definition = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in definition.pop("$defs", {}).items():
            components.setdefault(name, sub)
        components[model.__name__] = definition
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            form = operation.get("requestBody", {}).get("content", {}).get("multipart/form-data")
            if form is None:
                continue
            ref = form["schema"].get("$ref", "")
            body = components[ref.rsplit("/", 1)[-1]] if ref else form["schema"]
            encoding = form.setdefault("encoding", {})
            properties = body.get("properties", {})
            for name, prop in properties.items():
                if JSON_PART in prop:
                    ref = f"#/components/schemas/{prop[JSON_PART]}"
                    properties[name] = {"$ref": ref, "description": prop.get("description", "")}
                    encoding[name] = {"contentType": "application/json"}
                elif name == "image":
                    encoding[name] = {"contentType": ", ".join(IMAGE_MEDIA_TYPES)}


def _json_object(text: str, field: str) -> dict[str, Any]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise unprocessable(
            "invalid-form-json",
            field,
            f"form field {field!r} is not valid JSON ({exc})",
            "send a JSON object",
        ) from exc
    if not isinstance(value, dict):
        raise unprocessable(
            "invalid-form-json",
            field,
            f"form field {field!r} must be a JSON object",
            "send a JSON object",
        )
    return value


def _validate(model: type[RequestT], value: dict[str, Any], field: str) -> RequestT:
    """Validate form JSON; errors leave as the usual 422, located at `body.<field>...`."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        errors = [
            {**err, "loc": ("body", field, *err["loc"])}
            for err in exc.errors(include_url=False, include_context=False)
        ]
        raise RequestValidationError(errors) from exc


def upload_request(
    spec: str,
    options: str | None,
    image: BinaryIO,
    model: type[RequestT],
    settings: Settings,
) -> tuple[RequestT, InputPlan]:
    """Validate the form and preprocess the image: the request and the input plan it runs with.

    The returned request's own `input` is a placeholder of the image's shape: run it with the
    returned plan (which carries the image and the preprocessing echo).
    """
    body = _json_object(spec, "spec")
    if "input" in body:
        raise unprocessable(
            "input-in-spec",
            "spec.input",
            "`spec` must not hold `input`: the uploaded image is the input",
            "remove `input`; put preprocessing options in the form field `input`",
        )
    input_options = ImageInputOptions()
    if options:
        input_options = _validate(ImageInputOptions, _json_object(options, "input"), "input")
    size = input_options.preprocess.size
    side = [size, size] if isinstance(size, int) else list(size)
    request = _validate(model, {**body, "input": {"shape": [1, 1, *side]}}, "spec")
    data = read_limited(image, settings.max_upload_bytes)
    pixels, source = decode_image(data, settings.max_image_pixels)
    plan = plan_image(
        pixels,
        input_options.preprocess,
        input_options.requires_grad,
        source,
        settings,
        field="image",
    )
    return request, plan
