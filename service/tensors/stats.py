"""Summary statistics of a tensor: min, max, mean and std over its finite values, NaN and Inf
counts, and the fraction of zeros, reduced where the tensor lives (numpy on the CPU)."""

import math
from typing import Any

import numpy as np
import torch


def stats(tensor: torch.Tensor) -> dict[str, Any]:
    """Return min, max, mean, std over finite values, NaN/Inf counts and fraction of zeros.

    Three reductions in the common case (no NaN or Inf): aminmax, std_mean and count_nonzero,
    with one host transfer at the end. aminmax propagates NaN and surfaces Inf, so finite
    extremes prove every value finite; only then is a mask built to filter the rest out.
    """
    t = tensor.detach()
    if t.layout != torch.strided:
        t = t.to_dense()
    if not t.is_floating_point():
        t = t.double()  # int64 values, exactly up to 2**53
    elif t.dtype in (torch.float16, torch.bfloat16):
        t = t.float()  # reduce in float32: every half and bfloat16 value is exact there
    count = t.numel()
    if count == 0:
        return _stats_dict([math.nan] * 4, 0, 0, 0, 0)
    if t.device.type == "cpu" and t.dtype in _NUMPY_REDUCIBLE:
        return _stats_numpy(t.numpy(force=True).reshape(-1))
    lo, hi = torch.aminmax(t)
    nonzero = torch.count_nonzero(t)
    extremes = torch.stack([lo, hi]).tolist()
    if math.isfinite(extremes[0]) and math.isfinite(extremes[1]):
        finite, nan_count, n_finite = t, None, count
    else:
        finite = t[torch.isfinite(t)]
        nan_count = torch.isnan(t).sum()
        n_finite = finite.numel()
        if n_finite:
            lo, hi = torch.aminmax(finite)
    nan = torch.tensor(math.nan, device=t.device)
    if n_finite > 1:
        std, mean = torch.std_mean(finite)
    elif n_finite == 1:
        std, mean = nan, finite.reshape(()).clone()
    else:
        lo = hi = mean = std = nan
    parts = [lo, hi, mean, std, nonzero]
    if nan_count is not None:
        parts.append(nan_count)
    values = torch.stack([v.to(torch.float64) for v in parts]).tolist()
    nans = int(values[5]) if nan_count is not None else 0
    return _stats_dict(values[:4], count, n_finite, nans, count - int(values[4]))


# On the CPU, numpy's single-threaded SIMD reductions beat torch's: for small tensors torch's
# dispatch dominates, and for large ones its thread pool, on a busy 2-core machine, made
# aminmax + std_mean + count_nonzero of 1.7 M floats take 30 ms against numpy's 3 ms.
# Tensors on a GPU are reduced there (torch path) unless they come to the host anyway.
SMALL_STATS = 1 << 16
_NUMPY_REDUCIBLE = frozenset({torch.float32, torch.float64})


def _stats_numpy(a: np.ndarray) -> dict[str, Any]:
    """`stats` of a CPU array, with numpy: the same figures as `a.min()`, `a.max()`,
    `a.mean()` and `a.std(ddof=1)` to the bit (computed in the array's dtype), from numpy's own
    reductions called directly. `ndarray.std` sums the values again for its own mean and wraps
    each reduction in Python; here one sum serves both, which on the small case's 8 tensors
    saved a third of the stats' time. Zeros are counted on `a == 0`: numpy's count_nonzero
    of a float array took 0.30 ms on 800 k values, of the boolean array 0.06 ms."""
    count = int(a.size)
    lo, hi = float(np.minimum.reduce(a)), float(np.maximum.reduce(a))
    zeros = int(np.count_nonzero(a == 0))  # 5x count_nonzero(a) on floats; NaN is not zero
    nans, finite = 0, a
    if not (math.isfinite(lo) and math.isfinite(hi)):
        mask = np.isfinite(a)
        finite = a[mask]
        nans = int(np.isnan(a).sum())
        lo = hi = math.nan
        if finite.size:
            lo, hi = float(np.minimum.reduce(finite)), float(np.maximum.reduce(finite))
    n = int(finite.size)
    mean = std = math.nan
    if n:
        total = np.add.reduce(finite)
        average = total.dtype.type(total / n)  # ndarray.mean: the sum divided in its dtype
        mean = float(average)
        if n > 1:  # ndarray.var: squared deviations from that mean, summed, over n - 1
            deviations = np.subtract(finite, average)
            np.multiply(deviations, deviations, out=deviations)
            spread = np.add.reduce(deviations)
            std = float(np.sqrt(spread.dtype.type(spread / (n - 1))))
    return _stats_dict([lo, hi, mean, std], count, n, nans, zeros)


def _stats_dict(
    moments: list[float], count: int, n_finite: int, nans: int, zeros: int
) -> dict[str, Any]:
    def finite_or_none(v: float) -> float | None:
        return v if math.isfinite(v) else None

    return {
        "min": finite_or_none(moments[0]),
        "max": finite_or_none(moments[1]),
        "mean": finite_or_none(moments[2]),
        "std": finite_or_none(moments[3]),
        "nan_count": nans,
        "inf_count": count - n_finite - nans,
        "zero_fraction": zeros / count if count else 0.0,
    }
