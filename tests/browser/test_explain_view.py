"""The workbench's Explain view in Debian's Chromium (Playwright), against the service on a
loopback port, every request to another host aborted.

The predicted class is compared with the seed pipeline built with torch.nn here; the heat map
with the service's answer to the same attribution request made here; the receptive field of a
clicked feature-map pixel with the field worked out here from the kernels, strides and paddings;
and each value of a sweep with nn.Conv2d run here with that value.
"""

import json
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import torch
from torch import nn

from tests.browser.pages import open_page, screenshot
from tests.browser.test_workbench import (
    SCREENSHOT_COLOURS,
    SEED,
    assert_offline,
    decode_data_uri,
    pixels_in_browser,
    seed_net,
    shape_text,
    workbench,
)
from tests.image_files import digit, reference

playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = playwright_sync.expect

SEVEN = {"mnist": {"split": "test", "index": 0}}
DASH = "\u2013"  # the page writes ranges with an en dash: "rows 3-7" with U+2013


def seven() -> torch.Tensor:
    """MNIST test digit 0 (a 7) as the service's MNIST input makes it."""
    pixels, label = digit(0)
    assert label == 7
    return reference(pixels)


def explain(page: Any) -> None:
    """Open the Explain view and run it on the seed pipeline and digit 7."""
    page.click("#tab-explain")
    expect(page.locator("#view-explain")).to_be_visible()
    page.click("#ex-run")
    expect(page.locator("#ex-status")).to_contain_text("Done", timeout=60_000)


def click_unit(page: Any, row: int, col: int, height: int, width: int) -> None:
    """Click the middle of feature-map pixel (row, col) of a height x width map."""
    box = page.locator("#ex-fmap").bounding_box()
    assert box is not None
    page.mouse.click(
        box["x"] + (col + 0.5) * box["width"] / width,
        box["y"] + (row + 0.5) * box["height"] / height,
    )


def field_of(unit: tuple[int, int], layers: list[tuple[int, int, int]], size: int) -> str:
    """The input rows and cols a unit sees through (kernel, stride, padding) layers, clipped to
    a size x size input, as the page words it: start = pos * jump - pad_total, end = start +
    field - 1, by the usual recurrence run from the input up."""
    field, jump, offset = 1, 1, 0
    for kernel, stride, padding in layers:
        field += (kernel - 1) * jump
        offset -= padding * jump
        jump *= stride
    spans = []
    for name, pos in zip(("rows", "cols"), unit, strict=True):
        start = pos * jump + offset
        end = start + field - 1
        spans.append(f"{name} {max(0, start)}{DASH}{min(size - 1, end)}")
    return ", ".join(spans)


# ---- the heat map of the predicted class ----------------------------------------------------


@pytest.mark.parametrize(
    ("method", "extra"),
    [("saliency", {}), ("layer_gradcam", {"layer": 0})],
    ids=["saliency", "layer_gradcam"],
)
def test_the_heat_map_is_the_attribution_of_the_predicted_class(
    service: tuple[str, dict[str, Any]], browser: Any, method: str, extra: dict[str, Any]
) -> None:
    base, _ = service
    opened = workbench(browser, base)
    page = opened.page
    page.click("#tab-explain")
    expect(page.locator("#ex-model")).to_contain_text("conv2d → relu → maxpool2d")
    page.select_option("#ex-method", method)
    if "layer" in extra:
        expect(page.locator("#ex-layer-label")).to_be_visible()
        page.select_option("#ex-layer", str(extra["layer"]))
    else:
        expect(page.locator("#ex-layer-label")).to_be_hidden()
    explain(page)

    # The predicted class: argmax of the seed pipeline built with torch.nn, on the digit.
    with torch.no_grad():
        probs = seed_net(0)(seven())[0]
    predicted = int(probs.argmax())
    expect(page.locator("#ex-predicted")).to_have_text(str(predicted))
    expect(page.locator("#ex-prediction")).to_contain_text("label 7")

    # The heat map: what the service answers for that attribution, asked here directly.
    request = {"layers": SEED, "input": SEVEN, "weights": {"seed": 0}, "method": method}
    answer = httpx.post(
        base + "/v1/models/attribute", json={**request, "target": predicted, **extra}, timeout=60
    ).json()
    assert answer["target"] == [predicted]
    (shown,) = pixels_in_browser(page, "#ex-heatmap")
    assert shown["src"] == answer["heatmap"]
    decoded = decode_data_uri(answer["heatmap"])
    assert (shown["width"], shown["height"]) == (decoded.shape[1], decoded.shape[0]) == (28, 28)
    assert shown["red"] == decoded[:, :, 0].reshape(-1).tolist()
    assert len(set(shown["red"])) > 16, "a blank heat map"
    # ... and not the heat map of another class.
    other = httpx.post(
        base + "/v1/models/attribute",
        json={**request, "target": (predicted + 1) % 10, **extra},
        timeout=60,
    ).json()
    assert other["heatmap"] != shown["src"]
    assert_offline(opened)


def test_the_explain_tab_is_reached_with_the_keyboard_and_by_link(
    service: tuple[str, dict[str, Any]], browser: Any
) -> None:
    base, _ = service
    opened = workbench(browser, base)
    page = opened.page
    page.focus("#tab-autograd")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#tab-explain")).to_be_focused()
    expect(page.locator("#tab-explain")).to_have_attribute("aria-selected", "true")
    expect(page.locator("#view-explain")).to_be_visible()
    expect(page.locator("#view-pipeline")).to_be_hidden()
    assert "view=explain" in page.url
    page.keyboard.press("ArrowRight")  # wraps round to the first tab
    expect(page.locator("#tab-pipeline")).to_be_focused()
    linked = open_page(browser, base + "/#view=explain")
    linked.page.wait_for_selector("body[data-ready=true]", timeout=20_000)
    expect(linked.page.locator("#view-explain")).to_be_visible()
    expect(linked.page.locator("#tab-explain")).to_have_attribute("aria-selected", "true")
    expect(linked.page.locator("#ex-model")).to_contain_text("conv2d → relu → maxpool2d")
    for o in (opened, linked):
        assert_offline(o)


# ---- the receptive field of a clicked pixel --------------------------------------------------


def test_a_clicked_feature_map_pixel_shows_its_receptive_field(
    service: tuple[str, dict[str, Any]], browser: Any
) -> None:
    base, _ = service
    opened = workbench(browser, base)
    page = opened.page
    explain(page)
    net = seed_net(0)
    with torch.no_grad():
        conv = net[0](seven())

    # The feature map drawn: channel 3 of conv2d's output, min..max to gray, pixel for pixel.
    page.select_option("#ex-rf-module", "0")
    page.fill("#ex-rf-channel", "3")
    expect(page.locator("#ex-fmap")).to_have_attribute("data-channel", "3")
    drawn = page.locator("#ex-fmap").evaluate(
        "c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)"
    )
    channel = conv[0, 3].to(torch.float64)
    gray = torch.round(255 * (channel - channel.min()) / (channel.max() - channel.min()))
    red = np.array(drawn).reshape(24, 24, 4)[:, :, 0]
    assert np.abs(red - gray.numpy()).max() <= 1

    # A 5x5 stride-1 conv: unit (r, c) sees rows r..r+4 and cols c..c+4 of the digit.
    for row, col in [(5, 17), (0, 0), (23, 23)]:
        click_unit(page, row, col, 24, 24)
        expected = field_of((row, col), [(5, 1, 0)], 28)
        assert expected == f"rows {row}{DASH}{row + 4}, cols {col}{DASH}{col + 4}"
        box = page.locator("#ex-rf-box")
        expect(box).to_have_attribute("data-unit", f"{row},{col}")
        expect(box).to_contain_text(f"sees {expected} of the [28, 28] input")
        answer = httpx.post(
            base + "/v1/models/receptive-field",
            json={
                "layers": SEED,
                "input": SEVEN,
                "module": 0,
                "unit": {"channel": 3, "position": [row, col]},
                "png": True,
            },
        ).json()
        seen = answer["window_in_input"]
        assert json.loads(box.get_attribute("data-window") or "") == [seen["start"], seen["end"]]
        expect(page.locator("#ex-rf-image")).to_have_attribute("src", answer["image"])

    # After the 2x2 stride-2 pool: unit (r, c) sees rows 2r..2r+5; the arrow keys move it.
    page.select_option("#ex-rf-module", "2")
    click_unit(page, 0, 11, 12, 12)
    pooled = [(5, 1, 0), (2, 2, 0)]
    expect(page.locator("#ex-rf-box")).to_contain_text(f"sees {field_of((0, 11), pooled, 28)} ")
    assert field_of((0, 11), pooled, 28) == f"rows 0{DASH}5, cols 22{DASH}27"
    page.keyboard.press("ArrowDown")
    expect(page.locator("#ex-rf-box")).to_have_attribute("data-unit", "1,11")
    expect(page.locator("#ex-rf-box")).to_contain_text(f"sees {field_of((1, 11), pooled, 28)} ")
    assert_offline(opened)


# ---- a sweep of the first layer --------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "values"),
    [("kernel_size", [1, 3, 5, 9, 29]), ("dilation", [1, 2, 7])],
    ids=["kernel_size", "dilation"],
)
def test_the_slider_steps_through_a_sweep_of_the_first_layer(
    service: tuple[str, dict[str, Any]],
    browser: Any,
    tmp_path: Path,
    argument: str,
    values: list[int],
) -> None:
    base, _ = service
    opened = workbench(browser, base)
    page = opened.page
    if argument == "kernel_size":  # the screenshot shows every part of the view
        explain(page)
        click_unit(page, 5, 17, 24, 24)
        expect(page.locator("#ex-rf-box")).to_have_attribute("data-unit", "5,17")
    else:
        page.click("#tab-explain")
    page.select_option("#ex-sw-arg", argument)
    page.fill("#ex-sw-values", ", ".join(str(v) for v in values))
    page.click("#ex-sw-run")
    expect(page.locator("#ex-sw-result")).to_be_visible()

    direct = httpx.post(
        base + "/v1/layers/sweep",
        json={
            "layer": SEED[0],
            "input": SEVEN,
            "weights": {"seed": 0},
            "argument": argument,
            "values": values,
        },
        timeout=60,
    ).json()
    x = seven()
    slider = page.locator("#ex-sw-slider")
    slider.focus()
    page.keyboard.press("Home")
    misfits = 0
    for i, value in enumerate(values):
        if i:
            page.keyboard.press("ArrowRight")
        expect(page.locator("#ex-sw-result")).to_have_attribute("data-index", str(i))
        expect(page.locator("#ex-sw-value")).to_have_text(f"{argument} = {value}")
        layer = nn.Conv2d(1, 20, **{"kernel_size": 5, argument: value})
        try:
            with torch.no_grad():
                shape = layer(x).shape
        except RuntimeError:
            shape = None
        item = direct["results"][i]
        if shape is not None:
            expect(page.locator("#ex-sw-shape")).to_have_text(f"output {shape_text(shape)}")
            expect(page.locator("#ex-sw-problem")).to_be_hidden()
            expect(page.locator("#ex-sw-image")).to_have_attribute("src", item["image"])
        else:
            misfits += 1
            assert item["status"] == 422
            expect(page.locator("#ex-sw-shape")).to_have_text(
                f"{argument} = {value}: does not fit (422)"
            )
            expect(page.locator("#ex-sw-problem")).to_be_visible()
            expect(page.locator("#ex-sw-problem")).to_contain_text(item["problem"]["detail"])
            expect(page.locator("#ex-sw-image")).to_be_hidden()
    assert misfits == 1, "the values should hold exactly one misfit"
    if argument == "kernel_size":
        page.keyboard.press("Home")
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        expect(page.locator("#ex-sw-value")).to_have_text("kernel_size = 5")
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(page, "workbench-explain.png", tmp_path, colours=SCREENSHOT_COLOURS)
    assert_offline(opened)


def test_values_that_do_not_read_are_said_to_be_so(
    service: tuple[str, dict[str, Any]], browser: Any
) -> None:
    base, _ = service
    opened = workbench(browser, base)
    page = opened.page
    page.click("#tab-explain")
    page.fill("#ex-sw-values", "3, five")
    page.click("#ex-sw-run")
    shown = page.locator('#problems [data-source="explain-sweep"]')
    expect(shown).to_contain_text('"3, five" is not a comma-separated list of values')
    expect(page.locator("#ex-sw-values")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#ex-sw-result")).to_be_hidden()
    assert_offline(opened)
