// The input of a run: an MNIST digit from a thumbnail grid, a digit drawn on a canvas, an
// uploaded image (both preprocessed by the service as uploads are), or seeded random values.

import { apiKey, apiUrl, getJson } from "./api.js";
import { el } from "./dom.js";
import { DrawPad } from "./drawpad.js";
import { showProblem, clearProblem } from "./problems.js";

const PAGE = 50;
const $ = (id) => document.getElementById(id);

async function pictureUrl(path) {
  // Through fetch, so that the API key goes with it when the service asks for one.
  const headers = apiKey() ? { Authorization: `Bearer ${apiKey()}` } : {};
  const response = await fetch(apiUrl(path), { headers });
  if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
  return URL.createObjectURL(await response.blob());
}

export class InputChooser {
  /** `state`: the page state (read and written here); `onChange(kind)` after a change. */
  constructor(state, onChange) {
    this.state = state;
    this.onChange = onChange;
    this.splits = [];
    this.page = 0;
    this.file = null;
    this.thumbUrls = [];
    this.pad = new DrawPad($("pad"), (encoded) => {
      this.state.drawing = encoded;
      this.refreshSaveLink();
      this.onChange("draw");
    });
    for (const radio of document.querySelectorAll("input[name=input-kind]")) {
      radio.addEventListener("change", () => this.setKind(radio.value, true));
    }
    $("pad-clear").addEventListener("click", () => this.pad.clear());
    $("upload-file").addEventListener("change", () => {
      const file = $("upload-file").files[0] || null;
      this.file = file;
      $("upload-about").textContent = file ? `${file.name}, ${file.size.toLocaleString("en-US")} bytes` : "";
      this.onChange("upload");
    });
    $("random-shape").addEventListener("input", () => {
      const dims = $("random-shape").value.replace(/[[\]]/g, "").split(",").map((s) => s.trim()).filter(Boolean);
      this.state.random.shape = dims.map((d) => (/^\d+$/.test(d) ? Number(d) : d));
      this.onChange("random");
    });
    $("random-seed").addEventListener("input", () => {
      const v = $("random-seed").value;
      this.state.random.seed = /^\d+$/.test(v) ? Number(v) : v;
      this.onChange("random");
    });
    $("mnist-split").addEventListener("change", () => {
      this.state.mnist = { split: $("mnist-split").value, index: 0 };
      this.page = 0;
      this.loadThumbs();
      this.onChange("mnist");
    });
    $("thumbs-prev").addEventListener("click", () => this.turn(-1));
    $("thumbs-next").addEventListener("click", () => this.turn(1));
    $("thumbs").addEventListener("keydown", (e) => this.arrowKeys(e));
  }

  async init() {
    try {
      const info = await getJson("v1/mnist");
      this.splits = info.splits;
      $("mnist-credit").textContent = `${info.credit}; ${info.license}.`;
      $("mnist-split").replaceChildren(...info.splits.map((s) => el("option", { value: s.name }, `${s.name} (${s.size})`)));
      clearProblem("mnist");
    } catch (error) {
      showProblem("mnist", error);
    }
  }

  /** Show the state's input (after a load from a link). */
  showState() {
    const s = this.state;
    for (const radio of document.querySelectorAll("input[name=input-kind]")) radio.checked = radio.value === s.input;
    this.setKind(s.input, false);
    if (this.splits.some((x) => x.name === s.mnist.split)) $("mnist-split").value = s.mnist.split;
    this.page = Math.floor(s.mnist.index / PAGE);
    this.loadThumbs();
    this.pad.load(s.drawing);
    this.refreshSaveLink();
    $("random-shape").value = s.random.shape.join(", ");
    $("random-seed").value = String(s.random.seed);
  }

  setKind(kind, user) {
    this.state.input = kind;
    for (const k of ["mnist", "draw", "upload", "random"]) $(`input-${k}`).hidden = k !== kind;
    if (user) this.onChange(kind);
  }

  split() {
    return this.splits.find((s) => s.name === this.state.mnist.split);
  }

  turn(by) {
    const split = this.split();
    if (!split) return;
    const pages = Math.ceil(split.size / PAGE);
    this.page = Math.max(0, Math.min(pages - 1, this.page + by));
    this.loadThumbs();
  }

  async loadThumbs() {
    const split = this.split();
    const grid = $("thumbs");
    if (!split) return;
    const pages = Math.ceil(split.size / PAGE);
    $("thumbs-page").textContent = `${this.page * PAGE}–${Math.min(split.size, (this.page + 1) * PAGE) - 1} of ${split.size}`;
    $("thumbs-prev").disabled = this.page === 0;
    $("thumbs-next").disabled = this.page >= pages - 1;
    const want = `${split.name}:${this.page}`;
    this.loading = want;
    let batch;
    try {
      batch = await getJson(`v1/mnist/${encodeURIComponent(split.name)}/batch?batch_size=${PAGE}&batch=${this.page}&encoding=safetensors`);
      clearProblem("mnist");
    } catch (error) {
      showProblem("mnist", error);
      return;
    }
    if (this.loading !== want) return;
    const { indices, labels } = batch.report;
    for (const url of this.thumbUrls) URL.revokeObjectURL(url);
    this.thumbUrls = [];
    const chosen = this.state.mnist.index;
    const focusable = indices.includes(chosen) ? chosen : indices[0];
    grid.replaceChildren(
      ...indices.map((index, k) => {
        const img = el("img", { alt: "", width: 28, height: 28 });
        pictureUrl(`v1/mnist/${encodeURIComponent(split.name)}/${index}.png`)
          .then((url) => {
            this.thumbUrls.push(url);
            img.src = url;
          })
          .catch((error) => showProblem("mnist", error));
        return el(
          "button",
          {
            type: "button",
            class: "thumb",
            "aria-pressed": String(index === chosen && this.state.input === "mnist"),
            "aria-label": `Digit ${labels[k]}, ${split.name} #${index}`,
            tabindex: index === focusable ? "0" : "-1",
            dataset: { index, label: labels[k] },
            onclick: () => this.pick(index, labels[k]),
          },
          img,
          el("span", { "aria-hidden": "true" }, String(labels[k])),
        );
      }),
    );
    const picked = indices.indexOf(chosen);
    if (picked >= 0) $("mnist-picked").textContent = `Picked ${labels[picked]} (${split.name} #${chosen})`;
  }

  pick(index, label) {
    this.state.mnist = { split: this.state.mnist.split, index };
    for (const b of $("thumbs").children) {
      const on = Number(b.dataset.index) === index;
      b.setAttribute("aria-pressed", String(on));
      b.tabIndex = on ? 0 : -1;
    }
    $("mnist-picked").textContent = `Picked ${label} (${this.state.mnist.split} #${index})`;
    this.onChange("mnist");
  }

  arrowKeys(e) {
    const buttons = [...$("thumbs").children];
    const i = buttons.indexOf(document.activeElement);
    if (i < 0) return;
    const columns = buttons.filter((b) => b.offsetTop === buttons[0].offsetTop).length || 1;
    const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns, ArrowDown: columns, Home: -i, End: buttons.length - 1 - i };
    if (!(e.key in moves)) return;
    e.preventDefault();
    const next = buttons[Math.max(0, Math.min(buttons.length - 1, i + moves[e.key]))];
    buttons[i].tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  }

  refreshSaveLink() {
    const link = $("pad-save");
    if (this.saveUrl) URL.revokeObjectURL(this.saveUrl);
    this.saveUrl = null;
    link.hidden = this.pad.isEmpty();
    if (this.pad.isEmpty()) return;
    this.pad.blob().then((blob) => {
      this.saveUrl = URL.createObjectURL(blob);
      link.href = this.saveUrl;
    });
  }

  /** The input's shape, as the summary needs it (batch first). */
  shape() {
    const s = this.state;
    if (s.input === "random") return s.random.shape;
    const split = this.split();
    const image = s.input === "mnist" && split ? split.image_shape : [28, 28];
    return [1, 1, ...image];
  }

  /** Whether the input comes as an image file (the upload form) rather than JSON. */
  isFile() {
    return this.state.input === "draw" || this.state.input === "upload";
  }

  /** The `input` of a JSON request. */
  json() {
    const s = this.state;
    if (s.input === "random") return { shape: s.random.shape, seed: s.random.seed };
    return { mnist: { split: s.mnist.split, index: s.mnist.index } };
  }

  /** The image file of the upload form: `[blob, filename]`; an Error says what is missing. */
  async image() {
    if (this.state.input === "draw") {
      if (this.pad.isEmpty()) throw new Error("draw a digit on the pad first");
      return [await this.pad.blob(), "digit.png"];
    }
    if (!this.file) throw new Error("choose an image file first");
    return [this.file, this.file.name];
  }
}
