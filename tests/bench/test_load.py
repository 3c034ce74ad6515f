"""bench.load: its RSS trend, its request mix checked against the real app, and one short run."""

import json
import random
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from bench import load
from schemas.examples import LAYER_EXAMPLE_OUTPUT_SHAPES
from schemas.requests import ALL_INCLUDES


def test_rss_trend_flat_after_warm_up() -> None:
    # Warm-up growth in the first third, then noise around a plateau.
    series = [500_000 + 20_000 * i for i in range(10)] + [
        700_000 + (i % 3) * 1000 for i in range(20)
    ]
    trend = load.rss_trend(series)
    assert trend["verdict"] == "flat"
    assert trend["middle_mean_kib"] == pytest.approx(np.mean(series[10:20]))
    assert trend["last_mean_kib"] == pytest.approx(np.mean(series[20:]))


def test_rss_trend_growing_and_threshold() -> None:
    leaking = [500_000 + 10_000 * i for i in range(30)]
    trend = load.rss_trend(leaking)
    assert trend["verdict"] == "growing"
    # middle third mean 645000, last third mean 745000
    assert trend["growth"] == pytest.approx(100_000 / 645_000)
    assert load.rss_trend(leaking, threshold=0.2)["verdict"] == "flat"
    assert load.rss_trend([1.0, 2.0])["verdict"] == "too-short"
    # 3 samples: one per third
    assert load.rss_trend([100.0, 100.0, 104.0])["growth"] == pytest.approx(0.04)


def test_rss_at_picks_the_closest_sample() -> None:
    samples = [(0.0, 10), (1.0, 11), (2.1, 12), (3.0, 13)]
    assert load.rss_at(samples, 1.6) == 12
    assert load.rss_at(samples, 0.4) == 10
    assert load.rss_at([], 1.0) is None


def test_pick_case_honours_the_bad_fraction() -> None:
    normal, bad = load.request_mix()
    rng = random.Random(0)
    assert all(load.pick_case(rng, normal, bad, 0.0).kind == "normal" for _ in range(200))
    assert all(load.pick_case(rng, normal, bad, 1.0).kind == "bad" for _ in range(200))
    drawn = [load.pick_case(rng, normal, bad, 0.2) for _ in range(10_000)]
    share = sum(c.kind == "bad" for c in drawn) / len(drawn)
    assert share == pytest.approx(0.2, abs=0.02)
    assert {c.name for c in drawn} == {c.name for c in normal + bad}


def test_is_error() -> None:
    normal, bad = load.request_mix()
    ok, refused = normal[0], next(c for c in bad if c.expected == 413)
    assert not load.is_error(ok, 200)
    assert load.is_error(ok, 422)
    assert load.is_error(ok, None)
    assert not load.is_error(refused, 413)
    assert load.is_error(refused, 422)
    assert load.is_error(refused, 500)


def test_failed_verdict() -> None:
    report: dict[str, Any] = {"errors": 0, "server_alive_at_end": True}
    assert not load.failed(report)
    assert load.failed(report | {"errors": 1})
    assert load.failed(report | {"server_alive_at_end": False})
    assert load.failed(report | {"rss_trend": {"verdict": "growing"}})
    assert not load.failed(report | {"rss_trend": {"verdict": "flat"}})


def _send(client: TestClient, case: load.Case) -> Any:
    return client.request(case.method, case.path, content=case.body, headers=case.headers)


@pytest.mark.parametrize("case", load.bad_cases(), ids=lambda c: c.name)
def test_bad_case_gets_its_documented_problem(client: TestClient, case: load.Case) -> None:
    r = _send(client, case)
    assert r.status_code == case.expected, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == case.expected


@pytest.mark.parametrize("case", load.normal_cases(), ids=lambda c: c.name)
def test_normal_case_runs(client: TestClient, case: load.Case) -> None:
    assert case.body is not None
    body = json.loads(case.body)
    r = _send(client, case)
    assert r.status_code == 200, r.text
    out = r.json()
    expected_shape = {
        "conv2d": LAYER_EXAMPLE_OUTPUT_SHAPES["mnist_conv"],
        "linear": LAYER_EXAMPLE_OUTPUT_SHAPES["linear"],
        "maxpool2d": LAYER_EXAMPLE_OUTPUT_SHAPES["maxpool"],
        "activation": LAYER_EXAMPLE_OUTPUT_SHAPES["softmax"],
    }[body["layer"]["type"]]
    assert out["output"]["shape"] == expected_shape
    values_key = "data_b64" if body.get("encoding") == "base64" else "data"
    has_values = out["output"].get(values_key) is not None
    assert has_values == ("output" in body.get("include", ALL_INCLUDES))


def test_mix_covers_every_kind_of_request() -> None:
    normal, bad = load.request_mix()
    assert {c.expected for c in normal} == {200}
    assert {c.expected for c in bad} == {404, 405, 413, 422}
    layer_types = {json.loads(c.body or b"{}")["layer"]["type"] for c in normal}
    assert layer_types == {"conv2d", "linear", "maxpool2d", "activation"}
    encodings = {json.loads(c.body or b"{}").get("encoding", "json") for c in normal}
    assert encodings == {"json", "base64"}
    assert len({c.name for c in normal + bad}) == len(normal + bad)


def test_end_to_end_short_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "load.json"
    code = load.main(
        ["--clients", "2", "--seconds", "3", "--sample-every", "0.5", "--out", str(out)]
    )
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert code == 0, printed
    assert report["errors"] == 0
    assert report["server_alive_at_end"]
    assert report["requests"] > 10
    assert report["requests"] == sum(report["by_status"].values())
    assert report["req_per_s"] == pytest.approx(report["requests"] / report["elapsed_s"])
    assert {"200", "404", "413", "422"} <= set(report["by_status"])
    lat = report["latency"]["all"]
    assert 0 < lat["p50_ms"] <= lat["p95_ms"] <= lat["p99_ms"] <= lat["max_ms"]
    assert report["latency"]["normal"]["count"] == report["by_status"]["200"]
    rss = report["rss_kib"]
    assert all(rss[k] > 50_000 for k in ("start", "middle", "end"))
    assert len(report["rss_samples"]) >= 5
    assert "result: ok" in printed
