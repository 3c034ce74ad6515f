"""bench.summary_speed: its floor against the service's answer and known FLOPs, and short runs
(no timings asserted: the benchmark reports speed)."""

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torchvision
from fastapi.testclient import TestClient
from torch.utils.flop_counter import FlopCounterMode

from bench import plain_torch, summary_speed
from schemas.examples import SUMMARY_EXAMPLES


def test_every_summary_example_is_a_case() -> None:
    big = {"convnext_large_batch64", "vit_h_14_batch64"}
    assert set(summary_speed.CASES) == {*SUMMARY_EXAMPLES, "resnet50_batch64", *big}
    case = summary_speed.CASES["large_batch"]
    assert case.body == SUMMARY_EXAMPLES["large_batch"]["value"]
    assert case.input_shape == [64, 3, 1024, 1024]


def test_meta_floor_counts_the_large_batch() -> None:
    seconds, shape, flops = summary_speed.meta_floor(summary_speed.CASES["large_batch"])
    assert seconds > 0
    assert shape == [64, 10]
    assert flops == 2 * 64 * 16 * 1024 * 1024 * 27 + 2 * 64 * 1024 * 10


@pytest.mark.parametrize("name", sorted(summary_speed.CASES))
def test_floor_agrees_with_the_service(client: TestClient, name: str) -> None:
    case = summary_speed.CASES[name]
    answer = client.post(summary_speed.PATH, json=case.body).json()
    summary_speed.check_agreement(case, answer)  # raises on a mismatch


def test_resnet50_case_is_a_real_network_by_name() -> None:
    case = summary_speed.CASES["resnet50_batch64"]
    assert case.body == {"model": {"torchvision": "resnet50"}, "input_shape": [64, 3, 224, 224]}
    _, shape, flops = summary_speed.meta_floor(case)
    counter = FlopCounterMode(display=False)
    with torch.device("meta"):
        model = torchvision.models.resnet50(weights=None)
    with counter, torch.no_grad():
        model(torch.empty(64, 3, 224, 224, device="meta"))
    assert (shape, flops) == ([64, 1000], counter.get_total_flops())


def test_a_floor_that_does_other_work_is_refused(client: TestClient) -> None:
    case = summary_speed.CASES["large_batch"]
    layers = [*case.body["layers"][:-1], {"type": "linear", "in_features": 1024, "out_features": 9}]
    other = replace(case, model=lambda: plain_torch.sequential(layers))
    answer = client.post(summary_speed.PATH, json=case.body).json()
    with pytest.raises(RuntimeError, match=r"service says output \[64, 10\].*floor says \[64, 9\]"):
        summary_speed.check_agreement(other, answer)


def test_in_process_client_is_the_test_client(client: TestClient) -> None:
    case = summary_speed.CASES["seed_pipeline"]
    body = json.dumps(case.body).encode()
    status, data = summary_speed.InProcessClient(client).request("POST", summary_speed.PATH, body)
    assert status == 200
    assert json.loads(data) == client.post(summary_speed.PATH, json=case.body).json()
    assert summary_speed.InProcessClient(client).request("GET", "/nothing")[0] == 404


@pytest.mark.parametrize("server", [False, True], ids=["in-process", "server"])
def test_short_run_reports_every_figure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], server: bool
) -> None:
    out = tmp_path / "summary.json"
    argv = ["--rounds", "3", "--case", "large_batch", "--case", "seed_pipeline", "--out", str(out)]
    assert summary_speed.main([*argv, "--server"] if server else argv) == 0
    printed = capsys.readouterr().out
    report = json.loads(out.read_text())
    assert set(report["cases"]) == {"large_batch", "seed_pipeline"}
    for name, r in report["cases"].items():
        assert f"case {name}" in printed
        for key in ("summary", "healthz", "floor"):
            assert r[key]["count"] == 3
            assert 0 < r[key]["p50_ms"] <= r[key]["p95_ms"] <= r[key]["max_ms"]
        floor = r["healthz"]["p50_ms"] + r["floor"]["p50_ms"]
        assert r["ratio"] == pytest.approx(r["summary"]["p50_ms"] / floor)
        p95_ok = r["summary"]["p95_ms"] / 1e3 <= summary_speed.TARGETS["summary_p95_s"]
        assert r["verdicts"]["summary_p95_s"] == ("PASS" if p95_ok else "FAIL")
        assert f"= {r['ratio']:.2f} " in printed
