// A torchvision architecture in place of layer cards: its constructor keywords (GET /v1/models
// lists them) and the module table of /v1/models/summary, as torchinfo lists it.

import { getJson } from "./api.js";
import { count, el, shapeText } from "./dom.js";

const $ = (id) => document.getElementById(id);

export class ArchitecturePicker {
  constructor(state, onChange) {
    this.state = state;
    this.onChange = onChange;
    this.catalog = null;
    $("arch").addEventListener("change", () => {
      this.state.arch = $("arch").value;
      this.state.kwargs = {};
      this.showArch();
      this.onChange("arch");
    });
    $("depth").addEventListener("input", () => {
      const v = $("depth").value;
      this.state.depth = /^\d+$/.test(v) ? Number(v) : v;
      this.onChange("depth");
    });
    $("select").addEventListener("input", () => {
      this.state.select = $("select").value;
      this.onChange("select");
    });
  }

  /** The catalog, fetched the first time the torchvision source is shown. */
  async load() {
    if (!this.catalog) {
      this.catalog = (await getJson("v1/models")).architectures;
      $("arch").replaceChildren(...this.catalog.map((a) => el("option", { value: a.name }, `${a.name} (${a.class_name})`)));
    }
    this.showState();
  }

  info() {
    return this.catalog && this.catalog.find((a) => a.name === this.state.arch);
  }

  showState() {
    if (!this.catalog) return;
    $("arch").value = this.state.arch;
    $("depth").value = String(this.state.depth);
    $("select").value = this.state.select;
    this.showArch();
  }

  showArch() {
    const a = this.info();
    $("arch-about").textContent = a
      ? `${a.class_name}: ${count(a.parameter_count)} parameters, default input ${shapeText(a.input_size)}, at least ${a.min_size.join("×")}.`
      : `${this.state.arch} is not an architecture this service knows.`;
    $("kwargs").replaceChildren(
      ...(a ? a.keywords : []).map((k) => {
        const value = this.state.kwargs[k.name];
        let input;
        if (k.type === "boolean") {
          input = el("select", { name: k.name }, el("option", { value: "" }, `default (${k.default ?? "none"})`), el("option", { value: "true", selected: value === true }, "true"), el("option", { value: "false", selected: value === false }, "false"));
        } else {
          input = el("input", { type: "text", name: k.name, value: value === undefined ? "" : String(value), placeholder: k.default === null ? "builder's default" : String(k.default), spellcheck: "false" });
        }
        input.addEventListener(k.type === "boolean" ? "change" : "input", () => {
          const v = input.value.trim();
          if (v === "") delete this.state.kwargs[k.name];
          else if (k.type === "boolean") this.state.kwargs[k.name] = v === "true";
          else if ((k.type === "integer" || k.type === "number") && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(v)) this.state.kwargs[k.name] = Number(v);
          else this.state.kwargs[k.name] = v;
          this.onChange("kwargs");
        });
        return el("label", { dataset: { field: k.name } }, el("span", { class: "name" }, k.name), el("small", {}, ` ${k.type}`), input);
      }),
    );
  }

  /** The `model` of a request. */
  model() {
    return { torchvision: this.state.arch, kwargs: { ...this.state.kwargs } };
  }

  /** `select` of a request, or undefined for the default (the top-level children). */
  select() {
    const names = this.state.select.split(",").map((s) => s.trim()).filter(Boolean);
    return names.length ? names : undefined;
  }

  /** Show the module table of a summary (null: clear it). */
  showTable(summary) {
    const body = $("tree").querySelector("tbody");
    if (!summary) {
      body.replaceChildren();
      return;
    }
    body.replaceChildren(
      ...summary.layers.map((row) =>
        el(
          "tr",
          { dataset: { name: row.name, depth: row.depth } },
          el("th", { scope: "row", class: `depth-${Math.min(row.depth, 6)}` }, el("code", {}, row.name)),
          el("td", {}, row.type),
          el("td", { class: "out-shape" }, row.executed ? shapeText(row.output_shape) : "—"),
          el("td", { class: "num" }, row.recursive ? "(recursive)" : count(row.parameter_count)),
        ),
      ),
    );
  }
}
