// A run, layer by layer: shapes and statistics, the pictures the service draws (feature maps,
// kernels, gradients) with their colour scales, grad_fn, and a softmax output's class
// probabilities as bars.

import { colorBar } from "./colorbar.js";
import { count, el, fmt, shapeText } from "./dom.js";
import { valuesOf } from "./safetensors.js";

const PICTURE_WIDTH = 260;
const BAR_MIN_WIDTH = 160;

function picture(maps, src, { title, alt, colormap, lo, hi, kind }) {
  const img = el("img", { src, alt, class: "tensor-picture", decoding: "async", dataset: { kind } });
  img.addEventListener("load", () => {
    // Whole-pixel upscaling, as the tiles are small: 24x24 feature maps, 5x5 kernels.
    const factor = Math.max(1, Math.min(12, Math.floor(PICTURE_WIDTH / img.naturalWidth)));
    img.style.width = `${img.naturalWidth * factor}px`;
    figure.style.width = `${Math.max(BAR_MIN_WIDTH, img.naturalWidth * factor + 2)}px`;
  });
  const figure = el("figure", { class: "picture", dataset: { kind } }, el("figcaption", {}, title), img, colorBar(maps, colormap, lo, hi));
  return figure;
}

function statsList(stats, label) {
  if (!stats) return null;
  return el(
    "dl",
    { class: "stats", "aria-label": label },
    [["min", stats.min], ["max", stats.max], ["mean", stats.mean], ["std", stats.std]].map(([k, v]) => [el("dt", {}, k), el("dd", {}, fmt(v))]),
    el("dt", {}, "zeros"),
    el("dd", {}, `${fmt(100 * stats.zero_fraction)}%`),
    stats.nan_count ? [el("dt", {}, "NaN"), el("dd", {}, String(stats.nan_count))] : null,
    stats.inf_count ? [el("dt", {}, "inf"), el("dd", {}, String(stats.inf_count))] : null,
  );
}

const CONV = /^conv(transpose)?[123]d$/;

function rowPictures(maps, report, row, previous) {
  const images = row.images;
  if (!images) return [];
  const weight = row.parameters && row.parameters[`${row.name}.weight`];
  const figures = [];
  const out = row.output;
  const spatial = out && out.shape.length >= 3;
  if (images.output) {
    figures.push(
      picture(maps, images.output, {
        kind: "output",
        title: spatial ? "Feature maps (output)" : "Output",
        alt: `Output of ${row.name} (${row.type}), ${shapeText(out && out.shape)}, gray scale`,
        colormap: "gray",
        lo: out ? out.stats.min : null,
        hi: out ? out.stats.max : null,
      }),
    );
  }
  if (images.weights) {
    figures.push(
      picture(maps, images.weights, {
        kind: "weights",
        title: CONV.test(row.type) ? "Kernels (weight)" : "Weight",
        alt: `Weight of ${row.name} (${row.type}), ${shapeText(weight && weight.shape)}, gray scale`,
        colormap: "gray",
        lo: weight ? weight.stats.min : null,
        hi: weight ? weight.stats.max : null,
      }),
    );
  }
  if (images.input_grad) {
    // In a pipeline, the gradient at a layer's input is the one at the previous layer's output
    // (the model's input for the first layer), where the run reports its statistics; in a
    // network with branches the page does not know which module feeds which.
    const grad = previous === undefined ? null : previous ? previous.output && previous.output.grad : report.input.grad;
    figures.push(
      picture(maps, images.input_grad, {
        kind: "input_grad",
        title: "Gradient at the input",
        alt: `Gradient of the target with respect to the input of ${row.name}, coolwarm scale`,
        colormap: "coolwarm",
        lo: grad ? grad.stats.min : null,
        hi: grad ? grad.stats.max : null,
      }),
    );
  }
  if (images.weight_grad) {
    const grad = weight && weight.grad;
    figures.push(
      picture(maps, images.weight_grad, {
        kind: "weight_grad",
        title: CONV.test(row.type) ? "Kernel gradients (weight.grad)" : "weight.grad",
        alt: `Gradient of the target with respect to the weight of ${row.name}, coolwarm scale`,
        colormap: "coolwarm",
        lo: grad ? grad.stats.min : null,
        hi: grad ? grad.stats.max : null,
      }),
    );
  }
  return figures;
}

function layerArticle(maps, report, row, previous) {
  const out = row.output;
  return el(
    "article",
    { class: "layer-result", id: `result-${row.name}`, dataset: { name: row.name, type: row.type } },
    el("h3", {}, el("span", { class: "index" }, row.name), ` ${row.type} `, el("code", { class: "repr" }, row.repr)),
    el(
      "dl",
      { class: "facts" },
      el("dt", {}, "output shape"),
      el("dd", { class: "out-shape" }, shapeText(row.output_shape)),
      out && out.grad_fn ? [el("dt", {}, "grad_fn"), el("dd", { class: "grad-fn" }, el("code", {}, out.grad_fn))] : null,
      row.parameter_count ? [el("dt", {}, "parameters"), el("dd", {}, count(row.parameter_count))] : null,
      row.flops ? [el("dt", {}, "FLOPs"), el("dd", {}, count(row.flops))] : null,
    ),
    out ? statsList(out.stats, `Statistics of the output of ${row.name}`) : null,
    out && out.grad ? el("p", { class: "grad-line" }, "output.grad ", statsList(out.grad.stats, `Statistics of the gradient at the output of ${row.name}`)) : null,
    el("div", { class: "pictures" }, rowPictures(maps, report, row, previous)),
  );
}

/** The class probabilities of a softmax output [N, C], first sample, as bars. */
function predictionBars(body, row, labels) {
  const values = valuesOf(body, row.output);
  const [n, classes] = row.output.shape;
  if (!values || row.output.shape.length !== 2 || classes > 100) return null;
  const probs = Array.from(values.slice(0, classes), Number);
  let best = 0;
  probs.forEach((p, k) => {
    if (p > probs[best]) best = k;
  });
  const label = labels && labels.targets ? labels.targets[0] : undefined;
  return el(
    "section",
    { class: "prediction", "aria-labelledby": "prediction-heading", dataset: { predicted: best } },
    el("h3", { id: "prediction-heading" }, "Prediction: ", el("strong", { class: "predicted" }, String(best)), ` (p = ${fmt(probs[best])})`,
      label !== undefined ? el("span", { class: "hint" }, ` — label ${label}`) : null,
      n > 1 ? el("span", { class: "hint" }, ` — first of ${n} samples`) : null),
    el(
      "ol",
      { class: "bars", start: 0, "aria-label": "Class probabilities" },
      probs.map((p, k) => {
        const fill = el("span", { class: "fill" });
        fill.style.width = `${Math.max(0, Math.min(1, p)) * 100}%`;
        return el(
          "li",
          { class: k === best ? "bar best" : "bar", dataset: { cls: k, p: String(p) } },
          el("span", { class: "cls" }, String(k)),
          el("span", { class: "track", role: "img", "aria-label": `p(${k}) = ${p.toFixed(4)}` }, fill),
          el("span", { class: "p" }, p.toFixed(4)),
        );
      }),
    ),
  );
}

function sourceText(pre) {
  if (!pre || !pre.source) return null;
  const s = pre.source;
  if (s.kind === "mnist" && s.index !== undefined) return `MNIST ${s.split} #${s.index}, label ${s.label}`;
  if (s.kind === "mnist") return `MNIST ${s.split}, ${s.indices.length} digits`;
  if (s.kind === "upload") {
    const inverted = (pre.steps || []).some((st) => st.name === "invert" && st.params && st.params.applied);
    return `uploaded ${s.format || "image"} ${s.width}×${s.height}${inverted ? ", inverted" : ""}, fitted to 28×28`;
  }
  return null;
}

/** Render the run `body` (`{report, tensors}`) into the result nodes. */
export function renderRun(nodes, body, maps, { pipeline = true } = {}) {
  const report = body.report;
  const s = report.summary;
  const backward = report.timing_ms && report.timing_ms.backward_ms !== null && report.timing_ms.backward_ms !== undefined;
  nodes.empty.hidden = true;
  const parts = [
    el(
      "p",
      { class: "run-line" },
      `${shapeText(s.input_shape)} → ${shapeText(s.output_shape)} · ${count(s.parameter_count)} parameters · ${count(s.flops)} FLOPs · ${report.device}, ${report.dtype}, ${report.mode} · forward ${fmt(report.timing_ms.forward_ms)} ms`,
      backward ? ` · backward ${fmt(report.timing_ms.backward_ms)} ms` : "",
    ),
    report.warnings && report.warnings.length ? el("ul", { class: "warnings" }, report.warnings.map((w) => el("li", {}, w))) : null,
    report.images && report.images.input
      ? el(
          "div",
          { class: "pictures input-pictures" },
          picture(maps, report.images.input, {
            kind: "model-input",
            title: ["Input ", shapeText(report.input.shape), sourceText(report.preprocessing) ? ` — ${sourceText(report.preprocessing)}` : ""].join(""),
            alt: `The model's input, ${shapeText(report.input.shape)}, gray scale`,
            colormap: "gray",
            lo: report.input.stats.min,
            hi: report.input.stats.max,
          }),
        )
      : null,
  ];
  nodes.summary.replaceChildren(...parts.filter(Boolean));
  const rows = report.layers.filter((r) => r.selected);
  const last = rows[rows.length - 1];
  nodes.prediction.replaceChildren();
  if (last && last.type === "softmax" && last.output) {
    const bars = predictionBars(body, last, report.labels);
    if (bars) nodes.prediction.append(bars);
  }
  nodes.layers.replaceChildren(...rows.map((row, i) => layerArticle(maps, report, row, !pipeline ? undefined : i > 0 ? rows[i - 1] : null)));
}

export function clearRun(nodes) {
  nodes.empty.hidden = false;
  nodes.summary.replaceChildren();
  nodes.prediction.replaceChildren();
  nodes.layers.replaceChildren();
}
