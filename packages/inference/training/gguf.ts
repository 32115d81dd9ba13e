/**
 * A minimal GGUF (version 3) writer and reader for float32 tensors
 * (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md).
 */

const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
const GGUF_VERSION = 3;
const ALIGNMENT = 32;
const GGML_TYPE_F32 = 0;

const ValueType = { uint32: 4, int32: 5, float32: 6, bool: 7, string: 8, array: 9 } as const;

export type MetadataValue =
  | { type: "uint32"; value: number }
  | { type: "float32"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "string[]"; value: readonly string[] }
  | { type: "float32[]"; value: readonly number[] }
  | { type: "int32[]"; value: readonly number[] };

/** A tensor; `shape` is row-major (outermost first), as in {@link ModelConfig}'s specs. */
export type GgufTensor = { name: string; shape: readonly number[]; data: Float32Array };

class ByteWriter {
  private buffer = new Uint8Array(1 << 16);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    let size = this.buffer.length;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }
  u32(v: number) {
    this.reserve(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
  }
  i32(v: number) {
    this.reserve(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
  }
  u64(v: number) {
    this.reserve(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
  }
  f32(v: number) {
    this.reserve(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  u8(v: number) {
    this.reserve(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
  }
  bytes(b: Uint8Array) {
    this.reserve(b.length);
    this.buffer.set(b, this.length);
    this.length += b.length;
  }
  string(s: string) {
    const b = new TextEncoder().encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  padTo(alignment: number) {
    while (this.length % alignment !== 0) this.u8(0);
  }
  result(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

function writeValue(w: ByteWriter, value: MetadataValue): void {
  switch (value.type) {
    case "uint32":
      w.u32(ValueType.uint32);
      w.u32(value.value);
      break;
    case "float32":
      w.u32(ValueType.float32);
      w.f32(value.value);
      break;
    case "bool":
      w.u32(ValueType.bool);
      w.u8(value.value ? 1 : 0);
      break;
    case "string":
      w.u32(ValueType.string);
      w.string(value.value);
      break;
    case "string[]":
      w.u32(ValueType.array);
      w.u32(ValueType.string);
      w.u64(value.value.length);
      value.value.forEach((s) => w.string(s));
      break;
    case "float32[]":
      w.u32(ValueType.array);
      w.u32(ValueType.float32);
      w.u64(value.value.length);
      value.value.forEach((x) => w.f32(x));
      break;
    case "int32[]":
      w.u32(ValueType.array);
      w.u32(ValueType.int32);
      w.u64(value.value.length);
      value.value.forEach((x) => w.i32(x));
      break;
  }
}

/** Serializes metadata and float32 tensors into a GGUF file's bytes. */
export function writeGguf(metadata: ReadonlyArray<readonly [string, MetadataValue]>, tensors: readonly GgufTensor[]): Uint8Array {
  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(GGUF_VERSION);
  w.u64(tensors.length);
  w.u64(metadata.length);
  for (const [key, value] of metadata) {
    w.string(key);
    writeValue(w, value);
  }
  let offset = 0;
  for (const tensor of tensors) {
    w.string(tensor.name);
    w.u32(tensor.shape.length);
    for (const dim of [...tensor.shape].reverse()) w.u64(dim);
    w.u32(GGML_TYPE_F32);
    w.u64(offset);
    offset += Math.ceil((tensor.data.length * 4) / ALIGNMENT) * ALIGNMENT;
  }
  w.padTo(ALIGNMENT);
  for (const tensor of tensors) {
    const expected = tensor.shape.reduce((a, b) => a * b, 1);
    if (tensor.data.length !== expected) throw new Error(`${tensor.name}: ${tensor.data.length} values for shape ${tensor.shape}`);
    const bytes = new Uint8Array(tensor.data.length * 4);
    const view = new DataView(bytes.buffer);
    tensor.data.forEach((x, i) => view.setFloat32(i * 4, x, true));
    w.bytes(bytes);
    w.padTo(ALIGNMENT);
  }
  return w.result();
}

export type GgufFile = { metadata: Map<string, unknown>; tensors: Map<string, GgufTensor> };

/** Parses a GGUF file written by {@link writeGguf} (float32 tensors, the value types above). */
export function readGguf(bytes: Uint8Array): GgufFile {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  const u32 = () => {
    const v = view.getUint32(at, true);
    at += 4;
    return v;
  };
  const u64 = () => {
    const v = Number(view.getBigUint64(at, true));
    at += 8;
    return v;
  };
  const string = () => {
    const n = u64();
    const s = new TextDecoder().decode(bytes.subarray(at, at + n));
    at += n;
    return s;
  };
  const scalar = (type: number): unknown => {
    switch (type) {
      case ValueType.uint32:
        return u32();
      case ValueType.int32: {
        const v = view.getInt32(at, true);
        at += 4;
        return v;
      }
      case ValueType.float32: {
        const v = view.getFloat32(at, true);
        at += 4;
        return v;
      }
      case ValueType.bool: {
        const v = view.getUint8(at) !== 0;
        at += 1;
        return v;
      }
      case ValueType.string:
        return string();
      default:
        throw new Error(`unsupported GGUF value type ${type}`);
    }
  };
  if (u32() !== GGUF_MAGIC) throw new Error("not a GGUF file");
  if (u32() !== GGUF_VERSION) throw new Error("unsupported GGUF version");
  const tensorCount = u64();
  const metadataCount = u64();
  const metadata = new Map<string, unknown>();
  for (let i = 0; i < metadataCount; i++) {
    const key = string();
    const type = u32();
    if (type === ValueType.array) {
      const itemType = u32();
      const n = u64();
      metadata.set(
        key,
        Array.from({ length: n }, () => scalar(itemType)),
      );
    } else {
      metadata.set(key, scalar(type));
    }
  }
  const infos: { name: string; shape: number[]; offset: number }[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = string();
    const dims = Array.from({ length: u32() }, () => u64());
    if (u32() !== GGML_TYPE_F32) throw new Error(`${name}: only float32 tensors are supported`);
    infos.push({ name, shape: dims.reverse(), offset: u64() });
  }
  const dataStart = Math.ceil(at / ALIGNMENT) * ALIGNMENT;
  const tensors = new Map<string, GgufTensor>();
  for (const info of infos) {
    const n = info.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    const base = dataStart + info.offset;
    for (let i = 0; i < n; i++) data[i] = view.getFloat32(base + i * 4, true);
    tensors.set(info.name, { name: info.name, shape: info.shape, data });
  }
  return { metadata, tensors };
}
