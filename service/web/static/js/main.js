// The workbench: wires the views to the page's state (kept in the URL) and to the public API.
//
// Views are tabs: a button with role=tab and the section it controls. Each view is a module
// of its own (the pipeline here with cards.js, inputs.js, torchvision.js and results.js;
// autograd.js; explain.js), so a new view is a tab, a section and a module.

import { ApiError, apiKey, apiUrl, getJson, postForm, postJson, setApiKey } from "./api.js";
import { AutogradView } from "./autograd.js";
import { LayerCards } from "./cards.js";
import { loadColormaps } from "./colorbar.js";
import { ExplainView } from "./explain.js";
import { debounce, shapeText } from "./dom.js";
import { InputChooser } from "./inputs.js";
import { clearProblem, mountProblems, showProblem } from "./problems.js";
import { clearRun, renderRun } from "./results.js";
import { layerTypes } from "./schema.js";
import { formSnippets, jsonSnippets } from "./snippets.js";
import { SEED_PIPELINE, decodeState, encodeState } from "./state.js";
import { ArchitecturePicker } from "./torchvision.js";

const $ = (id) => document.getElementById(id);

const page = {
  state: null,
  cards: null,
  inputs: null,
  arch: null,
  autograd: null,
  explain: null,
  summary: null, // the last summary that answered, for the shapes and the output shape
  summarySeq: 0,
  summaryAbort: null,
  runAbort: null,
};

// ---- state and URL --------------------------------------------------------------------------

function saveState() {
  const fragment = encodeState(page.state);
  const url = new URL(location.href);
  url.hash = fragment;
  history.replaceState(null, "", fragment ? url.href : url.href.replace(/#.*$/, ""));
}

function changed(what) {
  if (page.state.source === "layers" && page.cards) page.state.layers = page.cards.specs();
  saveState();
  updateSnippets();
  if (what !== "backward" && what !== "weights" && what !== "autograd" && what !== "view") scheduleSummary();
}

// ---- views ----------------------------------------------------------------------------------

function showView(view, focus = false) {
  page.state.view = view;
  for (const tab of document.querySelectorAll("[role=tab]")) {
    const on = tab.id === `tab-${view}`;
    tab.setAttribute("aria-selected", String(on));
    tab.tabIndex = on ? 0 : -1;
    $(tab.getAttribute("aria-controls")).hidden = !on;
    if (on && focus) tab.focus();
  }
  if (view === "explain" && page.explain) page.explain.shown();
}

function wireTabs() {
  const tabs = [...document.querySelectorAll("[role=tab]")];
  for (const tab of tabs) {
    tab.addEventListener("click", () => {
      showView(tab.id.replace(/^tab-/, ""));
      changed("view");
    });
    tab.addEventListener("keydown", (e) => {
      const i = tabs.indexOf(tab);
      const j = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[e.key];
      if (j === undefined) return;
      e.preventDefault();
      const next = tabs[(j + tabs.length) % tabs.length];
      showView(next.id.replace(/^tab-/, ""), true);
      changed("view");
    });
  }
}

// ---- model source ---------------------------------------------------------------------------

async function showSource(source, user = false) {
  page.state.source = source;
  for (const radio of document.querySelectorAll("input[name=source]")) radio.checked = radio.value === source;
  $("source-layers").hidden = source !== "layers";
  $("source-torchvision").hidden = source !== "torchvision";
  if (source === "torchvision") {
    try {
      await page.arch.load();
      clearProblem("models");
    } catch (error) {
      showProblem("models", error);
    }
    const info = page.arch.info();
    if (user && info) {
      // An architecture takes colour images of its own size: a random input of that shape.
      page.state.input = "random";
      page.state.random = { shape: info.input_size, seed: page.state.random.seed };
      page.inputs.showState();
    }
  }
}

function modelPart() {
  const s = page.state;
  if (s.source === "torchvision") {
    const part = { model: page.arch.model(), depth: s.depth };
    const select = page.arch.select();
    if (select) part.select = select;
    return part;
  }
  return { layers: page.cards.specs() };
}

// ---- the summary: shapes as a person types --------------------------------------------------

const scheduleSummary = debounce(() => refreshSummary(), 250);

async function refreshSummary() {
  const seq = ++page.summarySeq;
  if (page.summaryAbort) page.summaryAbort.abort();
  const abort = new AbortController();
  page.summaryAbort = abort;
  const s = page.state;
  const body = { ...modelPart(), input_shape: page.inputs.shape() };
  delete body.select;
  if (s.source === "layers") delete body.depth;
  if (s.source === "layers" && body.layers.length === 0) {
    page.summary = null;
    $("totals").textContent = "Add a layer to start.";
    clearProblem("summary");
    return;
  }
  $("totals").textContent = "Working out the shapes…";
  try {
    const summary = await postJson("v1/models/summary", body, { signal: abort.signal });
    if (seq !== page.summarySeq) return;
    page.summary = summary;
    clearProblem("summary");
    showSummary(summary);
  } catch (error) {
    if (error.name === "AbortError" || seq !== page.summarySeq) return;
    page.summary = null;
    showSummaryProblem(error, body, seq);
  }
}

function showSummary(summary) {
  const t = summary.summary;
  $("totals").textContent = `${shapeText(t.input_shape)} → ${shapeText(t.output_shape)} · ${t.parameter_count.toLocaleString("en-US")} parameters · ${t.flops.toLocaleString("en-US")} FLOPs${summary.warnings.length ? ` · ${summary.warnings.join("; ")}` : ""}`;
  if (page.state.source === "layers") {
    page.cards.clearProblems();
    page.cards.setShapes(summary.layers.filter((r) => r.depth === 1).map((r) => r.output_shape));
  } else {
    page.arch.showTable(summary);
  }
  updateClassBound();
}

async function showSummaryProblem(error, body, seq) {
  $("totals").textContent = "The model does not take this input yet: see the layer at fault.";
  if (page.state.source === "layers") {
    page.cards.clearProblems();
    page.cards.setShapes(null);
    const onCard = error.problem && page.cards.showProblem(error.problem);
    if (onCard) clearProblem("summary");
    else showProblem("summary", error);
    // The layers before the one at fault still have shapes: ask for them.
    const field = error.problem && error.problem.errors && error.problem.errors[0] && error.problem.errors[0].field;
    const at = field && /^body\.layers\.(\d+)/.exec(field);
    if (at && Number(at[1]) > 0) {
      try {
        const head = await postJson("v1/models/summary", { ...body, layers: body.layers.slice(0, Number(at[1])) });
        if (seq === page.summarySeq) page.cards.setShapes(head.layers.filter((r) => r.depth === 1).map((r) => r.output_shape));
      } catch {
        /* the error shown already says what to fix */
      }
    }
  } else {
    page.arch.showTable(null);
    showProblem("summary", error);
  }
}

// ---- the run --------------------------------------------------------------------------------

function lastIsSoftmax() {
  const layers = page.state.source === "layers" ? page.cards.specs() : [];
  const last = layers[layers.length - 1];
  return Boolean(last && last.type === "activation" && last.name === "softmax");
}

/** A one-hot gradient for `cls` along dimension 1 (the last of a 1-d output). */
export function oneHot(shape, cls) {
  const classes = shape.length >= 2 ? shape[1] : shape[0];
  if (!(Number.isInteger(cls) && cls >= 0 && cls < classes)) {
    throw new ApiError({ title: "No such class", detail: `the output ${shapeText(shape)} has classes 0 to ${classes - 1}; class ${cls} is not one of them`, errors: [{ field: "backward", message: `class ${cls} is outside 0..${classes - 1}`, fix: `pick a class from 0 to ${classes - 1}` }] }, 0);
  }
  const inner = shape.slice(2).reduce((a, b) => a * b, 1);
  const total = shape.reduce((a, b) => a * b, 1);
  const data = new Array(total).fill(0);
  for (let i = 0; i < total; i++) {
    const c = shape.length >= 2 ? Math.floor(i / inner) % classes : i;
    if (c === cls) data[i] = 1;
  }
  return { shape, data };
}

function backwardPart() {
  const s = page.state;
  if (s.backward === "sum") return { target: "sum" };
  if (s.backward === "class") {
    if (!page.summary) throw new ApiError({ title: "The output shape is not known yet", detail: "one class of the output needs the model's output shape: fix the model first" }, 0);
    return { grad_output: oneHot(page.summary.summary.output_shape, s.cls) };
  }
  return undefined;
}

/** The request the Run button sends: `{path, body, file}` (file: the input is an image). */
function runRequest() {
  const s = page.state;
  const body = { ...modelPart() };
  const file = page.inputs.isFile();
  if (!file) body.input = page.inputs.json();
  body.weights = { seed: s.wseed };
  const backward = backwardPart();
  if (backward) body.backward = backward;
  body.include = lastIsSoftmax() ? ["output", "images"] : ["images"];
  return { path: file ? "v1/models/inspect/upload" : "v1/models/inspect", body, file };
}

function setRunning(on) {
  $("run").disabled = on;
  $("cancel").hidden = !on;
  $("progress").hidden = !on;
  document.body.classList.toggle("busy", on);
}

async function run() {
  if (page.runAbort) page.runAbort.abort();
  const abort = new AbortController();
  page.runAbort = abort;
  const started = performance.now();
  const tick = () => {
    $("status").textContent = `Running… ${((performance.now() - started) / 1000).toFixed(1)} s`;
  };
  tick();
  const timer = setInterval(tick, 200);
  setRunning(true);
  try {
    const { path, body, file } = runRequest();
    let answer;
    if (file) {
      const [blob, name] = await page.inputs.image();
      answer = await postForm(path, { spec: JSON.stringify(body) }, [["image", blob, name]], { signal: abort.signal, binary: true });
    } else {
      answer = await postJson(path, body, { signal: abort.signal, binary: true });
    }
    const result = answer.report ? answer : { report: answer, tensors: {} };
    const maps = await loadColormaps().catch((error) => {
      showProblem("colormaps", error);
      return null;
    });
    clearProblem("run");
    page.cards.clearProblems();
    renderRun(resultNodes(), result, maps, { pipeline: page.state.source === "layers" });
    if (page.state.source === "layers") page.cards.setShapes(result.report.layers.map((r) => r.output_shape));
    $("status").textContent = `Done in ${((performance.now() - started) / 1000).toFixed(2)} s: ${result.report.layers.filter((r) => r.selected).length} layers.`;
  } catch (error) {
    if (error.name === "AbortError") {
      $("status").textContent = "Cancelled.";
    } else {
      if (error.problem && page.state.source === "layers") page.cards.showProblem(error.problem);
      showProblem("run", error);
      $("status").textContent = "Failed: see the error above.";
    }
  } finally {
    clearInterval(timer);
    if (page.runAbort === abort) page.runAbort = null;
    setRunning(false);
  }
}

function resultNodes() {
  return { empty: $("results-empty"), summary: $("run-summary"), prediction: $("prediction"), layers: $("layer-results") };
}

// ---- snippets -------------------------------------------------------------------------------

function updateSnippets() {
  const keyed = Boolean(apiKey());
  try {
    const { path, body, file } = runRequest();
    const url = apiUrl(path);
    const filename = page.state.input === "upload" && page.inputs.file ? page.inputs.file.name : "digit.png";
    const snippets = file ? formSnippets(url, body, filename, { keyed }) : jsonSnippets(url, body, { keyed });
    $("curl-pipeline").textContent = snippets.curl;
    $("python-pipeline").textContent = snippets.python;
  } catch (error) {
    $("curl-pipeline").textContent = `# ${error.message}`;
    $("python-pipeline").textContent = `# ${error.message}`;
  }
  const request = page.autograd ? page.autograd.request() : null;
  const ag = request ? jsonSnippets(apiUrl("v1/autograd"), request, { keyed }) : { curl: "# the request is not JSON yet", python: "# the request is not JSON yet" };
  $("curl-autograd").textContent = ag.curl;
  $("python-autograd").textContent = ag.python;
}

async function copy(id) {
  const text = $(id).textContent;
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = Object.assign(document.createElement("textarea"), { value: text });
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
  $("copied").textContent = `Copied the ${id.startsWith("curl") ? "curl command" : "Python snippet"}.`;
}

// ---- run options ----------------------------------------------------------------------------

function updateClassBound() {
  const shape = page.summary && page.summary.summary.output_shape;
  if (shape && shape.length) $("backward-class").max = String((shape.length >= 2 ? shape[1] : shape[0]) - 1);
}

function showRunOptions() {
  const s = page.state;
  $("backward").value = s.backward;
  $("class-label").hidden = s.backward !== "class";
  $("backward-class").value = String(s.cls);
  $("weights-seed").value = String(s.wseed);
}

function wireRunOptions() {
  $("backward").addEventListener("change", () => {
    page.state.backward = $("backward").value;
    $("class-label").hidden = page.state.backward !== "class";
    changed("backward");
  });
  $("backward-class").addEventListener("input", () => {
    page.state.cls = Number($("backward-class").value);
    changed("backward");
  });
  $("weights-seed").addEventListener("input", () => {
    const v = $("weights-seed").value;
    page.state.wseed = /^\d+$/.test(v) ? Number(v) : v;
    changed("weights");
  });
  $("run").addEventListener("click", run);
  $("cancel").addEventListener("click", () => page.runAbort && page.runAbort.abort());
  $("view-pipeline").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      run();
    }
  });
}

// ---- explain --------------------------------------------------------------------------------

/** What the Explain view explains: the Pipeline view's layers (the seed pipeline without any). */
function explainContext() {
  const layers = page.cards ? page.cards.specs() : [];
  return {
    layers: layers.length ? layers : structuredClone(SEED_PIPELINE),
    seeded: layers.length === 0,
    wseed: page.state.wseed,
  };
}

// ---- start ----------------------------------------------------------------------------------

function applyState(state) {
  page.state = state;
  page.cards.setLayers(state.layers);
  showView(state.view);
  page.inputs.state = state;
  page.arch.state = state;
  page.autograd.state = state;
  page.inputs.showState();
  page.autograd.showState();
  showRunOptions();
  clearRun(resultNodes());
  showSource(state.source).then(() => {
    changed("load");
  });
}

function loadFromUrl() {
  const { state, problems } = decodeState(location.hash);
  if (problems.length) {
    showProblem("link", new ApiError({ title: "Parts of the link did not read", detail: problems.join("; ") }, 0));
  } else clearProblem("link");
  return state;
}

async function start() {
  let openapi;
  try {
    openapi = await getJson("openapi.json");
    clearProblem("schema");
  } catch (error) {
    showProblem("schema", error);
    if (error.status === 401) $("api-key").closest("details").open = true;
    return;
  }
  const state = loadFromUrl();
  page.state = state;
  page.cards = new LayerCards($("cards"), layerTypes(openapi), () => changed("layers"));
  page.inputs = new InputChooser(state, (kind) => changed(`input:${kind}`));
  page.arch = new ArchitecturePicker(state, (what) => changed(what));
  page.autograd = new AutogradView(state, openapi, () => changed("autograd"));
  page.explain = new ExplainView(explainContext, layerTypes(openapi));
  wireTabs();
  wireRunOptions();
  for (const radio of document.querySelectorAll("input[name=source]")) {
    radio.addEventListener("change", () => showSource(radio.value, true).then(() => changed("source")));
  }
  $("add-layer").addEventListener("click", () => page.cards.add("linear"));
  $("seed-pipeline").addEventListener("click", () => {
    page.cards.setLayers(structuredClone(SEED_PIPELINE));
    changed("layers");
  });
  $("clear-layers").addEventListener("click", () => {
    page.cards.setLayers([]);
    changed("layers");
    $("add-layer").focus();
  });
  for (const button of document.querySelectorAll("button.copy")) button.addEventListener("click", () => copy(button.dataset.copy));
  window.addEventListener("hashchange", () => applyState(loadFromUrl()));
  await page.inputs.init();
  applyState(state);
  document.body.dataset.ready = "true";
}

function boot() {
  start().catch((error) => showProblem("page", error));
}

mountProblems($("problems"));
$("api-key").value = apiKey();
$("api-key-form").addEventListener("submit", (e) => {
  e.preventDefault(); // Enter keeps the key; the page stays
  $("api-key").dispatchEvent(new Event("change"));
});
$("api-key").addEventListener("change", () => {
  setApiKey($("api-key").value.trim());
  if (!page.cards) boot(); // the schema needed the key: try again with it
  else updateSnippets();
});
boot();
