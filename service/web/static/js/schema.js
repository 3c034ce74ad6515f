// Layer types, read from the service's OpenAPI schema: every layer spec the API knows becomes
// a card type, with its arguments, their types, bounds and defaults, so a new layer type shows
// up here without a change to the page.

function deref(openapi, node) {
  let n = node;
  while (n && n.$ref) n = openapi.components.schemas[n.$ref.split("/").pop()];
  return n;
}

function variants(openapi, node) {
  const n = deref(openapi, node);
  if (!n) return [];
  const list = n.anyOf || n.oneOf;
  return list ? list.flatMap((v) => variants(openapi, v)) : [n];
}

/** What one argument takes, for a card's input and for reading what a person typed. */
function describeField(openapi, name, node, required) {
  const kinds = variants(openapi, node);
  const field = {
    name,
    required,
    title: node.title || name,
    description: node.description || "",
    default: node.default,
    nullable: kinds.some((k) => k.type === "null"),
    enum: [],
    types: new Set(),
    bounds: "",
  };
  for (const k of kinds) {
    if (k.enum) field.enum.push(...k.enum);
    else if (k.const !== undefined) field.enum.push(k.const);
    if (k.type) field.types.add(k.type);
    if (k.type === "integer" || k.type === "number") {
      const lo = k.minimum ?? (k.exclusiveMinimum !== undefined ? `>${k.exclusiveMinimum}` : undefined);
      if (lo !== undefined && !field.bounds) field.bounds = `${lo}..${k.maximum ?? ""}`;
    }
    if (k.type === "array") {
      const item = deref(openapi, k.items) || {};
      field.types.add(`array:${item.type || "any"}`);
      field.arrayLength = [k.minItems, k.maxItems];
    }
  }
  // How the card asks for it: a checkbox, a menu, or a text box that reads numbers and lists.
  const onlyBool = [...field.types].every((t) => t === "boolean" || t === "null");
  const onlyEnum = field.enum.length > 0 && [...field.types].every((t) => t === "string" || t === "null");
  field.control = onlyBool && field.types.has("boolean") && !field.nullable ? "checkbox" : onlyEnum ? "select" : "text";
  if (onlyBool && field.nullable) {
    field.control = "select";
    field.enum = [true, false];
  }
  return field;
}

/** Every layer type of the pipeline request: `{id, type, name, title, description, fields}`,
 * `id` being the `type` (`conv2d`) or, for an activation, its `name` (`relu`). */
export function layerTypes(openapi) {
  const request = openapi.components.schemas.ModelInspectRequest;
  const layers = variants(openapi, request.properties.layers).find((v) => v.type === "array");
  const specs = variants(openapi, layers.items);
  return specs.map((spec) => {
    const props = spec.properties || {};
    const type = props.type && props.type.const;
    const name = props.name && props.name.const;
    const required = new Set(spec.required || []);
    const fields = Object.entries(props)
      .filter(([key]) => key !== "type" && !(key === "name" && name))
      .map(([key, node]) => describeField(openapi, key, node, required.has(key)));
    return {
      id: type === "activation" ? name : type,
      type,
      name: type === "activation" ? name : undefined,
      title: (spec.title || type).replace(/Spec$/, ""),
      description: spec.description || "",
      group: type === "activation" ? "Activations" : "Layers",
      fields,
    };
  });
}

/** A layer spec as the JSON the API takes, from a card's type and the text of its fields:
 * numbers, lists (`5, 5` or `[5, 5]`), true/false, null, or a word as it is. The service
 * checks the result and says, field by field, what it refuses. */
export function specOf(layerType, texts) {
  const spec = { type: layerType.type };
  if (layerType.name) spec.name = layerType.name;
  for (const field of layerType.fields) {
    const raw = texts[field.name];
    if (raw === undefined) continue;
    const value = field.control === "checkbox" ? raw : parseValue(raw, field);
    if (value === undefined) continue;
    spec[field.name] = value;
  }
  return spec;
}

/** The text a card shows for a value of a spec. */
export function textOf(field, value) {
  if (field.control === "checkbox") return typeof value === "boolean" ? value : undefined;
  if (value === undefined) return "";
  if (Array.isArray(value)) return value.join(", ");
  if (value === null) return "null";
  return String(value);
}

/** Read a typed value: "" is left out (the default), numbers stay numbers, commas make lists. */
export function parseValue(raw, field) {
  if (typeof raw === "boolean") return raw;
  const text = String(raw).trim();
  if (text === "") return undefined;
  if (field && field.control === "select") {
    if (text === "true") return true;
    if (text === "false") return false;
    return text;
  }
  if (text === "null") return null;
  if (text === "true" || text === "false") return text === "true";
  const bare = text.replace(/^\[|\]$/g, "");
  if (bare.includes(",") || text.startsWith("[")) {
    return bare.split(",").map((part) => number(part.trim())).filter((v) => v !== "");
  }
  return number(text);
}

function number(text) {
  if (text !== "" && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return Number(text);
  return text;
}
