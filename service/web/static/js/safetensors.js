// A reader of safetensors files (Hugging Face's format): an 8-byte
// little-endian header length n, n bytes of JSON header, then the tensors' bytes. The service
// lays its tensors out widest element first after a header padded to 8 bytes, so each one is
// viewed in place as a typed array, without a copy. float16 and bfloat16 have no typed array
// and are converted to float32.

const TYPED = {
  F64: Float64Array,
  F32: Float32Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U8: Uint8Array,
  BOOL: Uint8Array,
};
const WIDTH = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** bfloat16 bits to numbers: the top half of a float32. */
function bfloat16(bits) {
  const out = new Float32Array(bits.length);
  const words = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) words[i] = bits[i] << 16;
  return out;
}

/** IEEE half-precision bits to numbers. */
function float16(bits) {
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i];
    const sign = (h & 0x8000) << 16;
    const exponent = (h >> 10) & 0x1f;
    const mantissa = h & 0x3ff;
    if (exponent === 0) {
      out[i] = (sign ? -1 : 1) * mantissa * 2 ** -24; // zero and subnormals
      continue;
    }
    if (exponent === 31) u32[0] = sign | 0x7f800000 | (mantissa << 13); // inf, NaN
    else u32[0] = sign | ((exponent + 112) << 23) | (mantissa << 13);
    out[i] = f32[0];
  }
  return out;
}

/** The tensors of one safetensors file: `{header, metadata, report, tensors}`, where
 * `tensors[name]` is `{dtype, shape, data}` (a typed array; float16/bfloat16 as float32) and
 * `report` the JSON report of the service's `__metadata__.report`, when there is one. */
export function readSafetensors(buffer) {
  const view = new DataView(buffer);
  if (buffer.byteLength < 8) throw new Error("safetensors: fewer than 8 bytes");
  const length = Number(view.getBigUint64(0, true));
  if (8 + length > buffer.byteLength) throw new Error("safetensors: header runs past the end");
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 8, length)));
  const start = 8 + length;
  const metadata = header.__metadata__ || {};
  const tensors = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [begin, end] = entry.data_offsets;
    const width = WIDTH[entry.dtype];
    if (!width) throw new Error(`safetensors: ${name} has dtype ${entry.dtype}, which this reader does not know`);
    if (start + end > buffer.byteLength || begin > end) throw new Error(`safetensors: ${name} lies outside the file`);
    const count = (end - begin) / width;
    const offset = start + begin;
    let data;
    if (entry.dtype === "F16" || entry.dtype === "BF16") {
      const bits = offset % 2 === 0
        ? new Uint16Array(buffer, offset, count)
        : new Uint16Array(buffer.slice(offset, offset + end - begin));
      data = entry.dtype === "F16" ? float16(bits) : bfloat16(bits);
    } else {
      const Typed = TYPED[entry.dtype];
      data = offset % width === 0
        ? new Typed(buffer, offset, count) // in place
        : new Typed(buffer.slice(offset, offset + end - begin)); // unaligned: a copy
    }
    tensors[name] = { dtype: entry.dtype, shape: entry.shape, data };
  }
  const report = typeof metadata.report === "string" ? JSON.parse(metadata.report) : null;
  return { header, metadata, report, tensors };
}

/** The values of a tensor object of a report (its `key` names its entry), or null. */
export function valuesOf(body, tensorOut) {
  if (!tensorOut) return null;
  if (tensorOut.key && body.tensors && body.tensors[tensorOut.key]) return body.tensors[tensorOut.key].data;
  if (Array.isArray(tensorOut.data)) return tensorOut.data;
  return null;
}
