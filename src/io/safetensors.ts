/**
 * The safetensors format (Hugging Face): an 8-byte little-endian header length N, N bytes of
 * JSON `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__?: {string: string}}`,
 * then the raw little-endian data, offsets relative to its start.
 *
 * Reading is strict, as in the reference implementation: the header is bounded and must be a
 * JSON object, every entry needs a known dtype, a shape of non-negative integers and offsets
 * whose span equals numel x item size, and the entries must tile the data exactly (in order, no
 * gap, no overlap, nothing after). Every failure is an Error naming the file's problem; nothing
 * is allocated before the sizes are checked against the bytes actually present.
 */
import { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';

/** What `loadSafetensors` returns. */
export interface Safetensors {
  /** The tensors under the file's names (F32, F16, BF16 -> float32; F64 -> float64; I32, I64 -> int32). */
  tensors: Record<string, Tensor>;
  /** The `__metadata__` strings ({} when absent). */
  metadata: Record<string, string>;
}

/** The largest header accepted (the reference implementation's limit). */
export const MAX_HEADER_BYTES = 100_000_000;

const ITEM: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I32: 4, I64: 8 };
const UNSUPPORTED = ['BOOL', 'U8', 'I8', 'U16', 'I16', 'U32', 'U64', 'F8_E4M3', 'F8_E5M2'];

function fail(msg: string): never {
  throw new Error(`loadSafetensors: ${msg}`);
}

function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Parses the bytes of a .safetensors file. */
export function loadSafetensors(bytes: Uint8Array): Safetensors {
  if (!(bytes instanceof Uint8Array)) fail(`expected a Uint8Array of the file's bytes, got ${bytes === null ? 'null' : typeof bytes}`);
  if (bytes.length < 8) fail(`the file has ${bytes.length} bytes; even the header length needs 8`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getBigUint64(0, true);
  if (n > BigInt(MAX_HEADER_BYTES)) fail(`the header claims ${n} bytes, more than the ${MAX_HEADER_BYTES} allowed`);
  const headerLen = Number(n);
  if (8 + headerLen > bytes.length) fail(`the header claims ${headerLen} bytes but the file has only ${bytes.length - 8} after the length`);
  if (headerLen < 2) fail(`the header is ${headerLen} bytes, too short for a JSON object`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + headerLen));
  } catch {
    fail('the header is not valid UTF-8');
  }
  if (!text.startsWith('{')) fail('the header does not start with "{"');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    fail(`the header is not valid JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) fail('the header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: string; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail('__metadata__ must be an object of strings');
      for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ entry '${k}' is not a string`);
        metadata[k] = v;
      }
      continue;
    }
    if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) fail(`tensor '${name}' is not an object`);
    const { dtype, shape, data_offsets: off } = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string') fail(`tensor '${name}' has no dtype string`);
    if (!(dtype in ITEM)) {
      fail(UNSUPPORTED.includes(dtype) ? `tensor '${name}' has dtype ${dtype}, which recurrent does not load (F32, F16, BF16, F64, I32, I64)`
        : `tensor '${name}' has unknown dtype '${dtype}'`);
    }
    if (!Array.isArray(shape) || shape.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
      fail(`tensor '${name}' has an invalid shape ${JSON.stringify(shape)?.slice(0, 80)}`);
    }
    if (!Array.isArray(off) || off.length !== 2 || off.some((d) => typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0)) {
      fail(`tensor '${name}' has invalid data_offsets ${JSON.stringify(off)?.slice(0, 80)}`);
    }
    const [begin, end] = off as [number, number];
    if (end < begin) fail(`tensor '${name}' has data_offsets [${begin}, ${end}] that end before they begin`);
    if (end > dataLen) fail(`tensor '${name}' ends at byte ${end} of the data, but the file holds only ${dataLen}`);
    // a zero anywhere makes an empty tensor (checked first: the product stops early past the data)
    let elems = (shape as number[]).includes(0) ? 0 : 1;
    for (const d of shape as number[]) {
      if (elems === 0 || elems > dataLen) break;
      elems *= d;
    }
    if (elems * ITEM[dtype]! !== end - begin) {
      fail(`tensor '${name}' spans ${end - begin} bytes but ${dtype} ${JSON.stringify(shape)} needs ${elems * ITEM[dtype]!}`);
    }
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  for (const e of entries) {
    if (e.begin !== at) fail(e.begin < at ? `tensor '${e.name}' overlaps the one before it (begins at ${e.begin}, expected ${at})` : `a gap of ${e.begin - at} bytes before tensor '${e.name}'`);
    at = e.end;
  }
  if (at !== dataLen) fail(`${dataLen - at} bytes after the last tensor`);

  const tensors: Record<string, Tensor> = {};
  for (const e of entries) {
    const count = (e.end - e.begin) / ITEM[e.dtype]!;
    const p = dataStart + e.begin;
    let data: Float32Array | Float64Array | Int32Array;
    switch (e.dtype) {
      case 'F32':
        data = new Float32Array(count);
        for (let i = 0; i < count; i++) data[i] = view.getFloat32(p + 4 * i, true);
        break;
      case 'F64':
        data = new Float64Array(count);
        for (let i = 0; i < count; i++) data[i] = view.getFloat64(p + 8 * i, true);
        break;
      case 'F16':
        data = new Float32Array(count);
        for (let i = 0; i < count; i++) data[i] = f16ToF32(view.getUint16(p + 2 * i, true));
        break;
      case 'BF16':
        data = new Float32Array(count);
        for (let i = 0; i < count; i++) data[i] = bf16(view.getUint16(p + 2 * i, true));
        break;
      case 'I32':
        data = new Int32Array(count);
        for (let i = 0; i < count; i++) data[i] = view.getInt32(p + 4 * i, true);
        break;
      default: {
        data = new Int32Array(count);
        for (let i = 0; i < count; i++) {
          const v = view.getBigInt64(p + 8 * i, true);
          if (v > 2147483647n || v < -2147483648n) fail(`tensor '${e.name}' (I64) holds ${v}, outside the int32 range it converts to`);
          data[i] = Number(v);
        }
      }
    }
    tensors[e.name] = new Tensor(data, e.shape);
  }
  return { tensors, metadata };
}

const bf16Scratch = new DataView(new ArrayBuffer(4));
function bf16(bits: number): number {
  bf16Scratch.setUint32(0, bits << 16, true);
  return bf16Scratch.getFloat32(0, true);
}

const WRITE: Record<DType, { code: string; size: number }> = {
  float32: { code: 'F32', size: 4 },
  float64: { code: 'F64', size: 8 },
  int32: { code: 'I32', size: 4 },
};

/**
 * Serialises tensors (and optional metadata strings) to the bytes of a .safetensors file. The
 * header is padded with spaces to a multiple of 8 bytes, as the reference writer does.
 */
export function saveSafetensors(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Uint8Array {
  const who = 'saveSafetensors';
  if (tensors === null || typeof tensors !== 'object') throw new Error(`${who}: expected an object of tensors by name`);
  const header: Record<string, unknown> = {};
  const meta = Object.entries(metadata ?? {});
  for (const [k, v] of meta) if (typeof v !== 'string') throw new Error(`${who}: metadata '${k}' must be a string, got ${typeof v}`);
  if (meta.length) header['__metadata__'] = Object.fromEntries(meta);
  const names = Object.keys(tensors);
  let offset = 0;
  for (const name of names) {
    if (name === '__metadata__') throw new Error(`${who}: '__metadata__' cannot name a tensor`);
    const t = tensors[name];
    if (!(t instanceof Tensor)) throw new Error(`${who}: '${name}' is not a Tensor`);
    const { code, size } = WRITE[t.dtype];
    header[name] = { dtype: code, shape: [...t.shape], data_offsets: [offset, offset + t.size * size] };
    offset += t.size * size;
  }
  const json = JSON.stringify(header);
  const enc = new TextEncoder();
  let hb = enc.encode(json);
  const pad = (8 - (hb.length % 8)) % 8;
  if (pad) hb = enc.encode(json + ' '.repeat(pad));
  const out = new Uint8Array(8 + hb.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const name of names) {
    const t = tensors[name]!;
    const d = t.data;
    if (d instanceof Float32Array) for (let i = 0; i < d.length; i++, p += 4) view.setFloat32(p, d[i]!, true);
    else if (d instanceof Float64Array) for (let i = 0; i < d.length; i++, p += 8) view.setFloat64(p, d[i]!, true);
    else for (let i = 0; i < d.length; i++, p += 4) view.setInt32(p, d[i]!, true);
  }
  return out;
}

/** The entries under `prefix`, with the prefix removed: `withPrefix(tensors, 'rnn.')` for a submodule's loadStateDict. */
export function withPrefix(tensors: Record<string, Tensor>, prefix: string): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(tensors)) if (k.startsWith(prefix)) out[k.slice(prefix.length)] = v;
  return out;
}

/**
 * Renames entries by prefix, first match wins: `renamePrefixes(tensors, { 'encoder.': 'rnn.',
 * 'fc.': 'head.' })` maps a PyTorch model whose submodules have other names onto a
 * SequenceModel's (`embedding.`, `rnn.`, `head.`). Entries matching no prefix are kept as they are.
 */
export function renamePrefixes(tensors: Record<string, Tensor>, map: Record<string, string>): Record<string, Tensor> {
  const rules = Object.entries(map);
  const out: Record<string, Tensor> = {};
  for (const [k, v] of Object.entries(tensors)) {
    const rule = rules.find(([from]) => k.startsWith(from));
    const name = rule ? rule[1] + k.slice(rule[0].length) : k;
    if (name in out) throw new Error(`renamePrefixes: two entries become '${name}'`);
    out[name] = v;
  }
  return out;
}
