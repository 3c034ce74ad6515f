"""The model-plan cache: equal requests plan once, different ones plan again, refusals are never
kept, and a cached plan gives the same response as a fresh one."""

from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from safetensors.torch import load

from service.building import module_cache
from service.inspection import model as model_inspection
from service.inspection import preparation
from service.planning.plan_cache import PlanCache


def test_each_key_is_planned_once_and_the_oldest_goes_first() -> None:
    cache: PlanCache[list[str]] = PlanCache(size=2)
    made: list[str] = []

    def plan(key: str) -> list[str]:
        made.append(key)
        return [key]

    first = cache.planned("a", lambda: plan("a"))
    assert cache.planned("a", lambda: plan("a")) is first
    cache.planned("b", lambda: plan("b"))
    cache.planned("a", lambda: plan("a"))  # "a" used last: "b" is the oldest now
    cache.planned("c", lambda: plan("c"))
    cache.planned("a", lambda: plan("a"))
    cache.planned("b", lambda: plan("b"))
    assert made == ["a", "b", "c", "b"]


def test_a_refused_plan_is_not_kept() -> None:
    cache: PlanCache[int] = PlanCache()
    calls = 0

    def refuse() -> int:
        nonlocal calls
        calls += 1
        raise ValueError("does not fit")

    for _ in range(2):
        with pytest.raises(ValueError):
            cache.planned("k", refuse)
    assert calls == 2


def _body(shape: list[int], **extra: Any) -> dict[str, Any]:
    return {
        "layers": [
            {"type": "conv2d", "in_channels": 1, "out_channels": 3, "kernel_size": 3},
            {"type": "activation", "name": "relu"},
            {"type": "flatten"},
        ],
        "input": {"shape": shape, "seed": 0},
        "select": ["*"],
        "encoding": "safetensors",
        **extra,
    }


def test_equal_requests_plan_once_and_answer_alike(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_inspection.PLANS.clear()
    module_cache.clear()
    walks: list[list[int]] = []
    real = model_inspection.plan_tree

    def counted(model: Any, received: Any, *args: Any, **kwargs: Any) -> Any:
        walks.append(list(received.shape))
        return real(model, received, *args, **kwargs)

    monkeypatch.setattr(model_inspection, "plan_tree", counted)
    answers = [client.post("/v1/models/inspect", json=_body([1, 1, 9, 9])) for _ in range(3)]
    assert walks == [[1, 1, 9, 9]]
    first = load(answers[0].content)
    for again in answers[1:]:
        assert again.headers["content-type"] == answers[0].headers["content-type"]
        assert load(again.content).keys() == first.keys()
        for key, tensor in load(again.content).items():
            torch.testing.assert_close(tensor, first[key], rtol=0, atol=0)
    client.post("/v1/models/inspect", json=_body([1, 1, 8, 8]))  # another shape: planned again
    client.post("/v1/models/inspect", json=_body([1, 1, 9, 9], mode="train"))  # another mode
    assert walks == [[1, 1, 9, 9], [1, 1, 8, 8], [1, 1, 9, 9]]
    refused = _body([1, 2, 9, 9])  # 2 channels into a conv that takes 1: refused each time
    for _ in range(2):
        r = client.post("/v1/models/inspect", json=refused)
        assert r.status_code == 422 and r.json()["errors"][0]["fix"] == "set in_channels=2", r.text


def test_equal_layer_requests_plan_once(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    preparation.PLANS.clear()
    walks: list[list[int]] = []
    real = preparation.plan_model

    def counted(specs: Any, received: Any, *args: Any, **kwargs: Any) -> Any:
        walks.append(list(received.shape))
        return real(specs, received, *args, **kwargs)

    monkeypatch.setattr(preparation, "plan_model", counted)
    layer = {"type": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3}
    bodies = [
        {"layer": layer, "input": {"shape": [1, 1, 6, 6], "seed": seed}} for seed in (0, 1, 0)
    ]
    answers = [client.post("/v1/layers/inspect", json=body).json() for body in bodies]
    assert walks == [[1, 1, 6, 6]]  # the seed changes the values, not the plan
    assert answers[0]["output"] == answers[2]["output"] != answers[1]["output"]
    client.post("/v1/layers/inspect", json={"layer": layer, "input": {"shape": [1, 1, 7, 7]}})
    assert walks == [[1, 1, 6, 6], [1, 1, 7, 7]]
