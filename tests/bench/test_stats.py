"""bench.stats against the standard library's statistics and exact values."""

import math
import statistics

import numpy as np
import pytest

from bench import stats


@pytest.mark.parametrize("n", [2, 3, 7, 100, 1001])
def test_percentile_is_the_inclusive_quantile(n: int) -> None:
    # numpy's default (linear) is the "inclusive" method of statistics.quantiles, type 7.
    values = np.random.default_rng(n).exponential(10.0, size=n).tolist()
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    for q in (1, 25, 50, 90, 95, 99):
        assert stats.percentile(values, q) == pytest.approx(cuts[q - 1])
    assert stats.percentile(values, 0) == min(values)
    assert stats.percentile(values, 100) == max(values)


def test_percentile_exact_values_and_bad_input() -> None:
    assert stats.percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert stats.percentile(list(range(1, 101)), 99) == pytest.approx(99.01)
    assert stats.percentile([5.0], 99) == 5.0
    assert type(stats.percentile([1.0, 2.0], 50)) is float
    with pytest.raises(ValueError):
        stats.percentile([], 50)
    with pytest.raises(ValueError):
        stats.percentile([1.0], 101)


def test_latency_summary_in_ms() -> None:
    seconds = [0.004, 0.001, 0.003, 0.002, 0.010]
    summary = stats.latency_summary(seconds)
    ms = [s * 1000 for s in seconds]
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    assert summary["count"] == 5
    assert summary["mean_ms"] == pytest.approx(statistics.fmean(ms))
    assert summary["p50_ms"] == pytest.approx(statistics.median(ms))
    assert summary["p95_ms"] == pytest.approx(cuts[94])
    assert summary["p99_ms"] == pytest.approx(cuts[98])
    assert summary["max_ms"] == pytest.approx(10.0)
    assert stats.latency_summary([]) == {
        "count": 0,
        "mean_ms": None,
        "p50_ms": None,
        "p95_ms": None,
        "p99_ms": None,
        "max_ms": None,
    }


def test_ratio_and_verdict() -> None:
    assert stats.ratio(3.0, 2.0) == 1.5
    assert stats.ratio(1.0, 0.0) == math.inf
    assert stats.verdict(1.5, 1.5, at_most=True) == "PASS"
    assert stats.verdict(1.6, 1.5, at_most=True) == "FAIL"
    assert stats.verdict(4.0, 4.0, at_most=False) == "PASS"
    assert stats.verdict(3.9, 4.0, at_most=False) == "FAIL"
