"""Helpers for the image tests: MNIST pixels, image files made with Pillow, PNG decoding."""

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from service.images import mnist

SHARED_MNIST = Path(__file__).resolve().parents[1] / ".." / "shared" / "mnist"
HAVE_SHARED = (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file()


def digit(index: int = 0) -> tuple[np.ndarray, int]:
    """uint8 [28, 28] pixels and label of a test digit: from ../shared/mnist when there."""
    samples = mnist.sample_set(SHARED_MNIST.resolve() if HAVE_SHARED else None)
    split = samples.splits["test"]
    return split.images[index].numpy(), int(split.labels[index])


def encode(pixels: np.ndarray, fmt: str, **kwargs: object) -> bytes:
    """An image file of the pixels in a Pillow format."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    """PNG bytes to a numpy array (H, W) or (H, W, 3)."""
    image = Image.open(io.BytesIO(data))
    assert image.format == "PNG"
    return np.asarray(image)


def png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header declares width x height (a decompression bomb's header)."""
    data = encode(np.zeros((1, 1), np.uint8), "PNG")
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    start = 8  # signature
    return (
        data[:start]
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + data[start + 8 + 13 + 4 :]
    )


def reference(pixels: np.ndarray, mean: float = 0.5, std: float = 1.0) -> torch.Tensor:
    """What preprocessing must give for a 28x28 white-on-black digit: [1, 1, 28, 28]."""
    x = torch.from_numpy(pixels.astype(np.float32) / 255.0)
    return ((x - mean) / std).reshape(1, 1, *pixels.shape)
