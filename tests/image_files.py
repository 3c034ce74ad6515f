"""Helpers for the image tests: MNIST pixels, image files made with Pillow, PNG decoding."""

import gzip
import io
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

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


def seed_transform(
    image: torch.Tensor | np.ndarray, mean: float = 0.5, std: float = 1.0
) -> torch.Tensor:
    """The seed's transforms on a uint8 gray image ([H, W] or [1, H, W]), as `datasets.MNIST`
    applies them to the PIL image it makes: `Compose([ToTensor(), Normalize((mean,), (std,))])`.
    Returns float32 [1, H, W]."""
    array = image.numpy() if isinstance(image, torch.Tensor) else image
    pil = Image.fromarray(np.ascontiguousarray(array.reshape(array.shape[-2:])))
    compose = transforms.Compose([transforms.ToTensor(), transforms.Normalize((mean,), (std,))])
    out: torch.Tensor = compose(pil)
    return out


def torchvision_mnist(
    root: Path, source: Path, train: bool = False, transform: Any = None
) -> datasets.MNIST:
    """torchvision's own `datasets.MNIST` reading the IDX files of `source` (gzipped, as shipped).

    It reads `<root>/MNIST/raw/<name>` unzipped, and looks for all four files of both splits
    before it reads one (`download=False`: nothing is fetched). So the asked split's two files
    are unzipped there, and the other split's, when `source` lacks them, are left as empty
    placeholders: the class reads only the split asked for.
    """
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, _ in datasets.MNIST.resources:
        stem = name.removesuffix(".gz")
        target = raw / stem
        if target.exists():
            continue
        if (source / name).is_file():
            with gzip.open(source / name, "rb") as zipped:
                target.write_bytes(zipped.read())
        else:
            target.touch()
    return datasets.MNIST(str(root), train=train, transform=transform, download=False)


SEED_TRANSFORM = transforms.Compose(
    [transforms.ToTensor(), transforms.Normalize(mean=(0.5,), std=(1.0,))]
)
"""The seed's transforms, as its notebook writes them."""


def seed_batch(
    dataset: Any, batch_size: int, shuffle: bool, seed: int, batch: int, drop_last: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch `batch` of the seed's DataLoader over `dataset`, with the generator seeded."""
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        drop_last=drop_last,
        generator=torch.Generator().manual_seed(seed),
    )
    for i, (images, labels) in enumerate(loader):
        if i == batch:
            return images, labels
    raise AssertionError(f"the DataLoader yields no batch {batch}")
