"""GET /v1/colormaps (service/routes/colormaps.py): the colour tables, matplotlib's own."""

from typing import get_args

import matplotlib
import numpy as np
from fastapi.testclient import TestClient

from schemas.images import Colormap


def test_every_colormap_is_matplotlibs_table(client: TestClient) -> None:
    body = client.get("/v1/colormaps").json()
    names = [c["name"] for c in body["colormaps"]]
    assert names == list(get_args(Colormap))
    for entry in body["colormaps"]:
        expected = matplotlib.colormaps[entry["name"]](np.arange(256), bytes=True)[:, :3]
        raw = b"".join(bytes.fromhex(c.removeprefix("#")) for c in entry["colors"])
        got = np.frombuffer(raw, dtype=np.uint8).reshape(256, 3)
        assert got.tolist() == expected.tolist(), entry["name"]
        assert all(len(c) == 7 and c.startswith("#") for c in entry["colors"])


def test_only_the_diverging_maps_are_centred_on_zero(client: TestClient) -> None:
    body = client.get("/v1/colormaps").json()
    diverging = {c["name"] for c in body["colormaps"] if c["diverging"]}
    assert diverging == {"coolwarm", "seismic"}


def test_a_diverging_maps_middle_is_matplotlibs_colour_at_zero(client: TestClient) -> None:
    # A zero on a centred map is t = 0.5: entry floor(0.5 * 256) = 128.
    body = client.get("/v1/colormaps").json()
    for entry in body["colormaps"]:
        expected = matplotlib.colormaps[entry["name"]](0.5, bytes=True)[:3]
        assert entry["colors"][128] == "#" + bytes(expected).hex()


def test_the_route_is_documented(client: TestClient) -> None:
    op = client.get("/openapi.json").json()["paths"]["/v1/colormaps"]["get"]
    schema = op["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": "#/components/schemas/ColormapCatalog"}
