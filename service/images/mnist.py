"""The MNIST sample set, read with torchvision's own IDX readers.

From `LAYERSCOPE_MNIST_DIR` when set (files `t10k-*` and/or `train-*`, gzipped or not, the
names torchvision's MNIST uses), else from the embedded slice in `service/images/data/mnist` (the
first 100 digits of the test split). torchvision's readers take plain files, so gzipped files
are unzipped to a temporary file first. Nothing is ever downloaded: a split is served when
its two files are in the folder.
"""

import gzip
import os
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torchvision.datasets.mnist import read_image_file, read_label_file

from service.errors import ProblemError, field_error

EMBEDDED_DIR = Path(__file__).parent / "data" / "mnist"
CREDIT = (
    "MNIST by Yann LeCun, Corinna Cortes and Christopher J.C. Burges "
    "(http://yann.lecun.com/exdb/mnist/)"
)
LICENSE = "CC BY-SA 3.0 (https://creativecommons.org/licenses/by-sa/3.0/)"
CLASSES = 10
"""Digit classes 0..9 (the length of torchvision's `MNIST.classes`)."""
SPLIT_FILES: dict[str, tuple[str, str]] = {
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
}


@dataclass(frozen=True)
class Split:
    """One split in memory: uint8 images [N, 28, 28] and int64 labels [N]."""

    images: torch.Tensor
    labels: torch.Tensor


@dataclass(frozen=True)
class SampleSet:
    """The splits found in one folder."""

    source: str
    splits: dict[str, Split]


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def _read(path: Path, reader: Callable[[str], torch.Tensor]) -> torch.Tensor:
    """Run a torchvision IDX reader on `path`, unzipping a `.gz` to a temporary file first."""
    if path.suffix != ".gz":
        return reader(str(path))
    fd, tmp = tempfile.mkstemp(suffix=".idx")
    try:
        with os.fdopen(fd, "wb") as out, gzip.open(path, "rb") as src:
            out.write(src.read())
        return reader(tmp).clone()
    finally:
        os.unlink(tmp)


def load(folder: Path | None) -> SampleSet:
    """Read every split there is in `folder` (None: the embedded slice)."""
    where = folder if folder is not None else EMBEDDED_DIR
    splits: dict[str, Split] = {}
    for name, (image_stem, label_stem) in SPLIT_FILES.items():
        images, labels = _find(where, image_stem), _find(where, label_stem)
        if images is None or labels is None:
            continue
        split = Split(_read(images, read_image_file), _read(labels, read_label_file))
        if split.images.shape[0] != split.labels.shape[0]:
            raise RuntimeError(f"MNIST {name} in {where}: images and labels differ in count")
        splits[name] = split
    if not splits:
        raise RuntimeError(f"no MNIST IDX files in {where} (expected t10k-* or train-*)")
    return SampleSet("embedded" if folder is None else str(folder), splits)


_cache: dict[Path | None, SampleSet] = {}
_lock = threading.Lock()


def sample_set(folder: Path | None) -> SampleSet:
    """The sample set of `folder`, read once per process."""
    with _lock:
        if folder not in _cache:
            _cache[folder] = load(folder)
        return _cache[folder]


def split_of(folder: Path | None, split: str, field: str) -> Split:
    """The split `split` of `folder`'s sample set: 404 when it came in the URL path (`field`
    "path"), 422 when it came in a request body; either names the splits there are."""
    samples = sample_set(folder)
    if split not in samples.splits:
        there = ", ".join(sorted(samples.splits))
        raise ProblemError(
            404 if field == "path" else 422,
            "unknown-mnist-split",
            f"there is no MNIST split {split!r} here; the splits are: {there}",
            title="Unknown MNIST split",
            errors=[
                field_error(
                    field + ".split", f"no split {split!r}", f"use one of: {there}", "unknown_split"
                )
            ],
            context={"splits": sorted(samples.splits)},
        )
    return samples.splits[split]


def check_position(split: str, size: int, index: int, field: str, status: int = 422) -> None:
    """Refuse a position outside 0..size - 1, naming the field (e.g. `body.input.mnist.index`,
    `body.input.mnist.indices.3`) and the range there is."""
    if 0 <= index < size:
        return
    raise ProblemError(
        status,
        "mnist-index-out-of-range",
        f"MNIST {split} has {size} digits: index {index} is outside 0..{size - 1}",
        title="MNIST index out of range",
        errors=[
            field_error(
                field, f"index {index}", f"use an index from 0 to {size - 1}", "out_of_range"
            )
        ],
        context={"split": split, "size": size, "range": [0, size - 1]},
    )


def sample(folder: Path | None, split: str, index: int, field: str) -> tuple[torch.Tensor, int]:
    """Return digit `index` of `split` (uint8 [28, 28]) and its label.

    A split or index that is not there is a 404 when it came in the URL path (`field` "path"),
    and a 422 when it came in a request body; either names what there is.
    """
    data = split_of(folder, split, field)
    status = 404 if field == "path" else 422
    check_position(split, int(data.labels.shape[0]), index, field + ".index", status)
    return data.images[index], int(data.labels[index])
