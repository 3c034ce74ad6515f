"""The `labels` of a response: an MNIST input's targets, and the output's argmax beside them."""

from typing import Any

import torch

from service.images.mnist import CLASSES


def label_report(targets: list[int] | None, output: torch.Tensor) -> dict[str, Any] | None:
    """`{targets, predicted, correct}` for an input with labels (None without).

    `predicted` is `output.argmax(dim=1)` when the final output is [N, 10]: one row per target
    and one score per digit class (a classifier's logits or softmax, as the seed's pipeline
    ends); `correct` is how many equal their target. Both are None for any other output.
    """
    if targets is None:
        return None
    report: dict[str, Any] = {"targets": targets, "predicted": None, "correct": None}
    scores = output.detach()
    if tuple(scores.shape) == (len(targets), CLASSES):
        predicted = [int(i) for i in scores.argmax(dim=1).tolist()]
        report["predicted"] = predicted
        report["correct"] = sum(p == t for p, t in zip(predicted, targets, strict=True))
    return report
