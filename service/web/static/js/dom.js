// Small helpers to build the page's elements.

/** An element: `el("p", {class: "hint"}, "text", child, [more])`. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, value);
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(node, child);
    else node.append(child instanceof Node ? child : String(child));
  }
}

/** A number for people: 4 significant digits, exponent when very small or large. */
export function fmt(x) {
  if (x === null || x === undefined) return "—";
  if (typeof x === "bigint") return x.toString();
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return "0";
  const a = Math.abs(x);
  if (a >= 1e5 || a < 1e-3) return x.toExponential(3);
  return String(Number(x.toPrecision(4)));
}

/** A shape as PyTorch prints it: [1, 20, 24, 24]. */
export function shapeText(shape) {
  return `[${(shape || []).join(", ")}]`;
}

/** A count with thousands separators. */
export function count(n) {
  return Number(n).toLocaleString("en-US");
}

/** Debounce: call `fn` once `ms` after the last call. */
export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
