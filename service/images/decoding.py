"""Uploaded image files: read within a byte limit, check the pixel count from the header, decode.

Pillow's `Image.open` only reads the header, so the size is checked before any pixel is
decoded (a decompression bomb is refused with a 413 from its declared width x height). Only
PNG, JPEG, BMP, GIF (first frame) and WebP decoders are tried.
"""

import io
from typing import Any, BinaryIO

import torch
from PIL import Image, ImageOps, UnidentifiedImageError
from torchvision.transforms.v2 import functional as F

from service.errors import ProblemError, field_error
from service.upload_reading import read_within

FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP")


def read_limited(file: BinaryIO, limit: int, field: str = "image") -> bytes:
    """Read `file` in chunks; 413 as soon as it holds more than `limit` bytes (the value of
    LAYERSCOPE_MAX_UPLOAD_BYTES), 422 if empty."""
    return read_within(
        file,
        limit,
        lambda: ProblemError(
            413,
            "upload-too-large",
            f"the uploaded file is over the limit of {limit:,} bytes "
            "(LAYERSCOPE_MAX_UPLOAD_BYTES); send a smaller image",
            title="Upload too large",
            errors=[field_error(field, f"more than {limit:,} bytes", "send a smaller file")],
            context={"limit_bytes": limit, "setting": "LAYERSCOPE_MAX_UPLOAD_BYTES"},
        ),
        lambda: ProblemError(
            422,
            "empty-upload",
            "the uploaded file is empty; send a PNG, JPEG, BMP, GIF or WebP image",
            errors=[field_error(field, "0 bytes", "send an image file")],
        ),
    )


def _not_image(field: str, why: str) -> ProblemError:
    return ProblemError(
        415,
        "unsupported-image",
        f"the uploaded file is not an image this service reads ({why}); send a PNG, JPEG, BMP, "
        "GIF or WebP image",
        title="Unsupported image",
        errors=[field_error(field, why, "send a PNG, JPEG, BMP, GIF or WebP file")],
        context={"formats": list(FORMATS)},
    )


def _too_many_pixels(field: str, width: int, height: int, limit: int) -> ProblemError:
    declared = f"{width} x {height} = {width * height:,} pixels" if width else "(Pillow: bomb)"
    return ProblemError(
        413,
        "image-too-large",
        f"the image declares {declared}, over the limit of {limit:,} pixels; send a smaller image",
        title="Image too large",
        errors=[field_error(field, f"declares {declared}", "send a smaller image")],
        context={"width": width or None, "height": height or None, "limit_pixels": limit},
    )


ORIENTATION_TAG = 0x0112
"""EXIF Orientation."""


def decode_image(
    data: bytes, max_pixels: int, field: str = "image"
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Decode an image file to uint8 [1 or 3, H, W] (alpha composited over white).

    Returns the tensor and what the file was (format, size, mode, bytes). 415 for a file that is
    not a readable image, 413 for too many pixels (checked before decoding), 422 for a
    truncated or corrupt file.
    """
    try:
        img = Image.open(io.BytesIO(data), formats=FORMATS)
    except Image.DecompressionBombError as exc:
        # Pillow's own guard (over twice Image.MAX_IMAGE_PIXELS) fired while reading the header.
        raise _too_many_pixels(field, 0, 0, max_pixels) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _not_image(field, "no PNG, JPEG, BMP, GIF or WebP header") from exc
    width, height = img.size
    if width * height > max_pixels:
        raise _too_many_pixels(field, width, height, max_pixels)
    source = {
        "kind": "upload",
        "format": img.format,
        "width": width,
        "height": height,
        "mode": img.mode,
        "bytes": len(data),
        "frames": getattr(img, "n_frames", 1),
    }
    try:
        img.seek(0)
        img.load()
        orientation = img.getexif().get(ORIENTATION_TAG, 1)
        # A phone photo of a drawing is stored sideways with an EXIF Orientation tag; apply it,
        # as an image viewer would, so the digit stands upright.
        upright = ImageOps.exif_transpose(img) if orientation != 1 else img
        source["exif_orientation"] = orientation
        tensor = F.pil_to_tensor(_to_l_or_rgb(upright))
    except Image.DecompressionBombError as exc:
        raise _too_many_pixels(field, width, height, max_pixels) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ProblemError(
            422,
            "corrupt-image",
            f"the {img.format} file could not be decoded ({exc}); it may be truncated or "
            "corrupt: send the whole file",
            title="Corrupt image",
            errors=[field_error(field, str(exc), "send a complete, valid image file")],
        ) from exc
    return tensor, source


def _to_l_or_rgb(img: Image.Image) -> Image.Image:
    """Gray images stay one channel; anything with alpha is composited over white."""
    if img.mode in ("L", "RGB"):
        return img
    has_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
    if has_alpha:
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if img.mode in ("1", "I", "I;16", "F"):
        return img.convert("L")
    return img.convert("RGB")
