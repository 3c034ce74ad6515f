// A drawing pad for a digit: mouse, pen or finger (pointer events). The strokes are kept as
// points, so the drawing fits in the page's link and is drawn again, the same, from it.

const SIDE = 256;
const LINE = 18;
const BREAK = 255;

function toBase64Url(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64Url(text) {
  const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** Strokes ([[x, y], ...] per stroke, 0..254) as a short URL-safe text, and back. */
export function encodeStrokes(strokes) {
  const bytes = [];
  strokes.forEach((stroke, i) => {
    if (i) bytes.push(BREAK);
    for (const [x, y] of stroke) bytes.push(x, y);
  });
  return toBase64Url(bytes);
}

export function decodeStrokes(text) {
  if (!text) return [];
  const bytes = fromBase64Url(text);
  const strokes = [[]];
  for (let i = 0; i < bytes.length; ) {
    if (bytes[i] === BREAK) {
      strokes.push([]);
      i += 1;
    } else {
      strokes[strokes.length - 1].push([bytes[i], bytes[i + 1] ?? 0]);
      i += 2;
    }
  }
  return strokes.filter((s) => s.length);
}

const clamp = (v) => Math.max(0, Math.min(BREAK - 1, Math.round(v)));

export class DrawPad {
  constructor(canvas, onChange) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.onChange = onChange;
    this.strokes = [];
    this.current = null;
    canvas.width = SIDE;
    canvas.height = SIDE;
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    canvas.addEventListener("pointerup", (e) => this.up(e));
    canvas.addEventListener("pointercancel", (e) => this.up(e));
    this.redraw();
  }

  point(e) {
    const r = this.canvas.getBoundingClientRect();
    return [clamp(((e.clientX - r.left) / r.width) * SIDE), clamp(((e.clientY - r.top) / r.height) * SIDE)];
  }

  down(e) {
    e.preventDefault();
    this.canvas.setPointerCapture(e.pointerId);
    this.current = [this.point(e)];
    this.strokes.push(this.current);
    this.redraw();
  }

  move(e) {
    if (!this.current) return;
    const p = this.point(e);
    const last = this.current[this.current.length - 1];
    if (p[0] === last[0] && p[1] === last[1]) return;
    this.current.push(p);
    this.redraw();
  }

  up() {
    if (!this.current) return;
    this.current = null;
    this.onChange(this.encoded());
  }

  clear() {
    this.strokes = [];
    this.redraw();
    this.onChange("");
  }

  load(text) {
    try {
      this.strokes = decodeStrokes(text);
    } catch {
      this.strokes = [];
    }
    this.redraw();
  }

  encoded() {
    return encodeStrokes(this.strokes);
  }

  isEmpty() {
    return this.strokes.length === 0;
  }

  redraw() {
    const c = this.ctx;
    c.fillStyle = "#fff";
    c.fillRect(0, 0, SIDE, SIDE);
    c.strokeStyle = "#000";
    c.fillStyle = "#000";
    c.lineWidth = LINE;
    c.lineCap = "round";
    c.lineJoin = "round";
    for (const stroke of this.strokes) {
      if (stroke.length === 1) {
        c.beginPath();
        c.arc(stroke[0][0], stroke[0][1], LINE / 2, 0, 2 * Math.PI);
        c.fill();
        continue;
      }
      c.beginPath();
      c.moveTo(stroke[0][0], stroke[0][1]);
      for (const [x, y] of stroke.slice(1)) c.lineTo(x, y);
      c.stroke();
    }
  }

  /** The drawing as a PNG file, black on white, as a person would upload it. */
  blob() {
    return new Promise((resolve, reject) =>
      this.canvas.toBlob((b) => (b ? resolve(b) : reject(new Error("the drawing could not be saved"))), "image/png"),
    );
  }
}
