// The request on screen as a curl command and as a Python (httpx) snippet: the same method,
// path and body the page sends, so either one gives the answer the page shows.

const shellQuote = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`;

/** A JSON value as a Python literal (True, False, None; strings as JSON writes them). */
export function pythonLiteral(value, indent = 0) {
  const pad = "    ".repeat(indent + 1);
  const end = "    ".repeat(indent);
  if (value === null || value === undefined) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return Number.isFinite(value) ? JSON.stringify(value) : `float("${value}")`;
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) {
    const items = value.map((v) => pythonLiteral(v, indent + 1));
    const flat = `[${items.join(", ")}]`;
    if (flat.length + pad.length < 88 && !flat.includes("\n")) return flat;
    if (value.every((v) => v === null || typeof v !== "object")) {
      // Numbers (a one-hot gradient, a shape) packed into lines, not one a line.
      const lines = [];
      let line = "";
      for (const item of items) {
        if (line && pad.length + line.length + item.length + 2 > 88) {
          lines.push(line);
          line = "";
        }
        line += `${item}, `;
      }
      lines.push(line);
      return `[\n${lines.map((l) => pad + l.trimEnd()).join("\n")}\n${end}]`;
    }
    return `[\n${items.map((v) => pad + v).join(",\n")},\n${end}]`;
  }
  const entries = Object.entries(value);
  if (!entries.length) return "{}";
  const flat = `{${entries.map(([k, v]) => `${JSON.stringify(k)}: ${pythonLiteral(v, indent + 1)}`).join(", ")}}`;
  if (flat.length + pad.length < 88 && !flat.includes("\n")) return flat;
  return `{\n${entries.map(([k, v]) => `${pad}${JSON.stringify(k)}: ${pythonLiteral(v, indent + 1)}`).join(",\n")},\n${end}}`;
}

const KEY_NOTE = "LAYERSCOPE_API_KEY";

/** `{curl, python}` for a JSON request: POST `url` with `body`. */
export function jsonSnippets(url, body, { keyed = false, result = "report" } = {}) {
  const auth = keyed ? ` \\\n  -H "Authorization: Bearer $${KEY_NOTE}"` : "";
  const curl = `curl -sS -X POST ${shellQuote(url)} \\\n  -H 'Content-Type: application/json'${auth} \\\n  -d ${shellQuote(JSON.stringify(body))}`;
  const headers = keyed ? `\n    headers={"Authorization": f"Bearer {os.environ['${KEY_NOTE}']}"},` : "";
  const python = [
    keyed ? "import os\n" : "",
    "import httpx\n\n",
    `request = ${pythonLiteral(body)}\n`,
    `response = httpx.post(\n    ${JSON.stringify(url)},\n    json=request,${headers}\n    timeout=120,\n)\n`,
    "response.raise_for_status()  # an error is problem details: response.json()[\"errors\"]\n",
    `${result} = response.json()\n`,
  ].join("");
  return { curl, python };
}

/** `{curl, python}` for a multipart request: `spec` (JSON) and an image file. */
export function formSnippets(url, spec, filename, { keyed = false } = {}) {
  const auth = keyed ? ` \\\n  -H "Authorization: Bearer $${KEY_NOTE}"` : "";
  const curl = `curl -sS -X POST ${shellQuote(url)}${auth} \\\n  --form-string ${shellQuote(`spec=${JSON.stringify(spec)}`)} \\\n  -F ${shellQuote(`image=@${filename}`)}`;
  const headers = keyed ? `\n        headers={"Authorization": f"Bearer {os.environ['${KEY_NOTE}']}"},` : "";
  const python = [
    keyed ? "import os\n" : "",
    "import json\n\nimport httpx\n\n",
    `spec = ${pythonLiteral(spec)}\n`,
    `with open(${JSON.stringify(filename)}, "rb") as image:\n`,
    `    response = httpx.post(\n        ${JSON.stringify(url)},\n        data={"spec": json.dumps(spec)},\n`,
    `        files={"image": (${JSON.stringify(filename)}, image, "image/png")},${headers}\n        timeout=120,\n    )\n`,
    "response.raise_for_status()  # an error is problem details: response.json()[\"errors\"]\n",
    "report = response.json()\n",
  ].join("");
  return { curl, python };
}
