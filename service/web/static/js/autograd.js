// The autograd view: named leaves and ops (POST /v1/autograd), drawn as the graph PyTorch
// records: every named tensor a node, an arrow from each tensor its grad_fn's next_functions
// lead to, with values and .grad.

import { ApiError, postJson } from "./api.js";
import { el, fmt, shapeText } from "./dom.js";
import { clearProblem, showProblem } from "./problems.js";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const NODE_W = 170;
const NODE_H = 86;
const GAP_X = 28;
const GAP_Y = 46;

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, v);
  for (const c of children) if (c) node.append(c);
  return node;
}

/** A few values of a tensor for a node: all of them when few, else the stats. */
export function valuesText(t) {
  if (!t) return "None";
  const data = t.data;
  if (Array.isArray(data) && data.length <= 4) return data.map(fmt).join(", ");
  return `mean ${fmt(t.stats.mean)}, min ${fmt(t.stats.min)}, max ${fmt(t.stats.max)}`;
}

/** One line per op, as code: `c = pow(b, 2)`. */
export function opsListing(request) {
  const lines = Object.entries(request.tensors || {}).map(([name, leaf]) => {
    const how = leaf.fill !== undefined ? `full(${shapeText(leaf.shape)}, ${leaf.fill})` : leaf.tensor ? "tensor(…)" : `randn(${shapeText(leaf.shape)}, seed=${leaf.seed ?? 0})`;
    return `${name} = ${how}${leaf.requires_grad === false ? "" : ", requires_grad"}`;
  });
  for (const op of request.ops || []) {
    const extra = ["dim", "keepdim", "shape"].filter((k) => op[k] !== undefined && op[k] !== null).map((k) => `${k}=${JSON.stringify(op[k])}`);
    lines.push(`${op.name} = ${op.op}(${[...(op.args || []).map(String), ...extra].join(", ")})${op.no_grad ? "  # no_grad" : ""}`);
  }
  if (request.backward) lines.push(`${request.backward.of}.backward(${request.backward.grad_output ? "v" : ""})${request.backward.repeat > 1 ? ` × ${request.backward.repeat}` : ""}`);
  return lines.join("\n");
}

/** Rows of the graph: a tensor's row is one below the lowest of those it came from. */
export function layout(tensors) {
  const level = {};
  const visit = (name, seen = new Set()) => {
    if (level[name] !== undefined) return level[name];
    if (seen.has(name)) return 0;
    seen.add(name);
    const inputs = (tensors[name].next_functions || []).filter((n) => n && tensors[n]);
    level[name] = inputs.length ? 1 + Math.max(...inputs.map((n) => visit(n, seen))) : 0;
    return level[name];
  };
  Object.keys(tensors).forEach((n) => visit(n));
  const rows = [];
  for (const name of Object.keys(tensors)) (rows[level[name]] ||= []).push(name);
  return rows.filter(Boolean);
}

/** The graph of an autograd response as an SVG. */
export function drawGraph(report) {
  const tensors = report.tensors;
  const rows = layout(tensors);
  const widest = Math.max(...rows.map((r) => r.length));
  const width = widest * NODE_W + (widest - 1) * GAP_X + 8;
  const height = rows.length * NODE_H + (rows.length - 1) * GAP_Y + 8;
  const at = {};
  rows.forEach((row, r) => {
    const span = row.length * NODE_W + (row.length - 1) * GAP_X;
    const left = (width - span) / 2;
    row.forEach((name, k) => {
      at[name] = { x: left + k * (NODE_W + GAP_X), y: 4 + r * (NODE_H + GAP_Y) };
    });
  });
  const root = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    width,
    height,
    role: "img",
    "aria-label": `Autograd graph of ${Object.keys(tensors).length} tensors`,
    class: "graph-svg",
  });
  root.append(
    svg("defs", {}, svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, svg("path", { d: "M 0 0 L 10 5 L 0 10 z", class: "arrowhead" }))),
  );
  for (const [name, t] of Object.entries(tensors)) {
    for (const from of t.next_functions || []) {
      if (!from || !at[from]) continue;
      const a = at[from];
      const b = at[name];
      const x1 = a.x + NODE_W / 2;
      const y1 = a.y + NODE_H;
      const x2 = b.x + NODE_W / 2;
      const y2 = b.y;
      root.append(
        svg("path", { class: "edge", d: `M ${x1} ${y1} C ${x1} ${y1 + GAP_Y / 2}, ${x2} ${y2 - GAP_Y / 2}, ${x2} ${y2 - 2}`, "marker-end": "url(#arrow)", "data-from": from, "data-to": name }),
      );
    }
  }
  for (const [name, t] of Object.entries(tensors)) {
    const { x, y } = at[name];
    const text = (dy, content, cls) => svg("text", { x: x + 8, y: y + dy, class: cls }, document.createTextNode(content));
    const kind = t.is_leaf ? (t.requires_grad ? "leaf" : "leaf (no grad)") : t.grad_fn || (t.requires_grad ? "" : "no grad");
    root.append(
      svg(
        "g",
        { class: `node${t.is_leaf ? " leaf" : ""}${t.grad ? " has-grad" : ""}`, "data-name": name },
        svg("title", {}, document.createTextNode(`${name}: ${kind}, ${shapeText(t.shape)}`)),
        svg("rect", { x, y, width: NODE_W, height: NODE_H, rx: 6 }),
        text(18, `${name}  ${shapeText(t.shape)}`, "node-name"),
        text(36, kind, "node-fn"),
        text(55, `value ${valuesText(t.value)}`, "node-value"),
        text(74, `grad ${t.grad ? valuesText(t.grad) : "None"}`, "node-grad"),
      ),
    );
  }
  return root;
}

export class AutogradView {
  constructor(state, openapi, onChange) {
    this.state = state;
    this.onChange = onChange;
    const content = openapi.paths["/v1/autograd"].post.requestBody.content["application/json"];
    this.examples = content.examples || {};
    $("ag-example").append(...Object.entries(this.examples).map(([key, ex]) => el("option", { value: key, title: ex.summary }, key)));
    $("ag-example").addEventListener("change", () => {
      const ex = this.examples[$("ag-example").value];
      if (!ex) return;
      $("ag-text").value = JSON.stringify(ex.value, null, 2);
      this.edited();
    });
    $("ag-text").addEventListener("input", () => {
      $("ag-example").value = "";
      this.edited();
    });
    $("ag-run").addEventListener("click", () => this.run());
    $("ag-text").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
        e.preventDefault();
        this.run();
      }
    });
  }

  showState() {
    const text = this.state.autograd || JSON.stringify(Object.values(this.examples)[0]?.value || { tensors: {}, ops: [] }, null, 2);
    $("ag-text").value = text;
    const match = Object.entries(this.examples).find(([, ex]) => JSON.stringify(ex.value) === JSON.stringify(this.parse(true)));
    $("ag-example").value = match ? match[0] : "";
    this.listing();
  }

  edited() {
    const request = this.parse(true);
    this.state.autograd = request ? JSON.stringify(request) : $("ag-text").value;
    this.listing();
    this.onChange("autograd");
  }

  listing() {
    const request = this.parse(true);
    $("ag-ops").textContent = request ? opsListing(request) : "";
  }

  /** The request in the text box; null (quiet) or an error (loud) when it is not JSON. */
  parse(quiet = false) {
    try {
      return JSON.parse($("ag-text").value);
    } catch (error) {
      if (quiet) return null;
      throw new ApiError({ title: "The request is not JSON", detail: error.message, errors: [{ field: "body", message: error.message, fix: "write a JSON object" }] }, 0);
    }
  }

  request() {
    return this.parse(true);
  }

  async run() {
    $("ag-status").textContent = "Running…";
    try {
      const request = this.parse();
      const report = await postJson("v1/autograd", request);
      clearProblem("autograd");
      this.show(report);
      $("ag-status").textContent = `Done: ${Object.keys(report.tensors).length} tensors.`;
    } catch (error) {
      showProblem("autograd", error);
      $("ag-status").textContent = "Failed: see the error above.";
    }
  }

  show(report) {
    $("ag-graph").replaceChildren(drawGraph(report));
    const table = $("ag-table");
    table.hidden = false;
    table.querySelector("tbody").replaceChildren(
      ...Object.entries(report.tensors).map(([name, t]) =>
        el(
          "tr",
          { dataset: { name } },
          el("th", { scope: "row" }, el("code", {}, name)),
          el("td", {}, t.grad_fn ? el("code", {}, t.grad_fn) : t.is_leaf ? "leaf" : "—"),
          el("td", {}, shapeText(t.shape)),
          el("td", { class: "value" }, valuesText(t.value)),
          el("td", { class: "grad" }, t.grad ? valuesText(t.grad) : "None"),
        ),
      ),
    );
  }
}
