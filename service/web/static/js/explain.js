// The explain view, on the pipeline of the Pipeline view (the seed pipeline when it has no
// layers) and one MNIST test digit:
// - the predicted class (POST /v1/models/inspect: argmax of the output) and Captum's heat map
//   for it (POST /v1/models/attribute, target = that class);
// - a feature map whose pixels, clicked, show the input box they see
//   (POST /v1/models/receptive-field);
// - one argument of the first layer over a list of values (POST /v1/layers/sweep), a slider
//   stepping through the answers.

import { ApiError, postJson } from "./api.js";
import { el, fmt, shapeText } from "./dom.js";
import { clearProblem, problemParts, showProblem } from "./problems.js";

const $ = (id) => document.getElementById(id);
const PICTURE_WIDTH = 260;
const OCCLUSION = { window: 4, stride: 2 };

/** The index of the largest value (the first of equals); -1 for none. */
export function argmax(values) {
  let best = -1;
  for (let k = 0; k < values.length; k++) if (best < 0 || values[k] > values[best]) best = k;
  return best;
}

/** A box of positions per axis as text: "rows 3–12, cols 5–14" (both ends included). */
export function spanText(span) {
  if (!span) return "none: the window lies wholly in padding";
  const names = span.start.length === 2 ? ["rows", "cols"] : span.start.map((_, i) => `axis ${i}`);
  return names.map((name, i) => `${name} ${span.start[i]}–${span.end[i]}`).join(", ");
}

/** The unit [row, col] under a point of a picture `rect` (its box on screen) of h x w units. */
export function unitAt(rect, x, y, h, w) {
  const row = Math.floor(((y - rect.top) / rect.height) * h);
  const col = Math.floor(((x - rect.left) / rect.width) * w);
  return [Math.max(0, Math.min(h - 1, row)), Math.max(0, Math.min(w - 1, col))];
}

/** The values of a sweep: the text of a JSON list without its brackets ("1, 3, [3, 5]"). */
export function parseValues(text) {
  try {
    const values = JSON.parse(`[${text}]`);
    if (values.length) return values;
  } catch {
    /* said below */
  }
  throw new ApiError(
    {
      title: "The values do not read",
      detail: `"${text}" is not a comma-separated list of values`,
      errors: [{ field: "values", message: "not a list of JSON values", fix: "write e.g. 1, 3, 5 or [3, 5], [5, 3]" }],
    },
    0,
  );
}

function upscale(img) {
  const factor = Math.max(1, Math.min(12, Math.floor(PICTURE_WIDTH / img.naturalWidth)));
  img.style.width = `${img.naturalWidth * factor}px`;
}

export class ExplainView {
  /** `context()`: `{layers, seeded, wseed}` of the Pipeline view now; `types`: schema.js's. */
  constructor(context, types) {
    this.context = context;
    this.types = types;
    this.result = null; // {key, request, report, predicted}
    this.unit = null; // [row, col] of the feature map last asked about
    this.sweepAnswer = null;
    this.seq = 0;
    $("ex-run").addEventListener("click", () => this.run());
    $("ex-method").addEventListener("change", () => {
      this.showLayerChoice();
      if (this.result) this.attribute();
    });
    $("ex-layer").addEventListener("change", () => this.result && this.attribute());
    $("ex-index").addEventListener("keydown", (e) => {
      if (e.key === "Enter") this.run();
    });
    $("ex-rf-module").addEventListener("change", () => this.drawFeatureMap());
    $("ex-rf-channel").addEventListener("input", () => this.drawFeatureMap());
    const fmap = $("ex-fmap");
    fmap.addEventListener("click", (e) => {
      const shape = this.featureShape();
      if (!shape) return;
      this.pickUnit(unitAt(fmap.getBoundingClientRect(), e.clientX, e.clientY, shape[0], shape[1]));
    });
    fmap.addEventListener("keydown", (e) => {
      const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
      const shape = this.featureShape();
      if (!(e.key in moves) || !shape) return;
      e.preventDefault();
      const [r, c] = this.unit || [0, 0];
      const [dr, dc] = this.unit ? moves[e.key] : [0, 0];
      this.pickUnit([Math.max(0, Math.min(shape[0] - 1, r + dr)), Math.max(0, Math.min(shape[1] - 1, c + dc))]);
    });
    $("ex-sw-run").addEventListener("click", () => this.sweep());
    $("ex-sw-slider").addEventListener("input", () => this.showSweepValue(Number($("ex-sw-slider").value)));
    $("ex-sw-image").addEventListener("load", () => upscale($("ex-sw-image")));
    this.showLayerChoice();
  }

  /** The view is shown: say which model it explains; forget results of another one. */
  shown() {
    const ctx = this.context();
    $("ex-model").textContent = ctx.seeded
      ? `The seed pipeline (the Pipeline view has no layers), weights seed ${ctx.wseed}.`
      : `The pipeline of the Pipeline view: ${ctx.layers.map((l) => (l.type === "activation" ? l.name : l.type)).join(" → ")}, weights seed ${ctx.wseed}.`;
    if (this.result && this.result.key !== this.key(ctx)) {
      this.result = null;
      $("ex-status").textContent = "The pipeline changed: press Explain.";
    }
    this.fillModuleChoices(ctx.layers.map((l, i) => ({ index: i, type: l.name || l.type, shape: null })));
    this.fillArguments(ctx.layers[0]);
  }

  key(ctx) {
    return JSON.stringify([ctx.layers, ctx.wseed, $("ex-index").value]);
  }

  input() {
    const v = $("ex-index").value;
    return { mnist: { split: "test", index: /^\d+$/.test(v) ? Number(v) : v } };
  }

  showLayerChoice() {
    $("ex-layer-label").hidden = $("ex-method").value !== "layer_gradcam";
  }

  /** The module menus: every layer before the run, those with [N, C, H, W] outputs after it. */
  fillModuleChoices(rows) {
    for (const id of ["ex-layer", "ex-rf-module"]) {
      const select = $(id);
      const before = select.value;
      select.replaceChildren(
        ...rows.map((r) => el("option", { value: String(r.index) }, `${r.index} · ${r.type}${r.shape ? ` ${shapeText(r.shape)}` : ""}`)),
      );
      if (rows.some((r) => String(r.index) === before)) select.value = before;
    }
  }

  /** The arguments of the first layer's type that take numbers. */
  fillArguments(layer) {
    const select = $("ex-sw-arg");
    const type = layer && this.types.find((t) => t.id === (layer.type === "activation" ? layer.name : layer.type));
    const names = type ? type.fields.filter((f) => f.types.has("integer")).map((f) => f.name) : [];
    const before = select.value || "kernel_size";
    if (select.dataset.layer === JSON.stringify(layer)) return;
    select.dataset.layer = JSON.stringify(layer);
    select.replaceChildren(...names.map((n) => el("option", { value: n }, n)));
    if (names.includes(before)) select.value = before;
  }

  // ---- the prediction and its heat map --------------------------------------------------------

  async run() {
    const seq = ++this.seq;
    const ctx = this.context();
    this.shown();
    $("ex-status").textContent = "Running the model…";
    const request = { layers: ctx.layers, input: this.input(), weights: { seed: ctx.wseed } };
    try {
      const report = await postJson("v1/models/inspect", { ...request, include: ["output"] });
      if (seq !== this.seq) return;
      const last = report.layers[report.layers.length - 1];
      const out = last.output;
      if (!out || out.shape.length !== 2 || !out.data) {
        throw new ApiError({ title: "No class to explain", detail: `the model's output is ${shapeText(last.output_shape)}; a heat map needs [N, classes]` }, 0);
      }
      const scores = out.data.slice(0, out.shape[1]);
      const predicted = argmax(scores);
      this.result = { key: this.key(ctx), request, report, predicted };
      clearProblem("explain");
      const label = report.labels && report.labels.targets ? report.labels.targets[0] : undefined;
      $("ex-prediction").replaceChildren(
        "Predicted class ",
        el("strong", { id: "ex-predicted" }, String(predicted)),
        ` (output ${fmt(scores[predicted])})`,
        label !== undefined ? el("span", { class: "hint" }, ` — label ${label}`) : null,
      );
      const spatial = report.layers.map((r, i) => ({ index: i, type: r.type, shape: r.output_shape })).filter((r) => r.shape.length === 4);
      this.fillModuleChoices(spatial);
      this.unit = null;
      this.drawFeatureMap();
      await this.attribute();
    } catch (error) {
      if (seq !== this.seq) return;
      showProblem("explain", error);
      $("ex-status").textContent = "Failed: see the error above.";
    }
  }

  async attribute() {
    const seq = ++this.seq;
    const { request, predicted } = this.result;
    const method = $("ex-method").value;
    const body = { ...request, method, target: predicted };
    if (method === "layer_gradcam") body.layer = Number($("ex-layer").value);
    if (method === "occlusion") {
      const channels = this.result.report.summary.input_shape[1];
      body.sliding_window_shapes = [channels, OCCLUSION.window, OCCLUSION.window];
      body.strides = [channels, OCCLUSION.stride, OCCLUSION.stride];
    }
    $("ex-status").textContent = `Attributing class ${predicted} with ${method}…`;
    try {
      const answer = await postJson("v1/models/attribute", body);
      if (seq !== this.seq) return;
      clearProblem("explain");
      $("ex-heatmap-figure").hidden = !answer.heatmap;
      if (answer.heatmap) {
        $("ex-heatmap").src = answer.heatmap;
        $("ex-heatmap").alt = `${answer.captum} attribution of class ${predicted} over the digit, coolwarm centred on zero`;
        $("ex-heatmap").dataset.method = method;
        $("ex-heatmap").dataset.target = String(predicted);
      }
      $("ex-heatmap-caption").textContent = `${answer.captum}, target ${predicted}${body.layer !== undefined ? `, layer ${body.layer}` : ""}`;
      $("ex-status").textContent = `Done: ${answer.captum} in ${fmt(answer.timing_ms.attribute_ms)} ms.`;
    } catch (error) {
      if (seq !== this.seq) return;
      showProblem("explain", error);
      $("ex-status").textContent = "Failed: see the error above.";
    }
  }

  // ---- a feature map and the receptive field of its pixels ------------------------------------

  /** [H, W] of the chosen module's output, or null before a run. */
  featureShape() {
    if (!this.result) return null;
    const row = this.result.report.layers[Number($("ex-rf-module").value)];
    return row && row.output_shape.length === 4 ? row.output_shape.slice(2) : null;
  }

  drawFeatureMap() {
    const canvas = $("ex-fmap");
    const index = Number($("ex-rf-module").value);
    const row = this.result && this.result.report.layers[index];
    if (!row || !row.output || !row.output.data || row.output_shape.length !== 4) return;
    const [, channels, h, w] = row.output_shape;
    const channel = Number($("ex-rf-channel").value);
    $("ex-rf-channel").max = String(channels - 1);
    if (!(Number.isInteger(channel) && channel >= 0 && channel < channels)) {
      $("ex-rf-channel").setAttribute("aria-invalid", "true");
      showProblem("explain-rf", new ApiError({ title: "No such channel", detail: `module ${index} has channels 0 to ${channels - 1}`, errors: [{ field: "channel", message: `${$("ex-rf-channel").value} is outside 0..${channels - 1}`, fix: `pick a channel from 0 to ${channels - 1}` }] }, 0));
      return;
    }
    $("ex-rf-channel").removeAttribute("aria-invalid");
    clearProblem("explain-rf");
    const values = row.output.data.slice(channel * h * w, (channel + 1) * h * w);
    const lo = Math.min(...values);
    const hi = Math.max(...values);
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext("2d");
    const image = ctx.createImageData(w, h);
    values.forEach((v, k) => {
      const g = hi > lo ? Math.round((255 * (v - lo)) / (hi - lo)) : 0;
      image.data.set([g, g, g, 255], 4 * k);
    });
    ctx.putImageData(image, 0, 0);
    canvas.dataset.module = String(index);
    canvas.dataset.channel = String(channel);
    canvas.setAttribute("aria-label", `Feature map of module ${index} (${row.type}), channel ${channel}, ${h}×${w}: click a pixel or use the arrow keys`);
    $("ex-fmap-caption").textContent = `Module ${index} (${row.type}), channel ${channel}: ${h}×${w}, ${fmt(lo)} to ${fmt(hi)} in gray`;
    if (this.unit && (this.unit[0] >= h || this.unit[1] >= w)) this.unit = null;
    this.markUnit([h, w]);
    if (this.unit) this.receptiveField();
  }

  markUnit([h, w]) {
    const mark = $("ex-fmap-mark");
    mark.hidden = !this.unit;
    if (!this.unit) return;
    const [r, c] = this.unit;
    Object.assign(mark.style, { top: `${(100 * r) / h}%`, left: `${(100 * c) / w}%`, width: `${100 / w}%`, height: `${100 / h}%` });
  }

  pickUnit(unit) {
    this.unit = unit;
    this.markUnit(this.featureShape());
    this.receptiveField();
  }

  async receptiveField() {
    const [row, col] = this.unit;
    const module = Number($("ex-rf-module").value);
    const channel = Number($("ex-rf-channel").value);
    const { request } = this.result;
    const body = { layers: request.layers, input: request.input, module, unit: { channel, position: [row, col] }, png: true };
    $("ex-rf-box").textContent = `Unit (${row}, ${col}) of channel ${channel}: asking…`;
    try {
      const answer = await postJson("v1/models/receptive-field", body);
      if (!this.unit || this.unit[0] !== row || this.unit[1] !== col) return; // a later click
      clearProblem("explain-rf");
      const seen = answer.window_in_input;
      const padded = JSON.stringify(answer.window) !== JSON.stringify(seen);
      const box = $("ex-rf-box");
      box.dataset.unit = `${row},${col}`;
      box.dataset.window = seen ? JSON.stringify([seen.start, seen.end]) : "";
      box.textContent = `Unit (${row}, ${col}) of ${answer.module} ${answer.class_name}, channel ${channel}, sees ${spanText(seen)} of the ${shapeText(answer.input_shape.slice(2))} input${padded ? ` (its window, ${spanText(answer.window)}, runs into padding)` : ""}.`;
      const img = $("ex-rf-image");
      img.hidden = false;
      img.src = answer.image;
      img.alt = `The digit with the input box of unit (${row}, ${col}) drawn in red: ${spanText(seen)}`;
    } catch (error) {
      showProblem("explain-rf", error);
      $("ex-rf-box").textContent = "Failed: see the error above.";
    }
  }

  // ---- one argument of the first layer, swept --------------------------------------------------

  async sweep() {
    const ctx = this.context();
    this.fillArguments(ctx.layers[0]);
    try {
      const argument = $("ex-sw-arg").value;
      const values = parseValues($("ex-sw-values").value);
      $("ex-sw-values").removeAttribute("aria-invalid");
      const body = { layer: ctx.layers[0], input: this.input(), weights: { seed: ctx.wseed }, argument, values, include: [] };
      const answer = await postJson("v1/layers/sweep", body);
      clearProblem("explain-sweep");
      this.sweepAnswer = answer;
      const slider = $("ex-sw-slider");
      slider.max = String(answer.results.length - 1);
      slider.value = "0";
      $("ex-sw-result").hidden = false;
      this.showSweepValue(0);
    } catch (error) {
      if (error.problem && error.problem.errors && error.problem.errors.some((e) => e.field === "values")) $("ex-sw-values").setAttribute("aria-invalid", "true");
      showProblem("explain-sweep", error);
    }
  }

  showSweepValue(index) {
    const answer = this.sweepAnswer;
    const item = answer.results[index];
    const text = `${answer.argument} = ${JSON.stringify(item.value)}`;
    $("ex-sw-value").textContent = text;
    $("ex-sw-slider").setAttribute("aria-valuetext", text);
    const img = $("ex-sw-image");
    const problem = $("ex-sw-problem");
    problem.hidden = item.status === 200;
    img.hidden = !item.image;
    if (item.image) {
      img.src = item.image;
      img.alt = `Output of the first layer with ${text}, gray scale`;
    }
    if (item.result) {
      $("ex-sw-shape").textContent = `output ${shapeText(item.result.output.shape)}`;
      problem.replaceChildren();
    } else {
      $("ex-sw-shape").textContent = `${text}: does not fit (${item.status})`;
      problem.replaceChildren(el("div", {}, problemParts(item.problem || { title: `HTTP ${item.status}` }, "h3")));
    }
    $("ex-sw-result").dataset.index = String(index);
  }
}
