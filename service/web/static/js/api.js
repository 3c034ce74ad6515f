// Calls to the service's public API: JSON in, JSON or a safetensors body out, and every error
// as the problem details the service answers (RFC 9457), never swallowed.

import { readSafetensors } from "./safetensors.js";

const KEY_STORE = "layerscope.apiKey";
export const SAFETENSORS = "application/x-safetensors";

/** An answer that is not 2xx: `problem` holds the problem details (or a stand-in). */
export class ApiError extends Error {
  constructor(problem, status) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.problem = problem;
    this.status = status;
  }
}

/** The API key typed in for this tab (sessionStorage), or "". */
export function apiKey() {
  try {
    return sessionStorage.getItem(KEY_STORE) || "";
  } catch {
    return "";
  }
}

export function setApiKey(value) {
  try {
    if (value) sessionStorage.setItem(KEY_STORE, value);
    else sessionStorage.removeItem(KEY_STORE);
  } catch {
    /* storage refused: the key lives for this page only */
  }
}

/** The absolute URL of an API path, relative to the page (so a root path prefix is kept). */
export function apiUrl(path) {
  const url = new URL(path, document.baseURI);
  url.hash = "";
  return url.href;
}

function headers(extra) {
  const h = { ...extra };
  const key = apiKey();
  if (key) h.Authorization = `Bearer ${key}`;
  return h;
}

async function problemOf(response) {
  const type = response.headers.get("content-type") || "";
  if (type.includes("json")) {
    try {
      return await response.json();
    } catch {
      /* fall through */
    }
  }
  const text = await response.text().catch(() => "");
  return {
    title: response.statusText || `HTTP ${response.status}`,
    status: response.status,
    detail: text.slice(0, 500) || `the service answered ${response.status}`,
  };
}

async function read(response) {
  if (!response.ok) throw new ApiError(await problemOf(response), response.status);
  const type = response.headers.get("content-type") || "";
  if (type.startsWith(SAFETENSORS)) return readSafetensors(await response.arrayBuffer());
  if (type.includes("json")) return response.json();
  if (type.startsWith("text/")) return response.text();
  return response.arrayBuffer();
}

async function send(path, init) {
  let response;
  try {
    response = await fetch(apiUrl(path), init);
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError(
      { title: "The service did not answer", detail: `${init.method || "GET"} ${path}: ${error.message}` },
      0,
    );
  }
  return read(response);
}

/** GET a path: its JSON (or text, or bytes). */
export function getJson(path, { signal } = {}) {
  return send(path, { headers: headers({ Accept: "application/json" }), signal });
}

/** POST a JSON body. `binary` asks for the safetensors form of the answer. */
export function postJson(path, body, { signal, binary = false } = {}) {
  return send(path, {
    method: "POST",
    headers: headers({
      "Content-Type": "application/json",
      Accept: binary ? `${SAFETENSORS}, application/json;q=0.5` : "application/json",
    }),
    body: JSON.stringify(body),
    signal,
  });
}

/** POST a multipart form: `fields` (strings) and `files` ([name, Blob, filename]). */
export function postForm(path, fields, files, { signal, binary = false } = {}) {
  const form = new FormData();
  for (const [name, value] of Object.entries(fields)) form.append(name, value);
  for (const [name, blob, filename] of files) form.append(name, blob, filename);
  return send(path, {
    method: "POST",
    headers: headers({ Accept: binary ? `${SAFETENSORS}, application/json;q=0.5` : "application/json" }),
    body: form,
    signal,
  });
}
