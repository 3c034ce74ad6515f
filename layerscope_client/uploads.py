"""The multipart forms: image files and a safetensors weights file from bytes, the caller's
local paths, or (weights) a mapping of arrays or tensors such as a `state_dict()`."""

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import save as save_numpy

FileLike = bytes | str | os.PathLike[str]
"""A file's bytes, or the path of a local file (read by the client, never sent as a path)."""

Images = FileLike | Sequence[FileLike]
"""One image file, or several (one batch, in order)."""

Weights = FileLike | Mapping[str, Any]
"""A safetensors file, or the tensors to make one of (numpy arrays or torch tensors, e.g. a
`state_dict()`)."""

FormFile = tuple[str, tuple[str, bytes, str]]
"""One file part of an httpx multipart form: (field, (file name, bytes, media type))."""


def _read(file: FileLike, default_name: str) -> tuple[str, bytes]:
    """The file's name and bytes: a path is read here; bytes are named `default_name`."""
    if isinstance(file, bytes):
        return default_name, file
    path = Path(file)
    return path.name, path.read_bytes()


def image_parts(images: Images | None) -> list[FormFile]:
    """The `image` parts, in order."""
    if images is None:
        return []
    files = [images] if isinstance(images, bytes | str | os.PathLike) else list(images)
    parts = []
    for i, file in enumerate(files):
        name, data = _read(file, f"image-{i}")
        parts.append(("image", (name, data, "application/octet-stream")))
    return parts


def weights_bytes(weights: Weights) -> tuple[str, bytes]:
    """A safetensors file's name and bytes: read from a path, as given, or saved from a mapping
    of tensors (torch tensors with safetensors.torch, keeping bfloat16; else numpy arrays)."""
    if not isinstance(weights, Mapping):
        return _read(weights, "weights.safetensors")
    if any(type(v).__module__.split(".")[0] == "torch" for v in weights.values()):
        from safetensors.torch import save as save_torch

        tensors = {k: v.detach().cpu().contiguous() for k, v in weights.items()}
        return "weights.safetensors", save_torch(tensors)
    arrays = {k: np.ascontiguousarray(v) for k, v in weights.items()}
    return "weights.safetensors", save_numpy(arrays)


def weights_parts(weights: Weights | None) -> list[FormFile]:
    """The `weights` part, if any."""
    if weights is None:
        return []
    name, data = weights_bytes(weights)
    return [("weights", (name, data, "application/octet-stream"))]


def form_fields(spec: dict[str, Any], options: Mapping[str, Any] | None) -> dict[str, str]:
    """The form's text fields: `spec` and, when given, `input` (preprocessing options)."""
    fields = {"spec": json.dumps(spec)}
    if options is not None:
        fields["input"] = json.dumps(dict(options))
    return fields
