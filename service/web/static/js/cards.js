// The pipeline as layer cards: a type (every layer spec of the OpenAPI schema) and its
// arguments per card, the shape after each layer, and a misfit shown on the layer at fault
// with the service's fix, applied in one click.

import { el, shapeText } from "./dom.js";
import { specOf, textOf } from "./schema.js";

let serial = 0;

export class LayerCards {
  /** `list`: the <ol>; `types`: layerTypes(openapi); `onChange()`: after any edit. */
  constructor(list, types, onChange) {
    this.list = list;
    this.types = types;
    this.byId = new Map(types.map((t) => [t.id, t]));
    this.onChange = onChange;
    this.cards = [];
  }

  typeOf(spec) {
    return this.byId.get(spec.type === "activation" ? spec.name : spec.type);
  }

  /** Replace every card by the layers of `specs`. */
  setLayers(specs) {
    this.cards = specs.map((spec) => this.cardFrom(spec));
    this.render();
  }

  cardFrom(spec) {
    const type = this.typeOf(spec);
    const card = { id: ++serial, type, texts: {}, extra: {}, raw: null };
    if (!type) {
      card.raw = spec; // a type this service does not know: sent as it is, for it to say so
      return card;
    }
    const known = new Set(type.fields.map((f) => f.name));
    for (const field of type.fields) card.texts[field.name] = textOf(field, spec[field.name]);
    for (const [key, value] of Object.entries(spec)) {
      if (key !== "type" && !(key === "name" && type.name) && !known.has(key)) card.extra[key] = value;
    }
    return card;
  }

  /** The layer specs, as the API takes them. */
  specs() {
    return this.cards.map((card) => (card.raw ? card.raw : { ...specOf(card.type, card.texts), ...card.extra }));
  }

  add(typeId) {
    const type = this.byId.get(typeId) || this.types[0];
    const card = { id: ++serial, type, texts: {}, extra: {}, raw: null };
    for (const field of type.fields) card.texts[field.name] = field.control === "checkbox" ? undefined : "";
    this.cards.push(card);
    this.render();
    this.focusCard(this.cards.length - 1);
    this.onChange();
  }

  focusCard(i) {
    const node = this.list.children[i];
    if (node) node.querySelector("select.type").focus();
  }

  setType(card, typeId) {
    const type = this.byId.get(typeId);
    const texts = {};
    for (const field of type.fields) {
      const before = card.texts[field.name];
      const kind = field.control === "checkbox" ? "boolean" : "string";
      texts[field.name] = typeof before === kind ? before : field.control === "checkbox" ? undefined : "";
    }
    Object.assign(card, { type, texts, extra: {}, raw: null });
  }

  move(i, by) {
    const j = i + by;
    if (j < 0 || j >= this.cards.length) return;
    [this.cards[i], this.cards[j]] = [this.cards[j], this.cards[i]];
    this.render();
    this.list.children[j].querySelector(by < 0 ? "button.up" : "button.down").focus();
    this.onChange();
  }

  remove(i) {
    this.cards.splice(i, 1);
    this.render();
    if (this.cards.length) this.focusCard(Math.min(i, this.cards.length - 1));
    else document.getElementById("add-layer").focus();
    this.onChange();
  }

  typeSelect(card, i) {
    const groups = new Map();
    for (const t of this.types) {
      if (!groups.has(t.group)) groups.set(t.group, []);
      groups.get(t.group).push(t);
    }
    const select = el(
      "select",
      { class: "type", id: `card-${card.id}-type`, "aria-label": `Layer ${i} type` },
      card.raw ? el("option", { value: "", selected: true }, `${card.raw.type || "?"} (unknown here)`) : null,
      [...groups.entries()].map(([group, types]) =>
        el("optgroup", { label: group }, types.map((t) => el("option", { value: t.id, selected: card.type === t, title: t.description }, t.id))),
      ),
    );
    select.addEventListener("change", () => {
      // Only the card's arguments change: the menu stays, and keeps the focus and what the
      // keyboard has typed so far.
      this.setType(card, select.value);
      const node = select.closest("li");
      node.dataset.type = card.type.id;
      node.querySelector(".card-body").replaceWith(this.cardBody(card));
      this.onChange();
    });
    return select;
  }

  fieldControl(card, field) {
    const id = `card-${card.id}-${field.name}`;
    const hint = [field.description, field.bounds && `bounds ${field.bounds}`].filter(Boolean).join(" ");
    const label = el("span", { class: "name" }, field.name, field.required ? el("abbr", { title: "required" }, " *") : null);
    let control;
    if (field.control === "checkbox") {
      control = el("input", { type: "checkbox", id, name: field.name, checked: Boolean(card.texts[field.name] ?? field.default), title: hint || undefined });
      control.addEventListener("change", () => {
        card.texts[field.name] = control.checked;
        this.onChange();
      });
      return el("label", { class: "check", dataset: { field: field.name } }, control, label);
    }
    if (field.control === "select") {
      control = el(
        "select",
        { id, name: field.name, title: hint || undefined },
        el("option", { value: "" }, field.required ? "(choose)" : `default (${field.default ?? "none"})`),
        field.enum.map((v) => el("option", { value: String(v), selected: card.texts[field.name] === String(v) }, String(v))),
      );
      control.addEventListener("change", () => {
        card.texts[field.name] = control.value;
        this.onChange();
      });
    } else {
      const placeholder = field.required ? "required" : field.default === undefined || field.default === null ? "none" : `${textOf(field, field.default)}`;
      control = el("input", {
        type: "text",
        id,
        name: field.name,
        value: card.texts[field.name] ?? "",
        placeholder,
        spellcheck: "false",
        autocomplete: "off",
        title: hint || undefined,
      });
      control.addEventListener("input", () => {
        card.texts[field.name] = control.value;
        this.onChange();
      });
    }
    return el("label", { dataset: { field: field.name } }, label, control);
  }

  /** A card's arguments and the place for its misfit. */
  cardBody(card) {
    const fields = card.type ? card.type.fields.map((f) => this.fieldControl(card, f)) : [];
    for (const key of Object.keys(card.extra)) {
      fields.push(el("label", { dataset: { field: key } }, el("span", { class: "name" }, key), el("input", { type: "text", value: JSON.stringify(card.extra[key]), disabled: true })));
    }
    return el("div", { class: "card-body" }, fields.length ? el("div", { class: "fields" }, fields) : null, el("div", { class: "misfit", hidden: true }));
  }

  render() {
    this.list.replaceChildren(
      ...this.cards.map((card, i) => {
        return el(
          "li",
          { class: "card", dataset: { index: i, type: card.type ? card.type.id : "unknown" } },
          el(
            "div",
            { class: "card-head" },
            el("span", { class: "index", "aria-hidden": "true" }, String(i)),
            this.typeSelect(card, i),
            el("output", { class: "shape", "aria-label": `Output shape of layer ${i}`, "aria-live": "polite" }, "…"),
            el(
              "span",
              { class: "tools" },
              el("button", { type: "button", class: "icon up", "aria-label": `Move layer ${i} up`, disabled: i === 0, onclick: () => this.move(i, -1) }, "↑"),
              el("button", { type: "button", class: "icon down", "aria-label": `Move layer ${i} down`, disabled: i === this.cards.length - 1, onclick: () => this.move(i, 1) }, "↓"),
              el("button", { type: "button", class: "icon remove", "aria-label": `Remove layer ${i}`, onclick: () => this.remove(i) }, "✕"),
            ),
          ),
          this.cardBody(card),
        );
      }),
    );
  }

  /** Show each layer's output shape (`shapes[i]`, or null for unknown). */
  setShapes(shapes) {
    [...this.list.children].forEach((node, i) => {
      const shape = shapes ? shapes[i] : null;
      node.querySelector("output.shape").textContent = shape ? `→ ${shapeText(shape)}` : "…";
    });
  }

  clearProblems() {
    for (const node of this.list.children) {
      node.classList.remove("at-fault");
      const box = node.querySelector(".misfit");
      box.hidden = true;
      box.replaceChildren();
      for (const input of node.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
    }
  }

  /** Show problem details on the cards they name (`body.layers.<i>[.<argument>]`); returns
   * whether any card took one. A `context.suggestion` becomes a button that applies it. */
  showProblem(problem, prefix = "body.layers.") {
    let shown = false;
    for (const error of problem.errors || []) {
      if (!error.field || !error.field.startsWith(prefix)) continue;
      const [index, argument] = error.field.slice(prefix.length).split(".");
      const i = Number(index);
      const node = this.list.children[i];
      if (!node) continue;
      shown = true;
      node.classList.add("at-fault");
      const box = node.querySelector(".misfit");
      box.hidden = false;
      const suggestion = problem.context && problem.context.suggestion;
      const fitsHere = suggestion && suggestion.field.startsWith(`${prefix}${i}.`);
      box.append(
        ...[
        el("p", { role: "alert" }, el("strong", {}, argument ? `${argument}: ` : ""), error.message),
        !fitsHere && error.fix ? el("p", { class: "fix" }, `Fix: ${error.fix}`) : null,
        fitsHere
          ? el(
              "button",
              { type: "button", class: "apply-fix", onclick: () => this.applySuggestion(i, suggestion) },
              `Apply fix: ${suggestion.argument} = ${JSON.stringify(suggestion.value)}`,
            )
          : null,
        ].filter(Boolean),
      );
      // The argument at fault: the one the error names, else the one the fix changes.
      const at = argument || (fitsHere ? suggestion.argument : null);
      const input = at && node.querySelector(`[data-field="${CSS.escape(at)}"] input, [data-field="${CSS.escape(at)}"] select`);
      if (input) input.setAttribute("aria-invalid", "true");
    }
    return shown;
  }

  applySuggestion(i, suggestion) {
    const card = this.cards[i];
    const field = card.type && card.type.fields.find((f) => f.name === suggestion.argument);
    if (!field) return;
    card.texts[field.name] = textOf(field, suggestion.value);
    this.render();
    const input = this.list.children[i].querySelector(`[data-field="${CSS.escape(field.name)}"] input, [data-field="${CSS.escape(field.name)}"] select`);
    if (input) input.focus();
    this.onChange();
  }
}
