"""The multipart form of the model upload routes, declared once: `spec` (the route's request as
JSON), `image` files, a safetensors `weights` file and the images' preprocessing `input`."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, BinaryIO

from fastapi import File, Form, UploadFile
from pydantic import BaseModel

from schemas.images import ImageInputOptions
from service.inspection.upload_forms import json_part


@dataclass(frozen=True)
class ModelUpload:
    """One model form as sent: the spec's JSON text, the files and the options' JSON text."""

    spec: str
    images: list[BinaryIO] = field(default_factory=list)
    weights: BinaryIO | None = None
    options: str | None = None


def model_upload_form(
    spec_model: type[BaseModel], what: str
) -> Callable[..., Awaitable[ModelUpload]]:
    """A dependency declaring the form's fields, `spec` documented as `spec_model`'s JSON (one
    of upload_forms.JSON_FORM_MODELS); `what` names the request in the field's description."""

    async def form(
        spec: Annotated[
            str,
            Form(
                description=f"The {what} request as JSON (`input` left out when images are sent).",
                json_schema_extra=json_part(spec_model),
            ),
        ],
        image: Annotated[
            list[UploadFile] | None,
            File(description="Image files replacing `spec.input`; several make one batch."),
        ] = None,
        weights: Annotated[
            UploadFile | None,
            File(
                description="A safetensors file of the model's state_dict (replaces spec.weights)."
            ),
        ] = None,
        input: Annotated[
            str | None,
            Form(
                description="Preprocessing options as JSON (with images).",
                json_schema_extra=json_part(ImageInputOptions),
            ),
        ] = None,
    ) -> ModelUpload:
        return ModelUpload(
            spec,
            [file.file for file in image or []],
            None if weights is None else weights.file,
            input,
        )

    return form
