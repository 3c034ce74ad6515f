"""Statistics the benchmarks share: percentiles (numpy's), latency summaries, ratios, verdicts."""

import math
from collections.abc import Sequence

import numpy as np


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) of `values` by `numpy.percentile` (linear interpolation), as a
    float; ValueError for no values or a q outside [0, 100]."""
    if not values:
        raise ValueError("percentile of no values")
    return float(np.percentile(values, q))


def latency_summary(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """Count, mean, p50/p95/p99 and max of latencies given in seconds, reported in ms
    (None when there are no latencies)."""
    if not seconds:
        return {"count": 0} | dict.fromkeys(("mean_ms", "p50_ms", "p95_ms", "p99_ms", "max_ms"))
    ms = np.asarray(seconds, dtype=float) * 1000
    p50, p95, p99 = (float(p) for p in np.percentile(ms, [50, 95, 99]))
    return {
        "count": len(ms),
        "mean_ms": float(ms.mean()),
        "p50_ms": p50,
        "p95_ms": p95,
        "p99_ms": p99,
        "max_ms": float(ms.max()),
    }


def ratio(numerator: float, denominator: float) -> float:
    """numerator / denominator, inf when the denominator is zero."""
    return numerator / denominator if denominator else math.inf


def verdict(value: float, target: float, *, at_most: bool) -> str:
    """PASS when `value` is on the right side of `target` (at most it, or at least it)."""
    ok = value <= target if at_most else value >= target
    return "PASS" if ok else "FAIL"
