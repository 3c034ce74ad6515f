// Colour bars beside the pictures, in the pictures' own colours (GET /v1/colormaps: the
// matplotlib tables the service draws with) and the tensor's range from its `stats`.

import { getJson } from "./api.js";
import { el, fmt } from "./dom.js";

let tables = null;

/** The colour tables by name, fetched once. */
export function loadColormaps() {
  if (!tables) {
    tables = getJson("v1/colormaps").then((body) => Object.fromEntries(body.colormaps.map((c) => [c.name, c])));
    tables.catch(() => {
      tables = null;
    });
  }
  return tables;
}

/** A colour bar for a picture drawn with `name` over values lo..hi (diverging maps: centred on
 * zero, from -max|v| to +max|v|). `lo`/`hi` may be null when the range is not known. */
export function colorBar(maps, name, lo, hi) {
  const map = maps && maps[name];
  const bar = el("div", { class: "colorbar", dataset: { colormap: name } });
  if (!map) return bar;
  const canvas = el("canvas", { width: 256, height: 1, "aria-hidden": "true" });
  const ctx = canvas.getContext("2d");
  const img = ctx.createImageData(256, 1);
  map.colors.forEach((hex, i) => {
    img.data[i * 4] = parseInt(hex.slice(1, 3), 16);
    img.data[i * 4 + 1] = parseInt(hex.slice(3, 5), 16);
    img.data[i * 4 + 2] = parseInt(hex.slice(5, 7), 16);
    img.data[i * 4 + 3] = 255;
  });
  ctx.putImageData(img, 0, 0);
  let labels;
  let range;
  if (map.diverging) {
    const m = lo === null || hi === null ? null : Math.max(Math.abs(lo), Math.abs(hi));
    labels = m === null ? ["−", "0", "+"] : [fmt(-m), "0", fmt(m)];
    range = m === null ? `${name}, centred on zero` : `${name}, from ${fmt(-m)} to ${fmt(m)}, centred on zero`;
  } else {
    labels = lo === null ? ["min", "max"] : [fmt(lo), fmt(hi)];
    range = lo === null ? name : `${name}, from ${fmt(lo)} to ${fmt(hi)}`;
  }
  bar.setAttribute("role", "img");
  bar.setAttribute("aria-label", `Colour scale: ${range}`);
  bar.append(canvas, el("div", { class: "ticks", "aria-hidden": "true" }, labels.map((t) => el("span", {}, t))));
  return bar;
}
