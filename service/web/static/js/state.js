// The page's state in its URL (the fragment, so it never reaches a server log): a link
// reproduces the view. Only what differs from the defaults is written; a value that does not
// read is reported and left at its default.

export const SEED_PIPELINE = [
  { type: "conv2d", in_channels: 1, out_channels: 20, kernel_size: 5 },
  { type: "activation", name: "relu" },
  { type: "maxpool2d", kernel_size: 2, stride: 2 },
  { type: "flatten" },
  { type: "linear", in_features: 2880, out_features: 10 },
  { type: "activation", name: "softmax" },
];

/** The state of a fresh page. */
export function defaultState() {
  return {
    view: "pipeline",
    source: "layers",
    layers: structuredClone(SEED_PIPELINE),
    arch: "resnet18",
    kwargs: {},
    depth: 3,
    select: "",
    input: "mnist",
    mnist: { split: "test", index: 0 },
    drawing: "",
    random: { shape: [1, 1, 28, 28], seed: 0 },
    backward: "none",
    cls: 7,
    wseed: 0,
    autograd: "",
  };
}

const json = (v) => JSON.stringify(v);
const same = (a, b) => json(a) === json(b);

/** The fragment (without `#`) that holds `state`. */
export function encodeState(state) {
  const d = defaultState();
  const p = new URLSearchParams();
  if (state.view !== d.view) p.set("view", state.view);
  if (state.source !== d.source) p.set("source", state.source);
  if (state.source === "layers" && !same(state.layers, d.layers)) p.set("layers", json(state.layers));
  if (state.source === "torchvision") {
    p.set("arch", state.arch);
    if (Object.keys(state.kwargs).length) p.set("kwargs", json(state.kwargs));
    if (state.depth !== d.depth) p.set("depth", String(state.depth));
    if (state.select) p.set("select", state.select);
  }
  if (state.input !== d.input) p.set("input", state.input);
  if (state.input === "mnist" && !same(state.mnist, d.mnist)) p.set("digit", `${state.mnist.split}:${state.mnist.index}`);
  if (state.input === "draw" && state.drawing) p.set("drawing", state.drawing);
  if (state.input === "random") {
    p.set("shape", state.random.shape.join(","));
    if (state.random.seed) p.set("seed", String(state.random.seed));
  }
  if (state.backward !== d.backward) p.set("backward", state.backward === "class" ? `class:${state.cls}` : state.backward);
  if (state.wseed !== d.wseed) p.set("weights", String(state.wseed));
  if (state.autograd) p.set("autograd", state.autograd);
  return p.toString();
}

function integer(text, what, problems, { min = 0 } = {}) {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < min) {
    problems.push(`the link's ${what} "${text}" is not a whole number of at least ${min}`);
    return undefined;
  }
  return n;
}

/** The state a fragment holds, and what in it did not read: `{state, problems}`. */
export function decodeState(fragment) {
  const state = defaultState();
  const problems = [];
  const p = new URLSearchParams(String(fragment || "").replace(/^#/, ""));
  const pick = (key, allowed, target) => {
    if (!p.has(key)) return;
    const v = p.get(key);
    if (allowed.includes(v)) state[target] = v;
    else problems.push(`the link's ${key} "${v}" is not one of ${allowed.join(", ")}`);
  };
  pick("view", ["pipeline", "autograd", "explain"], "view");
  pick("source", ["layers", "torchvision"], "source");
  pick("input", ["mnist", "draw", "upload", "random"], "input");
  const parsed = (key, check) => {
    if (!p.has(key)) return undefined;
    try {
      const v = JSON.parse(p.get(key));
      if (check(v)) return v;
    } catch {
      /* reported below */
    }
    problems.push(`the link's ${key} is not the JSON it should be`);
    return undefined;
  };
  const layers = parsed("layers", (v) => Array.isArray(v) && v.every((l) => l && typeof l === "object"));
  if (layers) state.layers = layers;
  const kwargs = parsed("kwargs", (v) => v && typeof v === "object" && !Array.isArray(v));
  if (kwargs) state.kwargs = kwargs;
  if (p.has("arch")) state.arch = p.get("arch");
  if (p.has("depth")) state.depth = integer(p.get("depth"), "depth", problems, { min: 1 }) ?? state.depth;
  if (p.has("select")) state.select = p.get("select");
  if (p.has("digit")) {
    const [split, index] = p.get("digit").split(":");
    const i = integer(index, "digit", problems);
    if (split && i !== undefined) state.mnist = { split, index: i };
  }
  if (p.has("drawing")) state.drawing = p.get("drawing");
  if (p.has("shape")) {
    const dims = p.get("shape").split(",").filter((s) => s !== "");
    const shape = dims.map((s) => integer(s, "shape", problems));
    if (shape.every((n) => n !== undefined)) state.random.shape = shape;
  }
  if (p.has("seed")) state.random.seed = integer(p.get("seed"), "seed", problems) ?? 0;
  if (p.has("backward")) {
    const v = p.get("backward");
    if (v === "none" || v === "sum") state.backward = v;
    else if (v.startsWith("class:")) {
      const k = integer(v.slice(6), "backward class", problems);
      if (k !== undefined) {
        state.backward = "class";
        state.cls = k;
      }
    } else problems.push(`the link's backward "${v}" is not none, sum or class:N`);
  }
  if (p.has("weights")) state.wseed = integer(p.get("weights"), "weights seed", problems) ?? 0;
  if (p.has("autograd")) state.autograd = p.get("autograd");
  return { state, problems };
}
