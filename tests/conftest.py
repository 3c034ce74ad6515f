"""Shared fixtures: an app on the CPU, and a client for it."""

import os
from collections.abc import Iterator

import pytest
import torch
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings


def make_settings(**overrides: object) -> Settings:
    """Settings for tests: the CPU unless a test asks otherwise, plus overrides."""
    values: dict[str, object] = {"device": "cpu"}
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def app() -> FastAPI:
    """One app for the session, on the CPU."""
    return create_app(make_settings())


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    """A client for the session's app, started (lifespan run) and ready."""
    with TestClient(app) as c:
        app.state.runtime.ready.wait(timeout=60)
        yield c


os.environ.setdefault("LAYERSCOPE_DEVICE", "cpu")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip tests marked `cuda` when there is no CUDA device."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if item.get_closest_marker("cuda") is not None:
            item.add_marker(skip)
