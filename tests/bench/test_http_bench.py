"""The benchmark's pure pieces; no timings are asserted (the benchmark checks speed)."""

import math
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from torch import nn

from bench import http_bench
from bench.naive_app import app as naive_app
from service.building import module_cache
from service.tensors.stats import SMALL_STATS, stats
from tests.helpers import tensor_from


def _results() -> dict[str, Any]:
    return {
        "device": "cpu",
        "mode": "quick",
        "command": "python -m bench.http_bench",
        "machine": {"cpu": "x", "cores": 2, "torch": "t", "python": "p"},
        "small_service_p50_ms": 2.0,
        "small_service_p99_ms": 3.0,
        "small_floor_http_p50_ms": 0.5,
        "small_torch_p50_ms": 0.25,
        "small_encode_p50_ms": 0.5,
        "large_safetensors_p50_ms": 60.0,
        "large_json_p50_ms": 140.0,
        "large_base64_p50_ms": 30.0,
        "large_torch_p50_ms": 40.0,
        "large_orjson_p50_ms": 50.0,
        "large_floor_http_safetensors_p50_ms": 10.0,
        "large_floor_http_json_p50_ms": 20.0,
        "model_forward_service_p50_ms": 150.0,
        "model_forward_inprocess_p50_ms": 80.0,
        "model_forward_floor_http_p50_ms": 30.0,
        "model_torchlens_p50_ms": 900.0,
        "model_backward_service_p50_ms": 400.0,
        "model_backward_inprocess_p50_ms": 200.0,
        "model_backward_floor_http_p50_ms": 70.0,
        "peer_healthz_p50_ms": 1.0,
        "peer_small_p50_ms": 20.0,
        "peer_small_p99_ms": 30.0,
        "peer_large_json_p50_ms": 2000.0,
        "rss_growth_safetensors_mib": 12.0,
        "rss_growth_safetensors_median_mib": 11.0,
        "rss_growth_json_mib": 40.0,
        "rss_growth_json_median_mib": 39.0,
        "returned_values_mib": 6.5,
        "small_bytes": 204612,
        "throughput_c32": {"1": 500.0, "2": 800.0, "4": 900.0},
        "client_processes": 2,
    }


def test_evaluate_checks_each_ratio_against_its_floor() -> None:
    rows = {row["target"]: row for row in http_bench.evaluate(_results())}
    small = rows["small p50 / floor"]
    assert small["value"] == pytest.approx(2.0 / 1.25) and small["verdict"] == "FAIL"
    assert rows["large binary p50 / floor"]["value"] == pytest.approx(60 / 50)
    assert rows["large json p50 / floor"]["value"] == pytest.approx(140 / 110)
    assert rows["resnet18 forward p50 / floor"]["value"] == pytest.approx(150 / 110)
    assert rows["torchlens.trace p50 / resnet18 forward p50"]["value"] == pytest.approx(6.0)
    assert rows["resnet18 forward+backward p50 / floor"]["value"] == pytest.approx(400 / 270)
    binary = rows["peak RSS growth / returned bytes, binary"]
    assert binary["value"] == pytest.approx(12 / 6.5) and binary["verdict"] == "PASS"
    assert rows["peak RSS growth / returned bytes, JSON"]["verdict"] == "FAIL"
    verdicts = [row["verdict"] for row in rows.values()]
    assert verdicts.count("FAIL") == 2 and len(verdicts) == 11


def test_markdown_shows_every_figure_and_verdict() -> None:
    r = _results()
    rows = http_bench.evaluate(r)
    table = http_bench.render_markdown(r, rows)
    assert table.count("PASS") + table.count("FAIL") == len(rows) == 11
    assert "| small: service | 2.00 |" in table
    assert "| resnet18 forward: torchlens.trace in-process | 900.00 |" in table
    assert "4 worker(s) 900 req/s" in table
    assert "small 0.20 MiB" in table


def test_a_run_without_the_model_or_the_peer_has_no_rows_for_them() -> None:
    r = {k: v for k, v in _results().items() if not k.startswith(("model_", "peer_"))}
    targets = [row["target"] for row in http_bench.evaluate(r)]
    assert not any("resnet18" in t or "peer" in t for t in targets) and len(targets) == 6


def test_cuda_asked_without_cuda_exits_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    assert http_bench.main(["--device", "cuda"]) == 2
    assert "CUDA is not available" in capsys.readouterr().err


def _values(obj: dict[str, Any]) -> torch.Tensor:
    return tensor_from({"shape": obj["shape"], "data": obj["data"], "dtype": "float32"})


def test_naive_peer_returns_the_services_values(client: TestClient) -> None:
    body = http_bench.small_body("cpu")
    ours = client.post("/v1/layers/inspect", json=body).json()
    with TestClient(naive_app) as peer:
        theirs = peer.post("/v1/layers/inspect", json=body).json()
    assert ours["layer"]["repr"] == theirs["layer"]["repr"]
    for name in ("input", "output"):
        torch.testing.assert_close(_values(theirs[name]), tensor_from(ours[name]))
        torch.testing.assert_close(_values(theirs[name]["grad"]), tensor_from(ours[name]["grad"]))
        for key in ("min", "max", "mean", "std"):
            assert theirs[name]["stats"][key] == pytest.approx(ours[name]["stats"][key], rel=1e-5)
    for p in ("weight", "bias"):
        torch.testing.assert_close(
            _values(theirs["parameters"][p]), tensor_from(ours["parameters"][p])
        )
        torch.testing.assert_close(
            _values(theirs["parameters"][p]["grad"]), tensor_from(ours["parameters"][p]["grad"])
        )


def test_large_body_returns_only_output_values(client: TestClient) -> None:
    body = http_bench.large_body("cpu", "base64")
    body["input"]["shape"] = [2, 16, 20, 30]  # same layer, a smaller input for the test
    r = client.post("/v1/layers/inspect", json=body).json()
    assert r["output"]["data_b64"] is not None and r["input"].get("data_b64") is None
    torch.manual_seed(0)
    x = torch.randn(2, 16, 20, 30)
    torch.manual_seed(0)
    conv = nn.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1))
    with torch.no_grad():
        torch.testing.assert_close(tensor_from(r["output"]), conv(x))


def _make() -> nn.Module:
    return nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Flatten(), nn.Linear(48, 2))


def _seeded_direct(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return _make()


def test_cached_seeded_modules_are_fresh_copies_with_the_seeded_values() -> None:
    """What a run does to its copy (another dtype, train mode updating batch-norm statistics,
    gradients, hooks) never reaches the next copy, which shares the template's parameter
    storage rather than copying it."""
    module_cache.clear()
    first = module_cache.seeded_module("k", 7, _make)
    first.register_forward_hook(lambda m, i, o: None)
    first.to(torch.float64).train()
    first(torch.randn(4, 2, 6, 6, dtype=torch.float64)).sum().backward()
    again = module_cache.seeded_module("k", 7, _make)
    expected = _seeded_direct(7)
    for (name, got), want in zip(
        again.state_dict().items(), expected.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(got, want, rtol=0, atol=0, msg=name)
    assert all(p.grad is None and p.dtype == torch.float32 for p in again.parameters())
    assert not again._forward_hooks
    third = module_cache.seeded_module("k", 7, _make)
    assert again is not third
    for p, q in zip(again.parameters(), third.parameters(), strict=True):
        assert p is not q and p.data_ptr() == q.data_ptr()  # shared values, own Parameters
    assert again[1].running_mean.data_ptr() != third[1].running_mean.data_ptr()


def test_copies_keep_tied_weights_tied() -> None:
    module_cache.clear()

    def tied() -> nn.Module:
        a, b = nn.Linear(3, 3), nn.Linear(3, 3)
        b.weight = a.weight
        return nn.Sequential(a, b)

    copy = module_cache.seeded_module("tied", 0, tied)
    assert copy[0].weight is copy[1].weight


def test_an_embedding_that_renormalises_its_weights_gets_its_own_copy() -> None:
    module_cache.clear()
    make = lambda: nn.Embedding(10, 4, max_norm=0.5)  # noqa: E731
    first = module_cache.seeded_module("emb", 3, make)
    first(torch.arange(10))  # renormalises the rows it looks up, in place
    again = module_cache.seeded_module("emb", 3, make)
    torch.manual_seed(3)
    torch.testing.assert_close(again.weight, make().weight, rtol=0, atol=0)


@pytest.mark.parametrize(
    "values",
    [
        [1.0, -2.0, 0.0, 3.5],
        [1.0, math.nan, 0.0, math.inf, -math.inf],
        [math.nan, math.nan],
        [5.0],
        [math.inf],
    ],
)
@pytest.mark.parametrize("big", [False, True], ids=["numpy", "torch"])
def test_stats_fast_path_agrees_with_masked_reductions(values: list[float], big: bool) -> None:
    t = torch.tensor(values)
    if big:  # past SMALL_STATS the torch reductions run
        t = t.repeat(SMALL_STATS // len(values) + 1)
    s = stats(t)
    finite = t[torch.isfinite(t)]
    assert s["nan_count"] == int(torch.isnan(t).sum())
    assert s["inf_count"] == int(torch.isinf(t).sum())
    assert s["zero_fraction"] == pytest.approx(float((t == 0).float().mean()))
    if finite.numel():
        assert s["min"] == float(finite.min()) and s["max"] == float(finite.max())
        assert s["mean"] == pytest.approx(float(finite.mean()), rel=1e-5, abs=1e-6)
    else:
        assert s["min"] is None and s["mean"] is None
    if finite.numel() > 1:
        assert s["std"] == pytest.approx(float(finite.std()), rel=1e-5, abs=1e-6)
    else:
        assert s["std"] is None
