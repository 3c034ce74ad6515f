"""The workbench (`GET /`) in a real browser: Debian's Chromium driven by Playwright against
the service on a loopback port, every request to another host aborted (and none made).

What the page shows is checked against PyTorch run here directly (torch.nn built by hand,
torchvision's resnet18 on meta, autograd), against matplotlib's colours, against Python's
safetensors library reading the same bytes, and against the service's own answer to the
request the page says it sends (its curl command and Python snippet, run here).
"""

import base64
import email.policy
import io
import json
import re
import shutil
import subprocess
import sys
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import httpx
import matplotlib
import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from safetensors.numpy import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn

from tests.browser.pages import Opened, open_page, screenshot
from tests.image_files import digit, encode, reference

playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
expect = playwright_sync.expect

DESKTOP = (1280, 800)
PHONE = (375, 800)
SEED = [
    {"type": "conv2d", "in_channels": 1, "out_channels": 20, "kernel_size": 5},
    {"type": "activation", "name": "relu"},
    {"type": "maxpool2d", "kernel_size": 2, "stride": 2},
    {"type": "flatten"},
    {"type": "linear", "in_features": 2880, "out_features": 10},
    {"type": "activation", "name": "softmax"},
]
SCREENSHOT_COLOURS = 96


def seed_net(seed: int = 0) -> nn.Sequential:
    """The seed pipeline built with torch.nn, its weights as `{"seed": seed}` makes them."""
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 20, 5),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(2880, 10),
        nn.Softmax(dim=-1),
    )


def run_layers(net: nn.Sequential, x: torch.Tensor) -> list[torch.Tensor]:
    """Every layer's output of `net` on `x`, gradients kept (`retain_grad`)."""
    outputs = []
    for layer in net:
        x = layer(x)
        x.retain_grad()
        outputs.append(x)
    return outputs


def shape_text(shape: Any) -> str:
    return "[" + ", ".join(str(int(n)) for n in shape) + "]"


def workbench(browser: Any, base: str, size: tuple[int, int] = DESKTOP, url: str = "/") -> Opened:
    """The page, loaded and ready (its schema read, its digits listed)."""
    opened = open_page(browser, base + url, width=size[0], height=size[1])
    opened.page.wait_for_selector("body[data-ready=true]", timeout=20_000)
    opened.page.wait_for_selector("#thumbs button", timeout=20_000)
    return opened


def cards(page: Any) -> Any:
    return page.locator("#cards > li")


def card_shapes(page: Any) -> list[str]:
    return [s.removeprefix("→ ") for s in page.locator("#cards output.shape").all_inner_texts()]


def build(page: Any, specs: list[dict[str, Any]]) -> None:
    """Build a pipeline with the page's own controls: clear, then one card per layer."""
    page.click("#clear-layers")
    expect(cards(page)).to_have_count(0)
    for i, spec in enumerate(specs):
        page.click("#add-layer")
        card = cards(page).nth(i)
        card.locator("select.type").select_option(
            spec["name"] if spec["type"] == "activation" else spec["type"]
        )
        for key, value in spec.items():
            if key not in ("type", "name"):
                cards(page).nth(i).locator(f'[data-field="{key}"] input').fill(str(value))


def run_and_wait(page: Any, layers: int) -> None:
    page.click("#run")
    expect(page.locator("#status")).to_contain_text("Done", timeout=30_000)
    expect(page.locator(".layer-result")).to_have_count(layers)


def pixels_in_browser(page: Any, selector: str) -> list[dict[str, Any]]:
    """Each image's size and pixels (red channel) as the browser decoded it, read back through
    a canvas."""
    script = """(imgs) => imgs.map((img) => {
        const c = document.createElement("canvas");
        c.width = img.naturalWidth; c.height = img.naturalHeight;
        const ctx = c.getContext("2d");
        ctx.drawImage(img, 0, 0);
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        const red = [];
        for (let i = 0; i < d.length; i += 4) red.push(d[i]);
        return {width: img.naturalWidth, height: img.naturalHeight, red, src: img.src};
    })"""
    for img in page.locator(selector).all():
        expect(img).to_have_js_property("complete", True)
    result: list[dict[str, Any]] = page.eval_on_selector_all(selector, script)
    return result


def gray_grid(t: torch.Tensor) -> np.ndarray:
    """A tensor [N, C, H, W] as the gray pictures show it: the whole tensor's min..max to
    t in [0, 1], coloured by matplotlib's gray map, one tile per channel, ceil(sqrt(tiles)) to
    a row, one white pixel between and around them (torchvision's make_grid)."""
    x = t.to(torch.float64)
    unit = ((x - x.min()) / (x.max() - x.min())).reshape(-1, *x.shape[-2:]).numpy()
    rgb = matplotlib.colormaps["gray"](unit, bytes=True)[..., :3]
    tiles = torch.from_numpy(np.ascontiguousarray(rgb)).permute(0, 3, 1, 2)
    columns = int(np.ceil(np.sqrt(tiles.shape[0])))
    grid = torchvision.utils.make_grid(tiles, nrow=columns, padding=1, pad_value=255)
    return grid.permute(1, 2, 0).numpy()


def decode_data_uri(src: str) -> np.ndarray:
    head, data = src.split(",", 1)
    assert head == "data:image/png;base64"
    with Image.open(io.BytesIO(base64.b64decode(data))) as image:
        return np.asarray(image.convert("RGB"))


def bars(page: Any) -> list[float]:
    return [
        float(p) for p in page.locator(".bars li").evaluate_all("ls => ls.map(l => l.dataset.p)")
    ]


def assert_offline(opened: Opened) -> None:
    assert opened.aborted == [], f"requests to other hosts: {opened.aborted}"
    assert opened.errors == [], f"script errors: {opened.errors}"
    assert opened.refused == [], f"refused by the page's policy: {opened.refused}"


# ---- the seed pipeline, digit 7 -------------------------------------------------------------


@pytest.mark.parametrize("size", [DESKTOP, PHONE], ids=["1280x800", "375x800"])
def test_the_seed_pipeline_on_digit_7(
    service: tuple[str, dict[str, Any]], browser: Any, tmp_path: Path, size: tuple[int, int]
) -> None:
    base, _ = service
    opened = workbench(browser, base, size)
    page = opened.page
    build(page, SEED)

    pixels, label = digit(0)
    assert label == 7
    net = seed_net(0)
    outputs = run_layers(net, reference(pixels).requires_grad_())
    expected_shapes = [shape_text(o.shape) for o in outputs]
    # The shapes after each layer, from /v1/models/summary, as the cards were filled in.
    expect(page.locator("#cards output.shape")).to_have_text([f"→ {s}" for s in expected_shapes])

    page.click('#thumbs button[aria-label="Digit 7, test #0"]')
    expect(page.locator("#mnist-picked")).to_have_text("Picked 7 (test #0)")
    page.select_option("#backward", "class")
    page.fill("#backward-class", "7")
    run_and_wait(page, 6)

    # Six layers' shapes and grad_fn, as PyTorch gives them.
    outputs[-1].backward(torch.nn.functional.one_hot(torch.tensor([7]), 10).float())
    assert page.locator(".layer-result .out-shape").all_inner_texts() == expected_shapes
    grad_fns = [o.grad_fn.name() for o in outputs]  # type: ignore[union-attr]
    assert page.locator(".layer-result .grad-fn").all_inner_texts() == grad_fns

    # The class probabilities as bars: PyTorch's softmax of the digit, class by class.
    probs = outputs[-1].detach()[0]
    assert np.allclose(bars(page), probs.numpy(), atol=1e-6)
    assert page.locator(".prediction .predicted").inner_text() == str(int(probs.argmax()))

    # Feature maps: images the browser decoded, not blank, the service's pictures.
    feature_maps = pixels_in_browser(page, ".layer-result img[data-kind=output]")
    assert len(feature_maps) == 6
    for picture, output in zip(feature_maps[:3], outputs[:3], strict=True):
        assert picture["width"] > 0 and picture["height"] > 0
        assert len(set(picture["red"])) > 16, "a blank picture"
        decoded = decode_data_uri(picture["src"])
        assert picture["red"] == decoded[:, :, 0].reshape(-1).tolist()
        # PyTorch's activations drawn here: min..max to gray levels, tiles in make_grid.
        expected = gray_grid(output.detach())
        assert decoded.shape == expected.shape
        assert np.abs(decoded.astype(int) - expected).max() <= 1
        assert (decoded == expected).mean() > 0.999  # equal but for float rounding at a step

    # Kernels and their gradients, with colour scales from the tensors' ranges and in
    # matplotlib's colours.
    first = page.locator(".layer-result").first
    weight = net[0].weight
    assert weight.grad is not None
    kernels = first.locator("figure[data-kind=weights] .colorbar")
    expect(kernels).to_have_attribute(
        "aria-label",
        f"Colour scale: gray, from {weight.min().item():.4g} to {weight.max().item():.4g}",
    )
    magnitude = weight.grad.abs().max().item()
    label_text = first.locator("figure[data-kind=weight_grad] .colorbar").get_attribute(
        "aria-label"
    )
    assert label_text is not None
    low, high = (float(v) for v in re.findall(r"from (\S+) to (\S+),", label_text)[0])
    assert np.isclose(high, magnitude, rtol=1e-3) and np.isclose(low, -magnitude, rtol=1e-3)
    coolwarm = first.locator("figure[data-kind=weight_grad] .colorbar canvas").evaluate(
        "c => Array.from(c.getContext('2d').getImageData(0, 0, 256, 1).data)"
    )
    table = matplotlib.colormaps["coolwarm"](np.arange(256), bytes=True)
    assert np.array(coolwarm).reshape(256, 4).tolist() == table.tolist()

    if size == PHONE:
        # Nothing wider than the phone: no sideways scrolling of the page.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE[0]
        page.evaluate("document.getElementById('results-heading').scrollIntoView()")
        screenshot(page, "workbench-phone.png", tmp_path, colours=SCREENSHOT_COLOURS)
    else:
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(page, "workbench.png", tmp_path, colours=SCREENSHOT_COLOURS)
    assert_offline(opened)


# ---- a misfit, and its fix in one click -----------------------------------------------------


def test_a_misfit_shows_on_the_layer_at_fault_and_its_fix_applies(
    service: tuple[str, dict[str, Any]], browser: Any, tmp_path: Path
) -> None:
    base, _ = service
    opened = workbench(browser, base)
    page = opened.page
    expect(page.locator("#cards output.shape").last).to_have_text("→ [1, 10]")
    linear = cards(page).nth(4)
    linear.locator('[data-field="in_features"] input').fill("784")

    broken = [dict(s) for s in SEED]
    broken[4]["in_features"] = 784
    problem = httpx.post(
        base + "/v1/models/summary", json={"layers": broken, "input_shape": [1, 1, 28, 28]}
    ).json()
    suggestion = problem["context"]["suggestion"]
    assert suggestion == {
        "field": "body.layers.4.in_features",
        "argument": "in_features",
        "value": 2880,
    }

    expect(linear).to_have_class(re.compile(r"\bat-fault\b"))
    expect(linear.locator(".misfit")).to_contain_text(problem["errors"][0]["message"])
    fix = linear.locator("button.apply-fix")
    expect(fix).to_have_text("Apply fix: in_features = 2880")
    expect(linear.locator('[data-field="in_features"] input')).to_have_attribute(
        "aria-invalid", "true"
    )
    # Only the layer at fault: the others are not marked, and those before it keep their shapes.
    assert page.locator("#cards > li.at-fault").count() == 1
    x = torch.zeros(1, 1, 28, 28)
    before = [shape_text(o.shape) for o in run_layers(seed_net(), x)[:4]]
    expect(page.locator("#cards output.shape")).to_have_text(
        [f"→ {s}" for s in before] + ["…", "…"]
    )
    linear.evaluate("card => card.scrollIntoView({block: 'center'})")
    screenshot(page, "workbench-misfit.png", tmp_path, colours=SCREENSHOT_COLOURS)

    fix.click()
    expect(linear.locator('[data-field="in_features"] input')).to_have_value("2880")
    expect(page.locator("#cards > li.at-fault")).to_have_count(0)
    after = [shape_text(o.shape) for o in run_layers(seed_net(), x)]
    expect(page.locator("#cards output.shape")).to_have_text([f"→ {s}" for s in after])
    assert_offline(opened)


# ---- a digit drawn on the canvas ------------------------------------------------------------


def test_a_digit_drawn_on_the_canvas_is_predicted(
    service: tuple[str, dict[str, Any]], browser: Any
) -> None:
    base, _ = service
    opened = workbench(browser, base)
    page = opened.page
    page.check("input[name=input-kind][value=draw]")
    box = page.locator("#pad").bounding_box()
    assert box is not None

    def at(fx: float, fy: float) -> tuple[float, float]:
        return box["x"] + fx * box["width"], box["y"] + fy * box["height"]

    # A 7: the bar, then the stroke down.
    page.mouse.move(*at(0.25, 0.2))
    page.mouse.down()
    for fx, fy in [(0.45, 0.2), (0.75, 0.2), (0.6, 0.5), (0.45, 0.85)]:
        page.mouse.move(*at(fx, fy), steps=6)
    page.mouse.up()
    expect(page.locator("#pad-save")).to_be_visible()
    with page.expect_request("**/v1/models/inspect/upload") as sent:
        run_and_wait(page, 6)
    expect(page.locator(".prediction .predicted")).to_have_count(1)
    shown = bars(page)

    # The PNG the page uploaded, sent here the same way: the same answer; and the seed
    # network built with torch.nn on the input the service made of it: the same probabilities.
    form = BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {sent.value.headers['content-type']}\r\n\r\n".encode()
        + sent.value.post_data_buffer
    )
    parts = {
        part.get_param("name", header="content-disposition"): part for part in form.iter_parts()
    }
    assert parts["image"].get_content_type() == "image/png"
    png = parts["image"].get_content()
    assert json.loads(parts["spec"].get_content()) == json.loads(
        re.search(
            r"--form-string 'spec=(.*?)' \\", page.locator("#curl-pipeline").text_content()
        ).group(1)  # type: ignore[union-attr]
    )
    spec = json.loads(parts["spec"].get_content())
    spec["include"] = ["input", "output"]
    answer = httpx.post(
        base + "/v1/models/inspect/upload",
        data={"spec": json.dumps(spec)},
        files={"image": ("digit.png", png, "image/png")},
        timeout=60,
    ).json()
    x = torch.tensor(answer["input"]["data"]).reshape(answer["input"]["shape"])
    assert x.max() > x.min(), "the drawing reached the service blank"
    assert answer["preprocessing"]["source"]["kind"] == "upload"
    probs = seed_net(0)(x).detach()[0]
    assert np.allclose(shown, probs.numpy(), atol=1e-6)
    assert np.allclose(shown, answer["layers"][-1]["output"]["data"], atol=1e-7)
    assert_offline(opened)


def test_an_uploaded_image_is_preprocessed_as_uploads_are(
    service: tuple[str, dict[str, Any]], browser: Any
) -> None:
    base, _ = service
    opened = workbench(browser, base)
    page = opened.page
    page.check("input[name=input-kind][value=upload]")
    pixels, _ = digit(4)
    page.set_input_files(
        "#upload-file",
        files=[{"name": "four.png", "mimeType": "image/png", "buffer": encode(pixels, "PNG")}],
    )
    expect(page.locator("#upload-about")).to_contain_text("four.png")
    run_and_wait(page, 6)
    # A white-on-black 28x28 digit is changed by ToTensor and Normalize only.
    probs = seed_net(0)(reference(pixels)).detach()[0]
    assert np.allclose(bars(page), probs.numpy(), atol=1e-6)
    expect(page.locator(".input-pictures figcaption")).to_contain_text("uploaded PNG 28\u00d728")
    assert_offline(opened)


def test_a_long_run_shows_its_progress_and_can_be_cancelled(
    service: tuple[str, dict[str, Any]], browser: Any
) -> None:
    base, _ = service
    opened = workbench(browser, base)
    page = opened.page
    held: list[Any] = []
    page.route("**/v1/models/inspect", lambda route: held.append(route))  # an answer that waits
    page.click("#run")
    expect(page.locator("#progress")).to_be_visible()
    expect(page.locator("#status")).to_have_text(re.compile(r"^Running… \d+\.\d s$"))
    expect(page.locator("#run")).to_be_disabled()
    page.click("#cancel")
    expect(page.locator("#status")).to_have_text("Cancelled.")
    expect(page.locator("#progress")).to_be_hidden()
    expect(page.locator("#run")).to_be_enabled()
    assert len(held) == 1
    page.unroute("**/v1/models/inspect")
    run_and_wait(page, 6)  # and the next run goes through
    assert_offline(opened)


# ---- torchvision ----------------------------------------------------------------------------


# GET /v1/models builds every architecture once; two of them warn about their initialization.
@pytest.mark.filterwarnings("ignore:The default weight initialization:FutureWarning")
def test_resnet18_shows_its_module_table(service: tuple[str, dict[str, Any]], browser: Any) -> None:
    base, _ = service
    opened = workbench(browser, base)
    page = opened.page
    page.check("input[name=source][value=torchvision]")
    page.wait_for_selector("#arch option[value=resnet18]", state="attached")
    page.select_option("#arch", "resnet18")
    expect(page.locator("#random-shape")).to_have_value("1, 3, 224, 224")

    # torchvision's resnet18 on meta, one row per module call to depth 3, in call order.
    model = torchvision.models.resnet18().to("meta").eval()
    rows: list[list[str]] = []
    for name, module in model.named_modules():
        if name and name.count(".") < 3:

            def pre(m: nn.Module, args: Any, name: str = name) -> None:
                rows.append([name])

            def post(m: nn.Module, args: Any, out: torch.Tensor, name: str = name) -> None:
                next(r for r in reversed(rows) if r[0] == name and len(r) == 1).append(
                    shape_text(out.shape)
                )

            module.register_forward_pre_hook(pre)
            module.register_forward_hook(post)
    with torch.no_grad():
        model(torch.zeros(1, 3, 224, 224, device="meta"))

    table = page.locator("#tree tbody tr")
    expect(table).to_have_count(len(rows))
    shown = table.evaluate_all(
        "trs => trs.map(tr => [tr.dataset.name, tr.querySelector('.out-shape').textContent])"
    )
    assert shown == rows
    total = sum(p.numel() for p in model.parameters())
    expect(page.locator("#totals")).to_contain_text(f"{total:,} parameters")
    assert_offline(opened)


# ---- autograd -------------------------------------------------------------------------------


def test_the_autograd_graph_is_drawn_with_values_and_grads(
    service: tuple[str, dict[str, Any]], browser: Any, tmp_path: Path
) -> None:
    base, _ = service
    opened = workbench(browser, base)
    page = opened.page
    page.click("#tab-autograd")
    page.select_option("#ag-example", "ones_plus_two_squared")
    page.click("#ag-run")
    expect(page.locator("#ag-status")).to_contain_text("Done")

    # The same graph with PyTorch: a = ones(2, 2); b = a + 2; c = b ** 2; out = c.sum().
    a = torch.ones(2, 2, requires_grad=True)
    b = a + 2
    c = b**2
    out = c.sum()
    out.backward()
    named = {"a": a, "b": b, "c": c, "out": out}
    by_fn = {t.grad_fn: n for n, t in named.items() if t.grad_fn is not None}
    edges = set()
    for name, t in named.items():
        for fn, _ in t.grad_fn.next_functions if t.grad_fn is not None else ():
            source = fn.variable if type(fn).__name__ == "AccumulateGrad" else None
            origin = next((n for n, v in named.items() if v is source), None) or by_fn.get(fn)
            if origin is not None:
                edges.add((origin, name))

    nodes = page.locator(".graph-svg .node")
    assert sorted(nodes.evaluate_all("gs => gs.map(g => g.dataset.name)")) == sorted(named)
    drawn = page.locator(".graph-svg .edge").evaluate_all(
        "ps => ps.map(p => [p.dataset.from, p.dataset.to])"
    )
    assert {tuple(e) for e in drawn} == edges and len(drawn) == len(edges)
    for name, t in named.items():
        node = page.locator(f'.graph-svg .node[data-name="{name}"]')
        if t.grad_fn is not None:
            expect(node.locator(".node-fn")).to_have_text(t.grad_fn.name())
    assert a.grad is not None
    grad_text = ", ".join(f"{v:g}" for v in a.grad.reshape(-1).tolist())
    expect(page.locator('.graph-svg .node[data-name="a"] .node-grad')).to_have_text(
        f"grad {grad_text}"
    )
    assert grad_text == "6, 6, 6, 6"
    expect(page.locator('.graph-svg .node[data-name="out"] .node-value')).to_have_text(
        f"value {out.item():g}"
    )
    screenshot(page, "workbench-autograd.png", tmp_path, colours=SCREENSHOT_COLOURS)
    assert_offline(opened)


# ---- the request as curl and as Python ------------------------------------------------------


def test_the_curl_command_and_python_snippet_give_what_the_page_shows(
    service: tuple[str, dict[str, Any]], browser: Any, tmp_path: Path
) -> None:
    base, _ = service
    opened = workbench(browser, base)
    page = opened.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    page.click('#thumbs button[aria-label="Digit 2, test #1"]')
    page.select_option("#backward", "class")
    page.fill("#backward-class", "2")
    run_and_wait(page, 6)
    shapes = page.locator(".layer-result .out-shape").all_inner_texts()
    shown = bars(page)

    page.click("#pipeline-snippets summary")
    page.click('button[data-copy="curl-pipeline"]')
    expect(page.locator("#copied")).to_have_text("Copied the curl command.")
    curl = page.locator("#curl-pipeline").text_content()
    assert page.evaluate("navigator.clipboard.readText()") == curl

    answers = []
    if shutil.which("curl"):
        done = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        answers.append(json.loads(done.stdout))
    python = page.locator("#python-pipeline").text_content()
    script = tmp_path / "snippet.py"
    script.write_text(python + "\nimport json, sys\njson.dump(report, sys.stdout)\n")
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answers.append(json.loads(done.stdout))
    for report in answers:
        assert [shape_text(r["output_shape"]) for r in report["layers"]] == shapes
        assert report["layers"][-1]["output"]["data"] == pytest.approx(shown, abs=1e-7)
        assert report["labels"]["targets"] == [2]
    assert_offline(opened)


# ---- the state in the URL -------------------------------------------------------------------


def test_a_link_reproduces_the_view(service: tuple[str, dict[str, Any]], browser: Any) -> None:
    base, _ = service
    opened = workbench(browser, base)
    page = opened.page
    conv = cards(page).nth(0)
    conv.locator('[data-field="out_channels"] input').fill("8")
    page.locator("#cards button.apply-fix").click()  # the linear layer now takes 8 * 12 * 12
    expect(cards(page).nth(4).locator('[data-field="in_features"] input')).to_have_value("1152")
    page.click('#thumbs button[aria-label="Digit 0, test #3"]')
    page.select_option("#backward", "class")
    page.fill("#backward-class", "3")
    page.fill("#weights-seed", "5")
    expect(page.locator("#cards output.shape").last).to_have_text("→ [1, 10]")
    link = page.url
    shapes = card_shapes(page)

    again = workbench(browser, base, url=link[len(base) :])
    other = again.page
    expect(other.locator("#cards output.shape").last).to_have_text("→ [1, 10]")
    assert card_shapes(other) == shapes
    assert cards(other).nth(0).locator('[data-field="out_channels"] input').input_value() == "8"
    assert cards(other).nth(4).locator('[data-field="in_features"] input').input_value() == "1152"
    expect(other.locator('#thumbs button[aria-pressed="true"]')).to_have_attribute(
        "data-index", "3"
    )
    assert other.locator("#backward").input_value() == "class"
    assert other.locator("#backward-class").input_value() == "3"
    assert other.locator("#weights-seed").input_value() == "5"
    assert (
        other.locator("#curl-pipeline").text_content()
        == page.locator("#curl-pipeline").text_content()
    )

    # The encoder and decoder themselves: a full state round trip, and a link that does not
    # read is said to be so, not silently dropped.
    round_trip = other.evaluate(
        """async () => {
            const m = await import("/static/js/state.js");
            const s = m.defaultState();
            Object.assign(s, {view: "autograd", source: "torchvision", arch: "vgg11",
                kwargs: {num_classes: 10, dropout: 0.25}, depth: 2,
                select: "features.*, classifier", input: "random",
                random: {shape: [2, 3, 64, 64], seed: 9}, backward: "class", cls: 4,
                wseed: 12, autograd: '{"tensors": {"x": {"fill": 2, "shape": [1]}}}'});
            const back = m.decodeState(m.encodeState(s));
            const layers = m.defaultState();
            layers.layers = [{type: "linear", in_features: 3, out_features: 2, bias: false}];
            layers.input = "draw"; layers.drawing = "AAEC_-8";
            const back2 = m.decodeState(m.encodeState(layers));
            const bad = m.decodeState("layers=%5Bnot-json&digit=test:x&backward=maybe");
            return {same: JSON.stringify(back.state) === JSON.stringify(s), problems: back.problems,
                    same2: JSON.stringify(back2.state) === JSON.stringify(layers),
                    bad: bad.problems, badLayers: bad.state.layers.length};
        }"""
    )
    assert round_trip["same"] and round_trip["problems"] == []
    assert round_trip["same2"]
    assert len(round_trip["bad"]) == 3 and round_trip["badLayers"] == len(SEED)
    garbled = workbench(browser, base, url="/#layers=%5Bnot-json")
    expect(garbled.page.locator('#problems [data-source="link"]')).to_contain_text(
        "the link's layers is not the JSON it should be"
    )
    for o in (opened, again, garbled):
        assert_offline(o)


# ---- the keyboard alone ---------------------------------------------------------------------


def test_a_layer_card_is_built_and_run_with_the_keyboard_only(
    service: tuple[str, dict[str, Any]], browser: Any
) -> None:
    base, _ = service
    opened = workbench(browser, base)
    page = opened.page

    def tab_to(selector: str, limit: int = 120) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(f"document.activeElement.matches({json.dumps(selector)})"):
                return
        pytest.fail(f"Tab never reached {selector}")

    tab_to("#add-layer")
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), "no visible focus"
    page.keyboard.press("Enter")
    expect(cards(page)).to_have_count(7)
    assert page.evaluate("document.activeElement.getAttribute('aria-label')") == "Layer 6 type"
    page.keyboard.type("tanh")
    expect(cards(page).nth(6)).to_have_attribute("data-type", "tanh")
    expect(page.locator("#cards output.shape").nth(6)).to_have_text("→ [1, 10]")
    tab_to("#run")
    page.keyboard.press("Enter")
    expect(page.locator("#status")).to_contain_text("Done", timeout=30_000)
    expect(page.locator(".layer-result")).to_have_count(7)
    net = nn.Sequential(*seed_net(0), nn.Tanh())
    x = reference(digit(0)[0])
    want = [shape_text(o.shape) for o in run_layers(net, x)]
    assert page.locator(".layer-result .out-shape").all_inner_texts() == want
    assert page.locator(".layer-result").nth(6).get_attribute("data-type") == "tanh"
    assert_offline(opened)


# ---- errors are shown -----------------------------------------------------------------------


def test_errors_are_shown_as_the_service_words_them(
    service: tuple[str, dict[str, Any]], browser: Any
) -> None:
    base, _ = service
    opened = workbench(browser, base)
    page = opened.page

    # A refused argument: on its card, at its field, in the service's words.
    conv = cards(page).nth(0)
    conv.locator('[data-field="out_channels"] input').fill("-3")
    layers = [dict(s) for s in SEED]
    layers[0]["out_channels"] = -3
    problem = httpx.post(
        base + "/v1/models/summary", json={"layers": layers, "input_shape": [1, 1, 28, 28]}
    ).json()
    (error,) = problem["errors"]
    assert error["field"] == "body.layers.0.out_channels"
    expect(conv.locator('[data-field="out_channels"] input')).to_have_attribute(
        "aria-invalid", "true"
    )
    expect(conv.locator(".misfit")).to_contain_text(f"out_channels: {error['message']}")

    # A request the service refuses as a whole: its problem details in the alert region.
    page.click("#tab-autograd")
    request = {
        "tensors": {"a": {"fill": 1.0, "shape": [2]}},
        "ops": [{"name": "b", "op": "cube", "args": ["a"]}],
    }
    page.fill("#ag-text", json.dumps(request))
    page.click("#ag-run")
    answer = httpx.post(base + "/v1/autograd", json=request)
    assert answer.status_code == 422
    refused = answer.json()
    shown = page.locator('#problems [data-source="autograd"]')
    expect(shown).to_contain_text(refused["title"])
    for e in refused["errors"]:
        expect(shown).to_contain_text(f"{e['field']}: {e['message']}")
    assert page.locator("#problems").get_attribute("role") == "alert"
    assert_offline(opened)


# ---- the safetensors reader against Python's safetensors ------------------------------------


def test_the_pages_safetensors_reader_reads_what_safetensors_writes(
    service: tuple[str, dict[str, Any]], browser: Any
) -> None:
    base, _ = service
    opened = workbench(browser, base)
    page = opened.page
    tensors = {
        "f32": torch.tensor([[1.5, -2.25, 3e-8], [float("inf"), -0.0, 7.0]]),
        "f64": torch.tensor([1 / 3, -1e300, 2.5], dtype=torch.float64),
        "f16": torch.tensor([1.0, -65504.0, 6e-8, 1e-5, float("-inf"), 0.1], dtype=torch.float16),
        "bf16": torch.tensor([1.0, -3.140625, 1e-30, 3e38], dtype=torch.bfloat16),
        "i64": torch.tensor([2**53 + 1, -(2**62), 7], dtype=torch.int64),
        "i32": torch.tensor([[-(2**31), 5]], dtype=torch.int32),
        "bool": torch.tensor([True, False, True]),
        "empty": torch.zeros(0, 3),
    }
    data = save_safetensors(tensors, metadata={"report": json.dumps({"hello": [1, 2]})})
    read = page.evaluate(
        """async (b64) => {
            const m = await import("/static/js/safetensors.js");
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const body = m.readSafetensors(bytes.buffer);
            const out = {};
            for (const [name, t] of Object.entries(body.tensors)) {
                const text = (v) => typeof v === "bigint" ? v.toString() : String(v);
                out[name] = {dtype: t.dtype, shape: t.shape, values: Array.from(t.data, text)};
            }
            return {tensors: out, report: body.report};
        }""",
        base64.b64encode(data).decode(),
    )
    assert read["report"] == {"hello": [1, 2]}
    assert set(read["tensors"]) == set(tensors)
    for name, t in tensors.items():
        got = read["tensors"][name]
        assert got["shape"] == list(t.shape), name
        if t.is_floating_point():
            values = np.array([float(v) for v in got["values"]], dtype=np.float64)
            assert np.array_equal(values, t.to(torch.float64).reshape(-1).numpy()), name
        else:
            assert got["values"] == [str(int(v)) for v in t.reshape(-1).tolist()], name

    # A run answered as safetensors: the page views each tensor in place (no copy) and reads
    # the values Python's safetensors reads from the same request's bytes.
    request = {
        "layers": SEED,
        "input": {"mnist": {"index": 0}},
        "backward": {"target": "sum"},
        "include": ["output", "parameters", "gradients"],
    }
    raw = httpx.post(
        base + "/v1/models/inspect", json=request, headers={"Accept": "application/x-safetensors"}
    ).content
    expected_arrays = load_safetensors(raw)
    in_page = page.evaluate(
        """async (request) => {
            const m = await import("/static/js/safetensors.js");
            const response = await fetch("/v1/models/inspect", {method: "POST",
                headers: {"Content-Type": "application/json",
                          "Accept": "application/x-safetensors"},
                body: JSON.stringify(request)});
            const buffer = await response.arrayBuffer();
            const body = m.readSafetensors(buffer);
            const out = {};
            for (const [name, t] of Object.entries(body.tensors)) {
                out[name] = {shape: t.shape, inPlace: t.data.buffer === buffer,
                             values: Array.from(t.data)};
            }
            const last = body.report.layers[5].output;
            return {tensors: out, lastKey: last.key, last: Array.from(m.valuesOf(body, last))};
        }""",
        request,
    )
    assert set(in_page["tensors"]) == set(expected_arrays)
    for name, array in expected_arrays.items():
        got = in_page["tensors"][name]
        assert got["inPlace"], f"{name} was copied"
        assert got["shape"] == list(array.shape)
        assert np.array_equal(np.array(got["values"], dtype=array.dtype), array.reshape(-1)), name
    assert in_page["lastKey"] == "layers.5.output"
    assert np.array_equal(np.float32(in_page["last"]), expected_arrays["layers.5.output"][0])
    assert_offline(opened)
