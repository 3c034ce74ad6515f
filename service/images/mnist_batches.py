"""Which digits a batch takes: listed positions, or the batch a `DataLoader` yields.

A DataLoader's order depends only on the dataset's length and its own arguments: with
`shuffle=True` its iterator first draws a base seed from `generator`, then its `RandomSampler`
draws `torch.randperm(len(dataset), generator=generator)`, and its `BatchSampler` cuts that
into batches (the last one short unless `drop_last`). So the DataLoader is run here, as it is,
over the split's positions (`range(size)`, whose item i is i): it yields the positions of the
very batches it yields over the digits, without transforming the digits of earlier batches.
Nothing here reimplements the shuffle.
"""

import itertools
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils.data import DataLoader

from service.errors import ProblemError, field_error
from service.images.mnist import check_position


@dataclass(frozen=True)
class LoaderArgs:
    """The DataLoader's arguments: `batch_size`, `shuffle`, `drop_last`, and the seed of its
    generator; `batch` is which of its batches to take (from 0)."""

    batch_size: int
    shuffle: bool = False
    seed: int = 0
    batch: int = 0
    drop_last: bool = False


def loader(size: int, args: LoaderArgs) -> DataLoader[int]:
    """The DataLoader over the positions 0..size - 1, each batch a list of positions."""
    return DataLoader(
        range(size),  # type: ignore[arg-type]  # a range is a map-style dataset of positions
        batch_size=args.batch_size,
        shuffle=args.shuffle,
        drop_last=args.drop_last,
        generator=torch.Generator().manual_seed(args.seed),
        collate_fn=list,
    )


def batch_count(size: int, args: LoaderArgs) -> int:
    """How many batches the DataLoader yields over `size` samples (its `len`)."""
    return len(loader(size, args))


def loader_positions(split: str, size: int, args: LoaderArgs, field: str) -> list[int]:
    """The positions of batch `args.batch` as the DataLoader yields it; 422 naming `field.batch`
    and the batches there are when there is no such batch."""
    batches = loader(size, args)
    count = len(batches)
    if not 0 <= args.batch < count:
        last = f"0..{count - 1}" if count else "none"
        raise ProblemError(
            422,
            "mnist-batch-out-of-range",
            f"a DataLoader with batch_size={args.batch_size}, drop_last={args.drop_last} over "
            f"the {size} digits of MNIST {split} yields {count} batches: batch {args.batch} "
            f"is outside {last}",
            title="MNIST batch out of range",
            errors=[
                field_error(
                    field + ".batch",
                    f"batch {args.batch}",
                    f"use a batch from 0 to {count - 1}"
                    if count
                    else "lower batch_size, or set drop_last false",
                    "out_of_range",
                )
            ],
            context={"split": split, "size": size, "batches": count},
        )
    positions: list[int] = next(itertools.islice(iter(batches), args.batch, None))
    return positions


def check_indices(split: str, size: int, indices: list[int], field: str) -> None:
    """Every listed position lies in the split (422 naming `field.indices.<i>` otherwise)."""
    for i, index in enumerate(indices):
        check_position(split, size, index, f"{field}.indices.{i}")


def check_batch_size(count: int, limit: int, field: str) -> None:
    """Refuse (413) a batch of more than `limit` samples, before any is read."""
    if count <= limit:
        return
    raise ProblemError(
        413,
        "batch-too-large",
        f"this batch would hold {count} samples, over the limit of {limit}; ask for fewer "
        "(LAYERSCOPE_MAX_BATCH_SIZE)",
        title="Batch too large",
        errors=[field_error(field, f"{count} samples", f"use at most {limit}", "too_many")],
        context={"samples": count, "limit": limit},
        limit="batch_size",
    )


def loader_source(args: LoaderArgs, batches: int) -> dict[str, Any]:
    """The DataLoader's arguments as the preprocessing echo states them."""
    return {
        "batch_size": args.batch_size,
        "shuffle": args.shuffle,
        "seed": args.seed,
        "batch": args.batch,
        "drop_last": args.drop_last,
        "batches": batches,
    }
